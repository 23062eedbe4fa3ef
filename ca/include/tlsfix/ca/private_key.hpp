// Private keys: generation, PEM in and out.
//
// A `private_key` is a cheap, shareable handle (copies share one EVP_PKEY, which is immutable once
// generated). ECDSA P-256 is the default; RSA is there for peers that need it, and its generation
// is slow (RSA-4096 takes about a second), so tests that issue many RSA leaves reuse one key.
//
//   auto key = tlsfix::ca::private_key::generate(tlsfix::ca::key_type::ed25519);
//   std::string pem = key.to_pem();                        // PKCS#8, unencrypted
//   auto again = tlsfix::ca::private_key::from_pem(pem);
//   assert(again.public_der() == key.public_der());
#pragma once

#include <openssl/types.h>

#include <iosfwd>
#include <string>
#include <string_view>

#include "tlsfix/ca/handles.hpp"

namespace tlsfix::ca {

enum class key_type { ecdsa_p256, ecdsa_p384, ed25519, rsa_2048, rsa_3072, rsa_4096 };

// "ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048", "rsa-3072", "rsa-4096".
std::string_view to_string(key_type type) noexcept;
// Parses the names above; throws `error` naming the value and the accepted names.
key_type parse_key_type(std::string_view name);

class private_key {
 public:
  static private_key generate(key_type type = key_type::ecdsa_p256);
  // PKCS#8 or traditional PEM; an encrypted key needs `passphrase`. Throws `error` naming
  // `what` (e.g. the file name) when the text is not a private key or the passphrase is wrong.
  static private_key from_pem(std::string_view pem, std::string_view passphrase = {},
                              std::string_view what = "private key");
  // Takes a new reference to an existing key.
  static private_key from_native(EVP_PKEY* key);

  key_type type() const noexcept { return type_; }
  // PKCS#8 PEM; encrypted with AES-256-CBC when `passphrase` is not empty.
  std::string to_pem(std::string_view passphrase = {}) const;
  // DER SubjectPublicKeyInfo, for comparing keys.
  std::string public_der() const;
  // get0: the key stays owned by this object (and its copies).
  EVP_PKEY* native() const noexcept { return key_.get(); }

 private:
  private_key(std::shared_ptr<EVP_PKEY> key, key_type type) : key_(std::move(key)), type_(type) {}
  std::shared_ptr<EVP_PKEY> key_;
  key_type type_;
};

// "ecdsa-p256"; and for a key its type only, never its material.
std::ostream& operator<<(std::ostream& out, key_type type);
std::ostream& operator<<(std::ostream& out, const private_key& key);

}  // namespace tlsfix::ca
