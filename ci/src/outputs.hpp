// The text formats tlsfix writes for other programs: environment variables in four syntaxes,
// /etc/hosts lines, Kubernetes manifests.
//
// The environment makes clients trust the directory's ca.crt (`harness::trust::environment()`:
// SSL_CERT_FILE, SSL_CERT_DIR, CURL_CA_BUNDLE, ...) and names every service's files
// (TLSFIX_<SERVICE>_CERT, ...). SSL_CERT_FILE replaces OpenSSL's default store: programs given this
// environment trust only the test CA, which is the point.
//
//   auto vars = environment(harness::trust::from_file("/abs/tls/ca.crt"), "/abs/tls", manifest);
//   std::cout << format_env(vars, env_format::github);   // SSL_CERT_FILE=/abs/tls/ca.crt ...
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "process.hpp"  // env_list
#include "tlsfix/ca/certificate.hpp"
#include "tlsfix/ca/issued_cert.hpp"
#include "tlsfix/harness/trust.hpp"

namespace tlsfix::cli {

enum class env_format { shell, github, dotenv, json };
env_format parse_env_format(std::string_view text);

// `dir` absolute; `services` the manifest's service entries. The trust variables are those of
// `roots.environment()` with its CA file moved to DIR/ca.crt and its directory to DIR: `init`
// renders the environment before the directory is in place, when from_file() cannot read it yet.
env_list environment(const harness::trust& roots, const std::filesystem::path& dir, const nlohmann::json& services);
std::string format_env(const env_list& vars, env_format format);

// "127.0.0.1 a.test.local b.test.local" and the same for ::1; wildcards and addresses left out.
std::string hosts_lines(const nlohmann::json& services);

std::string kubernetes_tls_secret(const std::string& service, const ca::issued_cert& cert);
std::string kubernetes_ca_secret(const ca::certificate& root);
std::string kubernetes_ca_config_map(const ca::certificate& root);

// A certificate chain for humans ("  0 subject ...") and for machines.
std::string chain_text(const std::vector<ca::certificate>& chain);
nlohmann::json chain_json(const std::vector<ca::certificate>& chain);

std::string base64(std::string_view data);
// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace tlsfix::cli
