// `tlsfix serve DIR --service NAME`: a verified HTTPS endpoint on loopback for a directory's
// service, answering every request with a short text naming the service (a target for clients
// under test, health checks and `tlsfix probe`).
#include <signal.h>

#include <iostream>
#include <optional>

#include "cli.hpp"
#include "relay.hpp"
#include "serving.hpp"
#include "tlsfix/ca/error.hpp"

namespace tlsfix::cli {

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
  auto authority = dir.load_ca();
  std::vector<std::string> names;
  for (const auto& san : entry.at("sans")) {
    auto text = san.get<std::string>();
    names.push_back(text.substr(text.find(':') + 1));  // "DNS:x", "IP:::1", "URI:..." -> the value
  }
  return authority.issue({.names = names, .key = ca::parse_key_type(entry.at("key_type").get<std::string>()),
                          .usage = entry.at("usage") == "both" ? ca::usage::server_and_client : ca::usage::server});
}

void serve_until_signal(harness::tls_server& server, std::optional<std::uint16_t> port, const std::string& extra) {
  std::optional<port_relay> relay;
  if (port) relay.emplace(*port, server.port());
  std::uint16_t shown = relay ? relay->port() : server.port();
  std::cout << "https://" << (server.name().find(':') != std::string::npos ? "[" + server.name() + "]" : server.name()) << ":"
            << shown << "/\n"
            << extra << std::flush;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int signal_number = 0;
  sigwait(&set, &signal_number);
  if (relay) relay->close();
  server.close();
  std::cout << "tlsfix: stopped (" << (signal_number == SIGINT ? "SIGINT" : "SIGTERM") << ")\n";
}

void add_serve(CLI::App& app, int& status) {
  struct options {
    std::string dir, service;
    std::optional<std::uint16_t> port;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("serve", "Serve HTTPS for a directory's service on loopback until SIGINT/SIGTERM");
  cmd->footer("Example:\n  tlsfix init tls --service app.test.local --keep-ca-key\n  tlsfix serve tls --service app.test.local --port 8443\n"
              "Prints the URL it serves. Needs the directory's ca.key (init --keep-ca-key).");
  cmd->add_option("DIR", o->dir, "A tlsfix directory made with --keep-ca-key")->required();
  cmd->add_option("--service", o->service, "The service to serve")->required();
  cmd->add_option("--port", o->port, "Loopback port (default: any free port)");
  cmd->callback([o, &status] {
    auto dir = tlsfix_dir::open(o->dir);
    auto identity = identity_from_dir(dir, o->service);
    block_stop_signals();
    std::string service = o->service;
    auto server = harness::tls_server::start(identity, [service](const harness::http_request& req) {
      return harness::text_response(req, 200, "tlsfix serve: " + service + " " + std::string(req.method_string()) + " " +
                                                  std::string(req.target()) + "\n");
    });
    serve_until_signal(server, o->port);
    status = success;
  });
}

}  // namespace tlsfix::cli
