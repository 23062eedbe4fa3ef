#include "tlsfix/ca/private_key.hpp"

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <ostream>
#include <string>

#include "detail/bio.hpp"
#include "detail/openssl_errors.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::ca {

namespace {

struct key_type_name {
  key_type type;
  std::string_view name;
};
constexpr std::array<key_type_name, 6> key_type_names{{
    {key_type::ecdsa_p256, "ecdsa-p256"},
    {key_type::ecdsa_p384, "ecdsa-p384"},
    {key_type::ed25519, "ed25519"},
    {key_type::rsa_2048, "rsa-2048"},
    {key_type::rsa_3072, "rsa-3072"},
    {key_type::rsa_4096, "rsa-4096"},
}};

evp_pkey_ptr generate_native(key_type type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case key_type::ecdsa_p256: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case key_type::ecdsa_p384: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
    case key_type::ed25519: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
    case key_type::rsa_2048: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}); break;
    case key_type::rsa_3072: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072}); break;
    case key_type::rsa_4096: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{4096}); break;
  }
  if (key == nullptr) throw error::from_openssl("EVP_PKEY_Q_keygen", "generating a " + std::string(to_string(type)) + " key");
  return evp_pkey_ptr{key};
}

// Maps a loaded key back to a key_type; keys tlsfix cannot issue with are refused by name.
key_type classify(EVP_PKEY* key, std::string_view what) {
  if (EVP_PKEY_is_a(key, "ED25519")) return key_type::ed25519;
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) == 1) {
      std::string_view g{group, length};
      if (g == "prime256v1" || g == "P-256") return key_type::ecdsa_p256;
      if (g == "secp384r1" || g == "P-384") return key_type::ecdsa_p384;
      throw error(std::string(what), "EC curve '" + std::string(g) + "' is not supported (use P-256 or P-384)");
    }
  }
  if (EVP_PKEY_is_a(key, "RSA")) {
    switch (EVP_PKEY_get_bits(key)) {
      case 2048: return key_type::rsa_2048;
      case 3072: return key_type::rsa_3072;
      case 4096: return key_type::rsa_4096;
      default:
        throw error(std::string(what), "RSA key size " + std::to_string(EVP_PKEY_get_bits(key)) +
                    " is not supported (use 2048, 3072 or 4096)");
    }
  }
  throw error(std::string(what), "key algorithm '" + std::string(EVP_PKEY_get0_type_name(key)) +
              "' is not supported");
}

}  // namespace

std::string_view to_string(key_type type) noexcept {
  for (const auto& entry : key_type_names)
    if (entry.type == type) return entry.name;
  return "unknown";
}

key_type parse_key_type(std::string_view name) {
  std::string accepted;
  for (const auto& entry : key_type_names) {
    if (entry.name == name) return entry.type;
    accepted += (accepted.empty() ? "" : ", ") + std::string(entry.name);
  }
  throw error("key type '" + std::string(name) + "' is not supported (use one of: " + accepted + ")");
}

private_key private_key::generate(key_type type) {
  return private_key(std::shared_ptr<EVP_PKEY>(generate_native(type)), type);
}

private_key private_key::from_native(EVP_PKEY* key) {
  auto owner = up_ref(key);
  key_type type = classify(owner.get(), "private key");
  return private_key(std::shared_ptr<EVP_PKEY>(std::move(owner)), type);
}

private_key private_key::from_pem(std::string_view pem, std::string_view passphrase, std::string_view what) {
  // The decoder API (not PEM_read_bio_PrivateKey) so that PKCS#8, encrypted PKCS#8 and
  // traditional keys all work through one path; a passphrase is only ever used when given.
  EVP_PKEY* raw = nullptr;
  decoder_ctx_ptr ctx{OSSL_DECODER_CTX_new_for_pkey(&raw, "PEM", nullptr, nullptr, EVP_PKEY_KEYPAIR, nullptr, nullptr)};
  if (!ctx) throw error::from_openssl("OSSL_DECODER_CTX_new_for_pkey", std::string(what) + ": cannot set up a key decoder");
  if (!passphrase.empty() &&
      OSSL_DECODER_CTX_set_passphrase(ctx.get(), reinterpret_cast<const unsigned char*>(passphrase.data()),
                                      passphrase.size()) != 1)
    throw error::from_openssl("OSSL_DECODER_CTX_set_passphrase", std::string(what) + ": cannot use the passphrase");
  const auto* data = reinterpret_cast<const unsigned char*>(pem.data());
  size_t length = pem.size();
  if (pem.empty() || OSSL_DECODER_from_data(ctx.get(), &data, &length) != 1 || raw == nullptr) {
    bool encrypted = pem.find("ENCRYPTED") != std::string_view::npos;
    std::string reason = pem.find("PRIVATE KEY-----") == std::string_view::npos
                             ? "is not a PEM private key"
                         : encrypted && passphrase.empty() ? "is encrypted and no passphrase was given"
                         : encrypted                       ? "cannot be decrypted (wrong passphrase?) or is damaged"
                                                           : "is damaged and cannot be decoded";
    throw error(std::string(what), reason, "OSSL_DECODER_from_data", detail::drain_openssl_errors());
  }
  evp_pkey_ptr owner{raw};
  key_type type = classify(owner.get(), what);
  return private_key(std::shared_ptr<EVP_PKEY>(std::move(owner)), type);
}

std::string private_key::to_pem(std::string_view passphrase) const {
  auto bio = detail::memory_bio();
  int ok = 0;
  if (passphrase.empty()) {
    ok = PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    std::string pass{passphrase};
    ok = PEM_write_bio_PKCS8PrivateKey(bio.get(), key_.get(), EVP_aes_256_cbc(), pass.data(),
                                       static_cast<int>(pass.size()), nullptr, nullptr);
  }
  if (ok != 1) throw error::from_openssl("PEM_write_bio_PrivateKey", "writing a private key as PEM");
  return detail::bio_to_string(bio.get());
}

std::string private_key::public_der() const {
  return detail::to_der(key_.get(), i2d_PUBKEY, "i2d_PUBKEY");
}

std::ostream& operator<<(std::ostream& out, key_type type) { return out << to_string(type); }

std::ostream& operator<<(std::ostream& out, const private_key& key) { return out << "private_key " << key.type(); }

}  // namespace tlsfix::ca
