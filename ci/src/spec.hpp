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
//     - name: db.test.local            # for a server that runs as another user (needs root):
//       key_owner: postgres            #   key.pem, service.pem, service.p12 owned by this user, 0600
//       key_group: ssl-cert            #   or readable by this group, 0640 (with key_owner: both)
//
// key_owner and key_group take a name or a numeric id (a container's user need not exist here).
// The service's directory goes to the same user (0700) or group (0750), and the top directory,
// 0700 otherwise, lets them pass without listing it: 0710 with that group when every such service
// names only one and the same group, else 0711. The directories above DIR are left as they are:
// they must let the server through too. The Kubernetes Secret stays with the user who ran tlsfix.
// Unknown keys are errors. YAML errors carry line and column; JSON syntax errors too, JSON
// schema errors the path ("services[1].nmae").
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tlsfix/ca/cert_request.hpp"
#include "tlsfix/ca/private_key.hpp"

namespace tlsfix::cli {

// A user or group of this machine, by name or by number, found when the spec or flag is read.
struct account {
  std::string name;   // as written: "postgres", or "999"
  unsigned id = 0;    // uid_t and gid_t
  std::string where;  // "tls.yaml:4:5: services[0].key_owner" or "--key-owner db.test.local=postgres"
};
// A name the system knows, else a numeric id; throws `tlsfix::error` at `where` ("no user
// 'postgress' on this machine").
account find_user(std::string_view text, std::string where);
account find_group(std::string_view text, std::string where);

struct service_spec {
  std::string name;
  std::vector<std::string> names;  // further subjectAltNames
  std::vector<std::string> ips;
  ca::key_type key = ca::key_type::ecdsa_p256;
  std::chrono::seconds validity = std::chrono::hours(24 * 90);
  bool validity_given = false;  // said by the user: never shortened to fit the root, refused instead
  ca::usage usage = ca::usage::server;
  std::vector<std::string> clients;  // services that are mTLS clients of this one
  std::optional<std::string> p12_password;
  std::optional<account> key_owner, key_group;  // who the key files are for, when not this user
  std::string where;  // "tls.yaml:12:5: services[0].name" or "--service NAME": where errors point
  // Where each of `names` and `ips` was written, when a spec said it ("tls.yaml:13:15:
  // services[0].names[1]"); a name without one is reported at `where`.
  std::vector<std::string> names_where, ips_where;
  const std::string& name_where(std::size_t j) const { return j < names_where.size() ? names_where[j] : where; }
  const std::string& ip_where(std::size_t j) const { return j < ips_where.size() ? ips_where[j] : where; }

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
// The same for text already read: `file` names it in errors, and its extension picks JSON
// (".json") or YAML (anything else).
topology parse_spec(std::string_view text, const std::filesystem::path& file);

// Checks the whole topology before anything is issued: service names valid and unique, every
// name permitted (`allow_names` plus `extra_allowed`), clients known, key owners and groups
// this process may give files to. A service named as someone's client gains clientAuth.
// `existing` are names already in the directory.
void resolve(topology& t, const std::vector<std::string>& existing = {});

// The spec's word for a usage: "server", "client" or "both" (what manifest.json says too).
std::string usage_word(ca::usage u);
ca::usage parse_usage(std::string_view text, std::string_view where);

}  // namespace tlsfix::cli
