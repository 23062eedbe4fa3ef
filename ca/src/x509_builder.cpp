#include "tlsfix/ca/internal/x509_builder.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>

#include "detail/bio.hpp"
#include "detail/names.hpp"
#include "detail/time.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::ca::detail {

asn1_integer_ptr random_serial() {
  std::array<unsigned char, 20> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) throw error::from_openssl("RAND_bytes", "making a serial");
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x3f) | 0x40);
  bignum_ptr number{BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr)};
  if (!number) throw error::from_openssl("BN_bin2bn", "making a serial");
  asn1_integer_ptr serial{BN_to_ASN1_INTEGER(number.get(), nullptr)};
  if (!serial) throw error::from_openssl("BN_to_ASN1_INTEGER", "making a serial");
  return serial;
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    throw error::from_openssl("RAND_bytes", "making a random name");
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

x509_name_ptr make_name(const std::string& common_name) {
  x509_name_ptr name{X509_NAME_new()};
  if (!name) throw error::from_openssl("X509_NAME_new", "building a name");
  auto add = [&](const char* field, const std::string& value) {
    if (X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1)
      throw error::from_openssl("X509_NAME_add_entry_by_txt", std::string("setting ") + field + " to '" + value + "'");
  };
  add("O", "tlsfix");
  if (!common_name.empty()) add("CN", common_name);
  return name;
}

const EVP_MD* digest_for(key_type type) {
  switch (type) {
    case key_type::ecdsa_p384: return EVP_sha384();
    case key_type::ed25519: return nullptr;
    default: return EVP_sha256();
  }
}

namespace {

// OpenSSL 3.0's X509_set_pubkey encodes the key through the provider encoders and decodes the
// result straight back: measured here at 370 us for a P-256 key, against 50 us for generating it
// and 5 us for parsing a whole certificate. For EC and Ed25519 keys the SubjectPublicKeyInfo is
// just an algorithm identifier and the encoded point, so it is written directly; RSA keys, whose
// generation dwarfs the encoding, take the general path. See sign() for the other half.
bool set_public_key(X509* cert, const private_key& key) {
  int algorithm = NID_undef, parameter = NID_undef;
  switch (key.type()) {
    case key_type::ecdsa_p256: algorithm = NID_X9_62_id_ecPublicKey, parameter = NID_X9_62_prime256v1; break;
    case key_type::ecdsa_p384: algorithm = NID_X9_62_id_ecPublicKey, parameter = NID_secp384r1; break;
    case key_type::ed25519: algorithm = NID_ED25519; break;
    default: return X509_set_pubkey(cert, key.native()) == 1;
  }
  unsigned char point[160];
  size_t length = 0;
  length = sizeof point;
  bool got = parameter == NID_undef
                 ? EVP_PKEY_get_raw_public_key(key.native(), point, &length) == 1
                 : EVP_PKEY_get_octet_string_param(key.native(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                                   sizeof point, &length) == 1;
  if (!got) return false;
  auto* encoded = static_cast<unsigned char*>(OPENSSL_memdup(point, length));
  if (encoded == nullptr) return false;
  // set0: on success the X509_PUBKEY owns the buffer; the algorithm objects are static.
  bool ok = parameter == NID_undef
                ? X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), OBJ_nid2obj(algorithm), V_ASN1_UNDEF, nullptr,
                                         encoded, static_cast<int>(length)) == 1
                : X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), OBJ_nid2obj(algorithm), V_ASN1_OBJECT,
                                         OBJ_nid2obj(parameter), encoded, static_cast<int>(length)) == 1;
  if (!ok) OPENSSL_free(encoded);  // not taken over on failure
  return ok;
}

}  // namespace

