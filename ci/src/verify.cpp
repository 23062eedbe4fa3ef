// `tlsfix verify`: offline strict verification of a certificate file, with the same policy as the
// harness clients (tlsfix::ca::verify), optionally as of another time.
#include "durations.hpp"
#include "outputs.hpp"
#include "tlsfix/ca/files.hpp"
#include "tlsfix/ca/verify.hpp"
#include "tlsfix/error.hpp"
#include "verbs.hpp"

namespace tlsfix::cli {

verb_result verify(const verify_options& o) {
  if (o.purpose != "server" && o.purpose != "client")
    throw tlsfix::error("--purpose", "'" + o.purpose + "' is not server or client");
  auto purpose = o.purpose == "client" ? ca::purpose::client : ca::purpose::server;
  if (purpose == ca::purpose::server && o.name.empty()) throw tlsfix::error("--name", "required to verify a server certificate");
  auto chain = ca::certificate::chain_from_pem(ca::read_file(o.cert), o.cert);
  ca::verify_options options{.roots = ca::certificate::chain_from_pem(ca::read_file(o.ca_file), o.ca_file),
                             .untrusted = chain, .name = o.name, .purpose = purpose};
  if (o.untrusted) {
    auto more = ca::certificate::chain_from_pem(ca::read_file(*o.untrusted), *o.untrusted);
    options.untrusted.insert(options.untrusted.end(), more.begin(), more.end());
  }
  if (o.at) options.at = parse_time(*o.at, "--at");
  auto result = ca::verify(chain.front(), options);
  verb_result out{.status = result.ok() ? success : check_failed};
  if (o.json) {
    nlohmann::json report = {{"ok", result.ok()}, {"chain", chain_json(result.ok() ? result.chain : std::vector{chain.front()})}};
    if (!result.ok()) report.update({{"error", result.message()}, {"verify_error", result.error}, {"depth", result.depth}});
    out.out = report.dump(2) + "\n";
  } else if (result.ok()) {
    out.out = o.cert + ": OK\n" + chain_text(result.chain);
  } else {
    out.err = "tlsfix verify: " + o.cert + ": " + result.message() + "\n";
  }
  return out;
}

}  // namespace tlsfix::cli
