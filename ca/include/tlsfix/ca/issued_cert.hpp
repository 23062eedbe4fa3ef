// A certificate together with its private key and its chain: what a server or an mTLS client needs.
//
// `issued_cert` is a value type with no public constructor; `certificate_authority::issue` makes
// one. The chain runs leaf first up to, but excluding, the root: exactly what a server must send.
//
//   auto leaf = ca.issue("service.test.local");
//   write_file("fullchain.pem", leaf.fullchain_pem(), file_mode::public_read);   // nginx
//   write_file("service.pem", leaf.bundle_pem(), file_mode::secret);             // HAProxy
//   std::string p12 = leaf.pkcs12("s3cret");                                     // Java, .NET
#pragma once

#include <iosfwd>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tlsfix/ca/certificate.hpp"
#include "tlsfix/ca/private_key.hpp"

namespace tlsfix::ca {

class certificate_authority;

class issued_cert {
 public:
  // Material from disk, e.g. what `tlsfix init` wrote: `chain_pem` leaf first (fullchain.pem),
  // the key (encrypted when `passphrase` is given) and the root a client should trust. The order
  // is kept as given. Throws `error` when the key does not belong to the leaf.
  static issued_cert from_pem(std::string_view chain_pem, std::string_view key_pem, std::string_view root_pem,
                              std::string_view passphrase = {});

  const certificate& cert() const noexcept { return chain_.front(); }
  const private_key& key() const noexcept { return key_; }
  // Leaf first, root excluded.
  const std::vector<certificate>& chain() const noexcept { return chain_; }
  // The self-signed root this chain leads to: the one thing a client should trust.
  const certificate& root() const noexcept { return root_; }

  std::string cert_pem() const { return cert().to_pem(); }
  std::string key_pem(std::string_view passphrase = {}) const { return key_.to_pem(passphrase); }
  // Leaf then intermediates (nginx `ssl_certificate`).
  std::string fullchain_pem() const { return to_pem(chain_); }
  // Full chain then key, one file (HAProxy `crt`). Secret: it holds the key.
  std::string bundle_pem() const { return fullchain_pem() + key_pem(); }
  // DER PKCS#12 with key, leaf and intermediates, encrypted with AES-256-CBC (PBKDF2, SHA-256 MAC).
  std::string pkcs12(std::string_view password, std::string_view friendly_name = "tlsfix") const;

  // The same leaf and key with the intermediates left out: what a misconfigured server sends.
  // For negative tests ("missing intermediate" must fail verification).
  issued_cert without_intermediates() const { return issued_cert({cert()}, key_, root_); }

  // Writes cert.pem, key.pem (0600), fullchain.pem, bundle.pem (0600) and ca.crt into `dir`
  // (created 0700 if missing). All or nothing: refuses if any of them exists.
  void write_to(const std::filesystem::path& dir) const;

 private:
  friend class certificate_authority;
  issued_cert(std::vector<certificate> chain, private_key key, certificate root)
      : chain_(std::move(chain)), key_(std::move(key)), root_(std::move(root)) {}
  std::vector<certificate> chain_;
  private_key key_;
  certificate root_;
};

// The leaf, how many certificates the chain holds and the root it leads to.
std::ostream& operator<<(std::ostream& out, const issued_cert& cert);

}  // namespace tlsfix::ca
