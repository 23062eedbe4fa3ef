// `tlsfix serve DIR --service NAME`: a verified HTTPS endpoint on loopback for a directory's
// service, answering every request with a short text naming the service (a target for clients
// under test, health checks and `tlsfix probe`).
#include <signal.h>

#include <iostream>
#include <optional>

#include "cli.hpp"
#include "serving.hpp"
#include "tlsfix/ca/error.hpp"
#include "tlsfix/ca/files.hpp"

namespace tlsfix::cli {

namespace fs = std::filesystem;

void block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

ca::issued_cert identity_from_dir(const tlsfix_dir& dir, const std::string& service) {
  const auto& entry = dir.service(service);
  if (entry.at("usage") == "client")
    throw ca::error("--service: '" + service + "' is a client identity (clientAuth only); it cannot serve");
  const auto& files = entry.at("files");
  fs::path chain = dir.path() / files.at("fullchain").get<std::string>(), key = dir.path() / files.at("key").get<std::string>();
  try {
    return ca::issued_cert::from_pem(ca::read_file(chain), ca::read_file(key), ca::read_file(dir.ca_file()));
  } catch (const ca::error& e) {
    throw ca::error(chain.string() + " with " + key.string() + ": " + e.what());
  }
}

void serve_until_signal(harness::tls_server& server, const std::string& extra) {
  std::cout << "https://" << (server.name().find(':') != std::string::npos ? "[" + server.name() + "]" : server.name()) << ":"
            << server.port() << "/\n"
            << extra << std::flush;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int signal_number = 0;
  sigwait(&set, &signal_number);
  server.close();
  std::cout << "tlsfix: stopped (" << (signal_number == SIGINT ? "SIGINT" : "SIGTERM") << ")\n";
}

void add_serve(CLI::App& app, int& status) {
  struct options {
    std::string dir, service;
    std::optional<std::uint16_t> port;
    bool client_auth = false;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("serve", "Serve HTTPS for a directory's service on loopback until SIGINT/SIGTERM");
  cmd->footer("Example:\n  tlsfix init tls --service app.test.local --client worker.test.local\n"
              "  tlsfix serve tls --service app.test.local --port 8443 --client-auth\n"
              "  tlsfix probe https://app.test.local:8443/ --ca tls/ca.crt --cert tls/worker.test.local/fullchain.pem \\\n"
              "      --key tls/worker.test.local/key.pem\n"
              "Prints the URL it serves, with the certificate `init` wrote (fullchain.pem, key.pem).");
  cmd->add_option("DIR", o->dir, "A tlsfix directory")->required();
  cmd->add_option("--service", o->service, "The service to serve")->required();
  cmd->add_option("--port", o->port, "Loopback port (default: any free port)");
  cmd->add_flag("--client-auth", o->client_auth, "Require a client certificate from the directory's CA (mTLS)");
  cmd->callback([o, &status] {
    auto dir = tlsfix_dir::open(o->dir);
    auto identity = identity_from_dir(dir, o->service);
    block_stop_signals();
    std::string service = o->service;
    auto server = harness::tls_server::start(
        identity,
        [service](const harness::http_request& req) {
          return harness::text_response(req, 200, "tlsfix serve: " + service + " " + std::string(req.method_string()) + " " +
                                                      std::string(req.target()) + "\n");
        },
        {.client_auth = o->client_auth ? harness::client_auth::required : harness::client_auth::none,
         .client_trust = o->client_auth ? std::optional(harness::trust::from_file(dir.ca_file())) : std::nullopt,
         .port = o->port.value_or(0)});
    serve_until_signal(server);
    status = success;
  });
}

}  // namespace tlsfix::cli
