// What `serve` and `proxy` share: an identity for a service, and running a tls_server until
// SIGINT or SIGTERM, in the foreground or (--background) detached from the shell that started it.
//
//   run_server([&] { return harness::tls_server::start(identity_from_dir(dir, "app.test.local"), handler); },
//              "", o.serving, out, err);     // prints https://app.test.local:PORT/
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include "directory.hpp"
#include "tlsfix/harness/tls_server.hpp"
#include "verbs.hpp"

namespace tlsfix::cli {

// The service's certificate as `init` wrote it (fullchain.pem, key.pem, ca.crt): the serial a
// client sees is the manifest's. A client-only identity (clientAuth) is refused.
ca::issued_cert identity_from_dir(const tlsfix_dir& dir, const std::string& service);

// Starts the server with `start` and serves until SIGINT or SIGTERM. Its URL goes to `out` first,
// then `extra` (lines such as "ca: FILE"). Returns the exit status.
//
// With `background`, the process forks before any thread starts; the child starts the server and
// the parent returns once it listens, having printed only the URL on `out` (`extra` goes to `err`),
// so `url=$(tlsfix serve ... --background)` works. When the child cannot start, the parent throws
// its error. The child closes its standard streams and stays in the caller's process group, so
// whatever stops that group (a CI job's cleanup, a test runner) stops it too. The pid file, when
// asked for, exists before the URL is printed and is removed when the server stops.
int run_server(const std::function<harness::tls_server()>& start, const std::string& extra, const serving_options& o,
               std::ostream& out, std::ostream& err);

}  // namespace tlsfix::cli
