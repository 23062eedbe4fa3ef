#include "outputs.hpp"

#include <openssl/evp.h>

#include <sstream>

#include "durations.hpp"
#include "names.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::cli {

namespace {

std::string shell_quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string dotenv_quote(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '\n') {
      out += "\\n";  // dotenv's escape inside double quotes: the line stays one line
      continue;
    }
    if (c == '\r') {
      out += "\\r";
      continue;
    }
    if (c == '"' || c == '\\' || c == '$') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::vector<std::string> dns_names(const nlohmann::json& service) {
  std::vector<std::string> out;
  for (const auto& san : service.at("sans")) {
    auto text = san.get<std::string>();
    if (text.starts_with("DNS:") && text.find('*') == std::string::npos) out.push_back(text.substr(4));
  }
  return out;
}

std::string labels(const std::string& component) {
  return "  labels:\n    app.kubernetes.io/managed-by: tlsfix\n    app.kubernetes.io/component: " + component + "\n";
}

}  // namespace

env_format parse_env_format(std::string_view text) {
  if (text == "shell") return env_format::shell;
  if (text == "github") return env_format::github;
  if (text == "dotenv") return env_format::dotenv;
  if (text == "json") return env_format::json;
  // Built by appending: GCC 12 at -O3 reports a false -Wrestrict for "'" + std::string (bug 105329).
  throw tlsfix::error("--format", std::string("'").append(text).append("' is not one of shell, github, dotenv, json"));
}

env_list environment(const harness::trust& roots, const std::filesystem::path& dir, const nlohmann::json& services) {
  std::string ca = (dir / "ca.crt").string();
  env_list vars{{"TLSFIX_DIR", dir.string()}, {"TLSFIX_CA_FILE", ca}};
  std::string from_file = roots.ca_file().string(), from_dir = roots.ca_file().parent_path().string();
  for (auto [name, value] : roots.environment())
    vars.emplace_back(name, value == from_file ? ca : value == from_dir ? dir.string() : value);
  for (const auto& service : services) {
    std::string id = "TLSFIX_" + env_identifier(service.at("name").get<std::string>());
    for (const auto& [kind, file] : service.at("files").items())
      vars.emplace_back(id + "_" + env_identifier(kind), (dir / file.get<std::string>()).string());
  }
  return vars;
}

std::string format_env(const env_list& vars, env_format format) {
  if (format == env_format::json) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : vars) out[k] = v;
    return out.dump(2) + "\n";
  }
  std::string out;
  for (const auto& [k, v] : vars) {
    switch (format) {
      case env_format::shell: out += "export " + k + "=" + shell_quote(v) + "\n"; break;
      // $GITHUB_ENV takes NAME=value verbatim up to the newline: a value holding one would
      // start a line of its own (PATH=...), so it is refused rather than written.
      case env_format::github:
        if (v.find_first_of("\r\n") != std::string::npos)
          throw tlsfix::error("--format github", k + ": the value holds a line break, which $GITHUB_ENV cannot carry safely");
        out += k + "=" + v + "\n";
        break;
      case env_format::dotenv: out += k + "=" + dotenv_quote(v) + "\n"; break;
      case env_format::json: break;
    }
  }
  return out;
}

std::string hosts_lines(const nlohmann::json& services) {
  std::string names;
  for (const auto& service : services)
    for (const auto& n : dns_names(service)) names += " " + n;
  // No comment line: nss_wrapper, which reads this file for `tlsfix run`, rejects comments.
  if (names.empty()) return "";
  return "127.0.0.1" + names + "\n::1" + names + "\n";
}

std::string kubernetes_tls_secret(const std::string& service, const ca::issued_cert& cert) {
  std::ostringstream out;
  out << "# tlsfix: TLS identity of " << service << " (its key: keep this file private)\n"
      << "apiVersion: v1\nkind: Secret\nmetadata:\n  name: " << kubernetes_name(service) << "-tls\n"
      << labels("certificate") << "type: kubernetes.io/tls\ndata:\n"
      << "  tls.crt: " << base64(cert.fullchain_pem()) << "\n"
      << "  tls.key: " << base64(cert.key_pem()) << "\n"
      << "  ca.crt: " << base64(cert.root().to_pem()) << "\n";
  return out.str();
}

std::string kubernetes_ca_secret(const ca::certificate& root) {
  return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: tlsfix-ca\n" + labels("ca") +
         "type: Opaque\ndata:\n  ca.crt: " + base64(root.to_pem()) + "\n";
}

std::string kubernetes_ca_config_map(const ca::certificate& root) {
  std::string out = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tlsfix-ca\n" + labels("ca") + "data:\n  ca.crt: |\n";
  std::istringstream pem(root.to_pem());
  for (std::string line; std::getline(pem, line);) out += "    " + line + "\n";
  return out;
}

std::string chain_text(const std::vector<ca::certificate>& chain) {
  std::string out;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const auto& c = chain[i];
    out += "  " + std::to_string(i) + " subject: " + c.subject() + "\n    issuer: " + c.issuer() + "\n    serial: " +
           c.serial_hex() + "\n    not after: " + ca::to_iso8601(c.not_after()) + "\n";
    auto sans = c.subject_alt_names();
    if (!sans.empty()) {
      out += "    names:";
      for (const auto& san : sans) out += " " + san;
      out += "\n";
    }
  }
  return out;
}

nlohmann::json chain_json(const std::vector<ca::certificate>& chain) {
  auto out = nlohmann::json::array();
  for (const auto& c : chain)
    out.push_back({{"subject", c.subject()},
                   {"issuer", c.issuer()},
                   {"serial", c.serial_hex()},
                   {"not_before", ca::to_iso8601(c.not_before())},
                   {"not_after", ca::to_iso8601(c.not_after())},
                   {"sans", c.subject_alt_names()},
                   {"sha256_fingerprint", c.sha256_fingerprint()}});
  return out;
}

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  size_t length = 0;
  if (EVP_Q_digest(nullptr, "SHA256", nullptr, data.data(), data.size(), digest, &length) != 1)
    throw tlsfix::error::from_openssl("EVP_Q_digest", "hashing a file for manifest.json");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < length; ++i) (out += hex[digest[i] >> 4]) += hex[digest[i] & 15];
  return out;
}

}  // namespace tlsfix::cli
