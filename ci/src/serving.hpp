// What `serve` and `proxy` share: an identity for a service, and running a tls_server in the
// foreground until SIGINT or SIGTERM.
//
//   block_stop_signals();                     // before any thread starts, so all inherit it
//   auto server = harness::tls_server::start(identity_from_dir(dir, "app.test.local"), handler);
//   serve_until_signal(server);               // prints https://app.test.local:PORT/
#pragma once

#include <string>

#include "directory.hpp"
#include "tlsfix/harness/tls_server.hpp"

namespace tlsfix::cli {

void block_stop_signals();

// The service's certificate as `init` wrote it (fullchain.pem, key.pem, ca.crt): the serial a
// client sees is the manifest's. A client-only identity (clientAuth) is refused.
ca::issued_cert identity_from_dir(const tlsfix_dir& dir, const std::string& service);

// Prints the URL (and `extra` lines), then blocks until SIGINT/SIGTERM.
void serve_until_signal(harness::tls_server& server, const std::string& extra = {});

}  // namespace tlsfix::cli