void x509_builder::start(const X509_NAME* subject, X509* issuer, const validity& validity) {
  cert_.reset(X509_new());
  issuer_ = issuer;
  if (!cert_) throw error::from_openssl("X509_new", "building a certificate");
  auto serial = random_serial();
  if (X509_set_version(cert_.get(), X509_VERSION_3) != 1 || X509_set_serialNumber(cert_.get(), serial.get()) != 1 ||
      X509_set_subject_name(cert_.get(), subject) != 1 ||
      X509_set_issuer_name(cert_.get(), issuer ? X509_get_subject_name(issuer) : subject) != 1)
    throw error::from_openssl("X509_set_*", "building a certificate");
  set_time(X509_getm_notBefore(cert_.get()), validity.not_before);
  set_time(X509_getm_notAfter(cert_.get()), validity.not_after);
}

x509_builder::x509_builder(const X509_NAME* subject, const private_key& subject_key, X509* issuer,
                           const validity& validity) {
  start(subject, issuer, validity);
  if (!set_public_key(cert_.get(), subject_key)) throw error::from_openssl("X509_PUBKEY_set0_param", "setting the public key");
}

x509_builder::x509_builder(const X509_NAME* subject, EVP_PKEY* subject_key, X509* issuer, const validity& validity) {
  start(subject, issuer, validity);
  if (X509_set_pubkey(cert_.get(), subject_key) != 1) throw error::from_openssl("X509_set_pubkey", "setting the public key");
}

x509_builder& x509_builder::add(int nid, const char* value) {
  X509V3_CTX ctx;
  // A self-signed certificate is its own issuer, which is what "keyid" needs to find the SKI.
  X509V3_set_ctx(&ctx, issuer_ ? issuer_ : cert_.get(), cert_.get(), nullptr, nullptr, 0);
  x509_extension_ptr ext{X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value)};
  if (!ext || X509_add_ext(cert_.get(), ext.get(), -1) != 1)
    throw error::from_openssl("X509V3_EXT_nconf_nid", std::string("adding ") + OBJ_nid2sn(nid) + " '" + value + "'");
  return *this;
}

x509_builder& x509_builder::add_i2d(int nid, void* value, bool critical) {
  if (X509_add1_ext_i2d(cert_.get(), nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT) != 1)
    throw error::from_openssl("X509_add1_ext_i2d", std::string("adding ") + OBJ_nid2sn(nid));
  return *this;
}

x509_builder& x509_builder::add_subject_alt_names(const std::vector<std::string>& names) {
  general_names_ptr sans{sk_GENERAL_NAME_new_null()};
  if (!sans) throw error::from_openssl("sk_GENERAL_NAME_new_null", "building a subjectAltName");
  for (size_t i = 0; i < names.size(); ++i) {
    auto entry = to_general_name(parse_name(names[i], "names[" + std::to_string(i) + "]"));
    if (sk_GENERAL_NAME_push(sans.get(), entry.get()) == 0)
      throw error::from_openssl("sk_GENERAL_NAME_push", "building a subjectAltName");
    entry.release();  // the stack owns it now
  }
  return add_i2d(NID_subject_alt_name, sans.get(), false);
}

x509_ptr x509_builder::sign(const private_key& issuer_key) {
  return sign(issuer_key.native(), digest_for(issuer_key.type()));
}

x509_ptr x509_builder::sign(EVP_PKEY* issuer_key, const EVP_MD* digest) {
  if (X509_sign(cert_.get(), issuer_key, digest) <= 0)
    throw error::from_openssl("X509_sign", "signing a certificate");
  // A key written with X509_PUBKEY_set0_param has no cached EVP_PKEY, which verification and
  // SSL_use_certificate need; parsing the DER back decodes it the fast (legacy ASN.1) way.
  std::string der = to_der(cert_.get(), i2d_X509, "i2d_X509");
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  x509_ptr parsed{d2i_X509(nullptr, &cursor, static_cast<long>(der.size()))};
  if (!parsed) throw error::from_openssl("d2i_X509", "reading back a signed certificate");
  return parsed;
}

}  // namespace tlsfix::ca::detail
