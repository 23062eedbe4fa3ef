// `tlsfix verify`: offline strict verification of a certificate file, with the same policy as the
// harness clients (tlsfix::ca::verify), optionally as of another time.
#include <iostream>
#include <optional>

#include "cli.hpp"
#include "durations.hpp"
#include "outputs.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/ca/files.hpp"
#include "tlsfix/ca/verify.hpp"

namespace tlsfix::cli {

void add_verify(CLI::App& app, int& status) {
  struct options {
    std::string cert, ca_file, name, purpose = "server";
    std::optional<std::string> untrusted, at;
    bool json_out = false;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("verify", "Verify a certificate offline: chain, name (SAN only), purpose and time");
  cmd->footer("Example:\n  tlsfix verify --ca tls/ca.crt --name service.test.local tls/service.test.local/fullchain.pem\n"
              "  tlsfix verify --ca tls/ca.crt --name service.test.local --at 2030-01-01T00:00:00Z tls/service.test.local/cert.pem\n"
              "CERT may hold a whole chain, leaf first. Exit status 2 when verification fails.");
  cmd->add_option("CERT", o->cert, "The certificate (PEM), optionally followed by its intermediates")->required();
  cmd->add_option("--ca", o->ca_file, "The roots to trust (PEM)")->required();
  cmd->add_option("--untrusted", o->untrusted, "Intermediates (PEM) the peer would send");
  cmd->add_option("--name", o->name, "The DNS name or IP address the certificate must carry (empty for --purpose client)");
  cmd->add_option("--purpose", o->purpose, "server or client")->check(CLI::IsMember({"server", "client"}))->capture_default_str();
  cmd->add_option("--at", o->at, "Verify as of this ISO-8601 time instead of now");
  cmd->add_flag("--json", o->json_out, "Print the result as JSON");
  cmd->callback([o, &status] {
    auto purpose = o->purpose == "client" ? ca::purpose::client : ca::purpose::server;
    if (purpose == ca::purpose::server && o->name.empty()) throw tlsfix::error("--name", "required to verify a server certificate");
    auto chain = ca::certificate::chain_from_pem(ca::read_file(o->cert), o->cert);
    ca::verify_options options{.roots = ca::certificate::chain_from_pem(ca::read_file(o->ca_file), o->ca_file),
                               .untrusted = chain, .name = o->name, .purpose = purpose};
    if (o->untrusted) {
      auto more = ca::certificate::chain_from_pem(ca::read_file(*o->untrusted), *o->untrusted);
      options.untrusted.insert(options.untrusted.end(), more.begin(), more.end());
    }
    if (o->at) options.at = parse_time(*o->at, "--at");
    auto result = ca::verify(chain.front(), options);
    if (o->json_out) {
      nlohmann::json out = {{"ok", result.ok()}, {"chain", chain_json(result.ok() ? result.chain : std::vector{chain.front()})}};
      if (!result.ok()) out.update({{"error", result.message()}, {"verify_error", result.error}, {"depth", result.depth}});
      std::cout << out.dump(2) << "\n";
    } else if (result.ok()) {
      std::cout << o->cert << ": OK\n" << chain_text(result.chain);
    } else {
      std::cerr << "tlsfix verify: " << o->cert << ": " << result.message() << "\n";
    }
    status = result.ok() ? success : check_failed;
  });
}

}  // namespace tlsfix::cli
