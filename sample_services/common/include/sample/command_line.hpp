// What both services' `main` share: the TLS flags (each also read from the environment, under the
// names `tlsfix env` writes), and serving until SIGTERM.
//
//   CLI::App app{"inventory: items over HTTPS"};
//   sample::service_flags flags;
//   sample::add_service_flags(app, flags, "inventory.test.local");  // --cert --key --ca --listen
//   CLI11_PARSE(app, argc, argv);
//   sample::https_server server(flags.options_for("inventory"), handler, std::clog);
//   return sample::serve_until_terminated(server, std::cout);        // prints "listening 127.0.0.1:PORT"
#pragma once

#include <CLI/CLI.hpp>

#include <iosfwd>
#include <string>

#include "sample/https_server.hpp"

namespace sample {

struct service_flags {
  std::string listen = "127.0.0.1:0";
  tls_files tls;

  server_options options_for(const std::string& name) const;
};

// The environment variable `tlsfix env` writes for a file of `service`:
// ("inventory.test.local", "KEY") -> "TLSFIX_INVENTORY_TEST_LOCAL_KEY".
std::string tlsfix_env(const std::string& service, const std::string& kind);

// --cert (env: the service's FULLCHAIN), --key (KEY), --ca (TLSFIX_CA_FILE) and --listen
// (NAME_LISTEN, NAME being the service's first label upper-cased).
void add_service_flags(CLI::App& app, service_flags& flags, const std::string& service);

// Blocks SIGTERM and SIGINT (so that no thread dies of them), starts `server`, prints
// "listening ADDRESS" on one line, waits for one of them and stops the server. Returns 0. Call it
// before any other thread is started.
int serve_until_terminated(https_server& server, std::ostream& out);

}  // namespace sample
