// The topology of a tlsfix directory: which services get certificates, with which names, and who
// may connect to whom with mutual TLS. Comes from a spec file (YAML or JSON), from command-line
// flags, or both.
//
//   # tls.yaml
//   ca:
//     key: ecdsa-p256          # ecdsa-p256 | ecdsa-p384 | ed25519 | rsa-2048 | rsa-3072 | rsa-4096
//     validity: 365d
//     allow_names: [svc.cluster.local]
//   services:
//     - name: api.test.local   # also the directory name; the first subjectAltName
//       names: ["*.api.test.local"]
//       ips: [127.0.0.1, "::1"]
//       clients: [worker.test.local]   # these services connect to api with mTLS
//       p12_password: changeit         # also write service.p12
//     - name: worker.test.local
//       usage: client                  # server (default) | client | both
//
// Unknown keys are errors. YAML errors carry line and column; JSON syntax errors too, JSON
// schema errors the path ("services[1].nmae").
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tlsfix/ca/cert_request.hpp"
#include "tlsfix/ca/private_key.hpp"

namespace tlsfix::cli {

struct service_spec {
  std::string name;
  std::vector<std::string> names;  // further subjectAltNames
  std::vector<std::string> ips;
  ca::key_type key = ca::key_type::ecdsa_p256;
  std::chrono::seconds validity = std::chrono::hours(24 * 90);
  ca::usage usage = ca::usage::server;
  std::vector<std::string> clients;  // services that are mTLS clients of this one
  std::optional<std::string> p12_password;
  std::string where;  // "tls.yaml:12:5" or "--service": where errors point

  // The name first, then names and ips, without repeats.
  std::vector<std::string> all_names() const;
};

struct topology {
  ca::key_type ca_key = ca::key_type::ecdsa_p256;
  std::chrono::seconds ca_validity = std::chrono::hours(24 * 365);
  std::vector<std::string> allow_names;
  std::vector<service_spec> services;
};

// Throws `tlsfix::error` "FILE:LINE:COL: path: problem" (or "FILE: path: problem" where JSON has no
// position) for malformed files, unknown keys and bad values.
topology load_spec(const std::filesystem::path& file);

// Checks the whole topology before anything is issued: service names valid and unique, every
// name permitted (`allow_names` plus `extra_allowed`), clients known. A service named as
// someone's client gains clientAuth. `existing` are names already in the directory.
void resolve(topology& t, const std::vector<std::string>& existing = {});

// The spec's word for a usage: "server", "client" or "both" (what manifest.json says too).
std::string usage_word(ca::usage u);
ca::usage parse_usage(std::string_view text, std::string_view where);

}  // namespace tlsfix::cli
