// `tlsfix verify`: offline strict verification of a certificate file, with the same policy as the
// harness clients (tlsfix::ca::verify), optionally as of another time.
#include "durations.hpp"
#include "outputs.hpp"
#include "tlsfix/ca/files.hpp"
#include "tlsfix/ca/pkcs12.hpp"
#include "tlsfix/ca/verify.hpp"
#include "tlsfix/error.hpp"
#include "verbs.hpp"

namespace tlsfix::cli {

namespace {

// CERT as a chain, leaf first: PEM (a leaf or a full chain), or PKCS#12 with --p12-password,
// whose leaf is the certificate of its key and whose other certificates follow it.
std::vector<ca::certificate> read_cert_chain(const verify_options& o) {
  std::string data = ca::read_file(o.cert);
  // PEM may follow other text (openssl x509 -text), PKCS#12 is binary; with the password given, a
  // binary file is read as PKCS#12 so that a damaged one is reported as such.
  if (data.find("-----BEGIN ") != std::string::npos) {
    if (o.p12_password) throw tlsfix::error("--p12-password", "'" + o.cert + "' is PEM, not PKCS#12; leave the flag out");
    return ca::certificate::chain_from_pem(data, o.cert);
  }
  if (!o.p12_password) {
    if (ca::is_pkcs12(data)) throw tlsfix::error(o.cert, "is PKCS#12: give --p12-password");
    return ca::certificate::chain_from_pem(data, o.cert);
  }
  auto p12 = ca::read_pkcs12(data, *o.p12_password, o.cert);
  if (!p12.leaf) throw tlsfix::error(o.cert, "holds no certificate, only a private key");
  std::vector<ca::certificate> chain{*p12.leaf};
  chain.insert(chain.end(), p12.chain.begin(), p12.chain.end());
  return chain;
}

}  // namespace

verb_result verify(const verify_options& o) {
  if (o.purpose != "server" && o.purpose != "client")
    throw tlsfix::error("--purpose", "'" + o.purpose + "' is not server or client");
  auto purpose = o.purpose == "client" ? ca::purpose::client : ca::purpose::server;
  if (purpose == ca::purpose::server && o.name.empty()) throw tlsfix::error("--name", "required to verify a server certificate");
  auto chain = read_cert_chain(o);
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
