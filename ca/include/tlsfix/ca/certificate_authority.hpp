// An ephemeral certificate authority that lives inside the test process.
//
// `create()` with no arguments makes a fresh root with a random subject, an ECDSA P-256 key,
// validity backdated one hour, and critical name constraints that permit only test names
// (`test`, `test.local`, `localhost`, 127.0.0.0/8, ::1/128): even if its key leaked, the root
// could not vouch for a real site. Issuing a leaf costs about one key generation and one signature.
//
//   auto ca = tlsfix::ca::certificate_authority::create();
//   auto server = ca.issue("service.test.local");                       // DNS SAN, serverAuth
//   auto client = ca.issue({.names = {"alice@test.local"}, .usage = tlsfix::ca::usage::client});
//   auto sub = ca.make_intermediate();                                  // chains of any depth
//   auto leaf = sub.issue({.names = {"127.0.0.1"}, .validity = tlsfix::ca::validity::expired()});
//   ca.revoke(server.cert());
//   std::string crl_pem = ca.crl().to_pem();
//
// @par Thread safety
// A `certificate_authority` may be used from several threads at once; copies share one CA.
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tlsfix/ca/cert_request.hpp"
#include "tlsfix/ca/certificate.hpp"
#include "tlsfix/ca/crl.hpp"
#include "tlsfix/ca/issued_cert.hpp"
#include "tlsfix/ca/private_key.hpp"

namespace tlsfix::ca {

// The names every tlsfix root permits unless `unconstrained` is set.
inline const std::vector<std::string>& default_permitted_names() {
  static const std::vector<std::string> names{"test", "test.local", "localhost", "127.0.0.0/8", "::1/128"};
  return names;
}

struct ca_options {
  key_type key = key_type::ecdsa_p256;
  // Defaults to "tlsfix test CA <random>", so two runs never produce look-alike roots by accident.
  std::optional<std::string> common_name;
  // Added to `default_permitted_names()`: DNS suffixes ("svc.cluster.local") or CIDR ranges
  // ("10.0.0.0/8", "fd00::/8").
  std::vector<std::string> permitted_names;
  // Widens the root to vouch for any name: no name constraints at all. Use only when the code
  // under test insists on real names, and never let such a root out of the test process.
  bool unconstrained = false;
  ca::validity validity = ca::validity::lasting(std::chrono::hours(24 * 365));
};

struct intermediate_options {
  key_type key = key_type::ecdsa_p256;
  std::optional<std::string> common_name;
  // How many further intermediates may follow below this one; none = unlimited.
  std::optional<int> path_length;
  ca::validity validity = ca::validity::lasting(std::chrono::hours(24 * 365));
};

class certificate_authority {
 public:
  static certificate_authority create(const ca_options& options = {});
  // Resumes issuing from a saved CA. `chain` holds the certificates above `cert_pem`, up to and
  // including the root; empty when the CA is a root. Throws `error` when the key does not match,
  // the certificate is not a CA, or the chain does not end in a self-signed root.
  static certificate_authority load(std::string_view cert_pem, std::string_view key_pem,
                                    std::string_view passphrase = {}, std::string_view chain_pem = {});

  issued_cert issue(std::string_view name) const;
  issued_cert issue(const cert_request& request) const;
  certificate_authority make_intermediate(const intermediate_options& options = {}) const;

  void revoke(const certificate& cert);
  // A fresh CRL signed by this CA, listing everything it revoked; valid from an hour ago for a day.
  ca::crl crl() const;

  // This CA's own certificate.
  const certificate& cert() const noexcept;
  // The self-signed root at the top (this CA's own certificate for a root).
  const certificate& root() const noexcept;
  // This CA's certificate and those above it, excluding the root (empty for a root).
  const std::vector<certificate>& chain() const noexcept;
  const private_key& key() const noexcept;

 private:
  struct state;
  explicit certificate_authority(std::shared_ptr<state> s) : state_(std::move(s)) {}
  std::shared_ptr<state> state_;
};

// The CA's subject, and the root's when it is an intermediate.
std::ostream& operator<<(std::ostream& out, const certificate_authority& ca);

}  // namespace tlsfix::ca
