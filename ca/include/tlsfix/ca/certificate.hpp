// A parsed X.509 certificate: a cheap, shareable, read-only handle.
//
// Certificates never change after issuance, so copies share one X509 object. Accessors return
// plain values for tests and tools to inspect; `native()` hands the X509 to OpenSSL calls.
//
//   auto chain = tlsfix::ca::certificate::chain_from_pem(read_file("fullchain.pem"));
//   for (const auto& cert : chain)
//     std::cout << cert.subject() << " serial " << cert.serial_hex() << '\n';
//   assert(chain[0].subject_alt_names()[0] == "DNS:service.test.local");
#pragma once

#include <openssl/types.h>

#include <iosfwd>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tlsfix/ca/handles.hpp"

namespace tlsfix::ca {

class certificate {
 public:
  // Exactly one certificate; throws `error` naming `what` when the text is anything else.
  static certificate from_pem(std::string_view pem, std::string_view what = "certificate");
  // One or more certificates, in the order given (e.g. a full chain file).
  static std::vector<certificate> chain_from_pem(std::string_view pem, std::string_view what = "certificate chain");
  static certificate from_der(std::string_view der, std::string_view what = "certificate");
  // Takes a new reference to an existing certificate.
  static certificate from_native(X509* cert);

  std::string to_pem() const;
  std::string to_der() const;

  // RFC 2253 form, e.g. "CN=tlsfix test CA 3f2a...,O=tlsfix".
  std::string subject() const;
  std::string issuer() const;
  // Upper-case hex without separators, as `openssl x509 -serial` prints it.
  std::string serial_hex() const;
  std::chrono::system_clock::time_point not_before() const;
  std::chrono::system_clock::time_point not_after() const;
  // "DNS:name", "IP:127.0.0.1", "IP:::1", "URI:spiffe://...", "email:a@b" in certificate order.
  std::vector<std::string> subject_alt_names() const;
  bool is_ca() const;
  bool is_self_signed() const;
  // The permitted subtrees of its name constraints ("DNS:test", "IP:127.0.0.0/8", "IP:::1/128",
  // "email:test.local", "URI:test"), and whether that extension is critical; nullopt when it
  // has no name constraints, which lets a CA vouch for any name at all.
  struct name_constraints_view {
    std::vector<std::string> permitted;
    bool critical = false;
  };
  std::optional<name_constraints_view> name_constraints() const;
  // Lower-case hex SHA-256 of the DER, colon separated like `openssl x509 -fingerprint`.
  std::string sha256_fingerprint() const;

  // get0: the certificate stays owned by this object (and its copies).
  X509* native() const noexcept { return cert_.get(); }

  friend bool operator==(const certificate& a, const certificate& b);

 private:
  explicit certificate(std::shared_ptr<X509> cert);
  std::shared_ptr<X509> cert_;
};

// Concatenated PEM of the certificates, in order.
std::string to_pem(const std::vector<certificate>& certs);

// One line for test failures: subject, issuer, serial, validity and names.
std::ostream& operator<<(std::ostream& out, const certificate& cert);

}  // namespace tlsfix::ca
