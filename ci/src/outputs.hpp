// The text formats tlsfix writes for other programs: environment variables in four syntaxes,
// /etc/hosts lines, Kubernetes manifests.
//
// The environment makes clients trust the directory's ca.crt (SSL_CERT_FILE, CURL_CA_BUNDLE,
// REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, the same set as
// `harness::trust::environment()`) and names every service's files (TLSFIX_<SERVICE>_CERT, ...).
// SSL_CERT_FILE replaces OpenSSL's default store: programs given this environment trust only the
// test CA, which is the point.
//
//   auto vars = environment("/abs/tls", manifest);
//   std::cout << format_env(vars, env_format::github);   // SSL_CERT_FILE=/abs/tls/ca.crt ...
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tlsfix/ca/certificate.hpp"
#include "tlsfix/ca/issued_cert.hpp"

namespace tlsfix::cli {

using env_list = std::vector<std::pair<std::string, std::string>>;

enum class env_format { shell, github, dotenv, json };
env_format parse_env_format(std::string_view text);

// `dir` absolute; `services` the manifest's service entries.
env_list environment(const std::filesystem::path& dir, const nlohmann::json& services);
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
