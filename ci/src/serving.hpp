// What `serve` and `proxy` share: an identity for a service, and running a tls_server until
// SIGINT or SIGTERM, in the foreground or (--background) detached from the shell that started it.
//
//   serving_options o;                        // --background, --pid-file
//   add_serving_flags(cmd, o);
//   ...
//   serve([&] { return harness::tls_server::start(identity_from_dir(dir, "app.test.local"), handler); },
//         "", o);                             // prints https://app.test.local:PORT/
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "directory.hpp"
#include "tlsfix/harness/tls_server.hpp"

namespace CLI {
class App;
}

namespace tlsfix::cli {

// The service's certificate as `init` wrote it (fullchain.pem, key.pem, ca.crt): the serial a
// client sees is the manifest's. A client-only identity (clientAuth) is refused.
ca::issued_cert identity_from_dir(const tlsfix_dir& dir, const std::string& service);

struct serving_options {
  bool background = false;
  std::optional<std::filesystem::path> pid_file;
};
void add_serving_flags(CLI::App* cmd, serving_options& o);

// Starts the server with `start` and serves until SIGINT or SIGTERM. Its URL goes to stdout first,
// then `extra` (lines such as "ca: FILE").
//
// With `background`, the process forks before any thread starts; the child starts the server and
// the parent returns once it listens, having printed only the URL on stdout (`extra` goes to
// stderr), so `url=$(tlsfix serve ... --background)` works. When the child cannot start, the
// parent throws its error. The child closes its standard streams and stays in the caller's process
// group, so whatever stops that group (a CI job's cleanup, a test runner) stops it too. The pid
// file, when asked for, exists before the URL is printed and is removed when the server stops.
void serve(const std::function<harness::tls_server()>& start, const std::string& extra, const serving_options& o);

}  // namespace tlsfix::cli
