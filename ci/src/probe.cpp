// `tlsfix probe URL --ca FILE`: the strict client. Verifies the chain against the given roots
// only, the name against subjectAltName only, TLS >= 1.2, and reports what was negotiated, or the
// specific reason it failed (exit 2).
//
// Like every tlsfix client it dials loopback only: a name resolves to 127.0.0.1 unless --resolve
// maps it to another loopback address.
#include "verbs.hpp"
#include "outputs.hpp"
#include "tlsfix/ca/names.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/ca/files.hpp"
#include "tlsfix/ca/verify.hpp"
#include "tlsfix/harness/test_client.hpp"

namespace tlsfix::cli {

namespace {

struct url_parts {
  std::string host;
  std::uint16_t port = 443;
};

std::uint16_t parse_port(const std::string& text, const std::string& what) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos || std::stoi(text) == 0 ||
      std::stoi(text) > 65535)
    throw tlsfix::error(what, "'" + text + "' is not a port number");
  return static_cast<std::uint16_t>(std::stoi(text));
}

url_parts parse_url(const std::string& url) {
  if (!url.starts_with("https://")) throw tlsfix::error("URL", "'" + url + "' must start with https://");
  std::string authority = url.substr(8, url.find_first_of("/?#", 8) == std::string::npos ? std::string::npos
                                                                                          : url.find_first_of("/?#", 8) - 8);
  url_parts out;
  std::string port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string::npos) throw tlsfix::error("URL", "'" + url + "' has an unclosed [");
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') throw tlsfix::error("URL", "'" + url + "' has junk after ]");
      port = authority.substr(close + 2);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string::npos) {
    out.host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  } else {
    out.host = authority;
  }
  if (out.host.empty()) throw tlsfix::error("URL", "'" + url + "' has no host");
  if (!port.empty()) out.port = parse_port(port, "URL");
  return out;
}

}  // namespace

verb_result probe(const probe_options& o) {
  auto target = parse_url(o.url);
  if (o.timeout_seconds <= 0) throw tlsfix::error("--timeout", std::to_string(o.timeout_seconds) + " is not a number of seconds above 0");
  auto roots = ca::certificate::chain_from_pem(ca::read_file(o.ca_file), o.ca_file);
  harness::client_options options{.host = target.host, .port = target.port, .trust = harness::trust{roots}};
  for (const auto& entry : o.resolve) {
    // NAME:PORT:ADDR, where ADDR may be an IPv6 address with or without brackets.
    auto first = entry.find(':');
    auto second = first == std::string::npos ? std::string::npos : entry.find(':', first + 1);
    if (second == std::string::npos) throw tlsfix::error("--resolve", "'" + entry + "' is not NAME:PORT:ADDR");
    auto port = parse_port(entry.substr(first + 1, second - first - 1), "--resolve " + entry);
    std::string addr = entry.substr(second + 1);
    if (addr.starts_with('[') && addr.ends_with(']')) addr = addr.substr(1, addr.size() - 2);
    if (port == target.port) options.resolve[entry.substr(0, first)].push_back(addr);
  }
  if (o.cert_file && !o.key_file) throw tlsfix::error("--cert", "requires --key (the client certificate's key)");
  if (o.key_file && !o.cert_file) throw tlsfix::error("--key", "requires --cert (the client certificate it belongs to)");
  if (o.cert_file) {
    try {
      // The root is --ca's: a client identity from this directory chains to the root it trusts.
      options.identity = ca::issued_cert::from_pem(ca::read_file(*o.cert_file), ca::read_file(*o.key_file),
                                                   ca::read_file(o.ca_file));
    } catch (const tlsfix::error& e) {
      throw e.within("--cert " + *o.cert_file + " with --key " + *o.key_file);
    }
  }
  options.alpn = o.alpn;
  options.timeout = std::chrono::seconds(o.timeout_seconds);
  auto result = harness::test_client(std::move(options)).handshake();

  // The chain as verified ends in our root; the handshake only has what the peer sent.
  std::vector<ca::certificate> verified = result.peer_chain;
  if (result.ok() && !result.peer_chain.empty()) {
    auto check = ca::verify(result.peer_chain.front(), {.roots = roots, .untrusted = result.peer_chain, .name = target.host});
    if (check.ok()) verified = check.chain;
  }
  verb_result out{.status = result.ok() ? success : check_failed};
  if (o.json) {
    nlohmann::json report = {{"url", o.url}, {"ok", result.ok()}, {"version", result.version}, {"cipher", result.cipher},
                             {"alpn", result.alpn}, {"chain", chain_json(verified)}};
    if (!result.ok())
      report.update({{"error", result.message()}, {"failure", harness::to_string(result.failure.kind)},
                     {"verify_error", result.failure.verify_error}, {"alert", result.failure.alert_received}});
    out.out = report.dump(2) + "\n";
  } else if (result.ok()) {
    out.out = "verified " + ca::authority(target.host, target.port) + "\nchain:\n" + chain_text(verified) +
              "version: " + result.version + "\ncipher: " + result.cipher +
              "\nalpn: " + (result.alpn.empty() ? "(none)" : result.alpn) + "\n";
  } else {
    out.err = "tlsfix probe: " + o.url + ": " + result.message() + "\n";
    if (!result.peer_chain.empty()) out.err += "the server sent:\n" + chain_text(result.peer_chain);
  }
  return out;
}

}  // namespace tlsfix::cli
