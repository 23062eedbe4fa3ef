#include "sample/command_line.hpp"

#include <signal.h>

#include <cctype>
#include <ostream>

namespace sample {

server_options service_flags::options_for(const std::string& name) const {
  return {.listen = listen, .tls = tls, .name = name};
}

std::string tlsfix_env(const std::string& service, const std::string& kind) {
  std::string out = "TLSFIX_";
  for (unsigned char c : service) out += std::isalnum(c) ? static_cast<char>(std::toupper(c)) : '_';
  return out + "_" + kind;
}

void add_service_flags(CLI::App& app, service_flags& flags, const std::string& service) {
  std::string label = service.substr(0, service.find('.'));
  for (auto& c : label) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  app.add_option("--cert", flags.tls.cert, "certificate chain to serve, leaf first (fullchain.pem)")->envname(tlsfix_env(service, "FULLCHAIN"));
  app.add_option("--key", flags.tls.key, "its private key")->envname(tlsfix_env(service, "KEY"));
  app.add_option("--ca", flags.tls.ca, "the CA that callers' and peers' certificates must chain to")->envname("TLSFIX_CA_FILE");
  app.add_option("--listen", flags.listen, "HOST:PORT to listen on; port 0 picks a free one")
      ->envname(label + "_LISTEN")
      ->capture_default_str();
}

int serve_until_terminated(https_server& server, std::ostream& out) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  // Blocked before the server's threads exist, so they inherit the mask and sigwait() below is
  // the only place these signals land.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  server.start();
  out << "listening " << server.address() << std::endl;
  int received = 0;
  sigwait(&signals, &received);
  server.stop();
  out << "stopped (" << (received == SIGTERM ? "SIGTERM" : "SIGINT") << ")" << std::endl;
  return 0;
}

}  // namespace sample
