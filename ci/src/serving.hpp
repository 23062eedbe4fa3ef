// What `serve` and `proxy` share: an identity for a service, and running a tls_server in the
// foreground until SIGINT or SIGTERM.
//
//   block_stop_signals();                     // before any thread starts, so all inherit it
//   auto server = harness::tls_server::start(identity_from_dir(dir, "app.test.local"), handler);
//   serve_until_signal(server, 8443);         // prints https://app.test.local:8443/
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "directory.hpp"
#include "tlsfix/harness/tls_server.hpp"

namespace tlsfix::cli {

void block_stop_signals();

// A certificate for the service's names from the directory's CA. The library cannot load a leaf
// and key from disk into an `issued_cert` (its constructor is private), so this issues a fresh
// leaf with the same names from ca.key: clients that trust ca.crt cannot tell the difference.
ca::issued_cert identity_from_dir(const tlsfix_dir& dir, const std::string& service);

// Prints the URL (and `extra` lines), then blocks until SIGINT/SIGTERM; a relay serves `port`.
void serve_until_signal(harness::tls_server& server, std::optional<std::uint16_t> port, const std::string& extra = {});

}  // namespace tlsfix::cli
