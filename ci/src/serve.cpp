// `tlsfix serve DIR --service NAME`: a verified HTTPS endpoint on loopback for a directory's
// service, answering every request with a short text naming the service (a target for clients
// under test, health checks and `tlsfix probe`).
#include <iostream>
#include <optional>

#include "cli.hpp"
#include "serving.hpp"

namespace tlsfix::cli {

void add_serve(CLI::App& app, int& status) {
  struct options {
    std::string dir, service;
    std::optional<std::uint16_t> port;
    bool client_auth = false;
    serving_options serving;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("serve", "Serve HTTPS for a directory's service on loopback until SIGINT/SIGTERM");
  cmd->footer("Example:\n  tlsfix init tls --service app.test.local --client worker.test.local\n"
              "  url=$(tlsfix serve tls --service app.test.local --client-auth --background --pid-file serve.pid)\n"
              "  tlsfix probe \"$url\" --ca tls/ca.crt --cert tls/worker.test.local/fullchain.pem \\\n"
              "      --key tls/worker.test.local/key.pem\n"
              "  kill \"$(cat serve.pid)\"\n"
              "Prints the URL it serves (on --port, or any free one), with the certificate `init` wrote "
              "(fullchain.pem, key.pem).");
  cmd->add_option("DIR", o->dir, "A tlsfix directory")->required();
  cmd->add_option("--service", o->service, "The service to serve")->required();
  cmd->add_option("--port", o->port, "Loopback port (default: any free port)");
  cmd->add_flag("--client-auth", o->client_auth, "Require a client certificate from the directory's CA (mTLS)");
  add_serving_flags(cmd, o->serving);
  cmd->callback([o, &status] {
    auto dir = tlsfix_dir::open(o->dir);
    auto identity = identity_from_dir(dir, o->service);
    std::string service = o->service;
    serve([&] { return harness::tls_server::start(
        identity,
        [service](const harness::http_request& req) {
          return harness::text_response(req, 200, "tlsfix serve: " + service + " " + std::string(req.method_string()) + " " +
                                                      std::string(req.target()) + "\n");
        },
        {.client_auth = o->client_auth ? harness::client_auth::required : harness::client_auth::none,
         .client_trust = o->client_auth ? std::optional(harness::trust::from_file(dir.ca_file())) : std::nullopt,
         .port = o->port.value_or(0)}); }, "", o->serving);
    status = success;
  });
}

}  // namespace tlsfix::cli
