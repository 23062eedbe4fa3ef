#include "detail/x509_builder.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>

#include "detail/time.hpp"
#include "tlsfix/ca/error.hpp"

namespace tlsfix::ca::detail {

asn1_integer_ptr random_serial() {
  std::array<unsigned char, 20> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) throw_openssl("RAND_bytes", "making a serial");
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x3f) | 0x40);
  bignum_ptr number{BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr)};
  if (!number) throw_openssl("BN_bin2bn", "making a serial");
  asn1_integer_ptr serial{BN_to_ASN1_INTEGER(number.get(), nullptr)};
  if (!serial) throw_openssl("BN_to_ASN1_INTEGER", "making a serial");
  return serial;
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    throw_openssl("RAND_bytes", "making a random name");
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
  if (!name) throw_openssl("X509_NAME_new", "building a name");
  auto add = [&](const char* field, const std::string& value) {
    if (X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1)
      throw_openssl("X509_NAME_add_entry_by_txt", std::string("setting ") + field + " to '" + value + "'");
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

x509_builder::x509_builder(const X509_NAME* subject, const private_key& subject_key, X509* issuer,
                           const validity& validity)
    : cert_(X509_new()), issuer_(issuer) {
  if (!cert_) throw_openssl("X509_new", "building a certificate");
  auto serial = random_serial();
  if (X509_set_version(cert_.get(), X509_VERSION_3) != 1 || X509_set_serialNumber(cert_.get(), serial.get()) != 1 ||
      X509_set_subject_name(cert_.get(), subject) != 1 ||
      X509_set_issuer_name(cert_.get(), issuer ? X509_get_subject_name(issuer) : subject) != 1 ||
      X509_set_pubkey(cert_.get(), subject_key.native()) != 1)
    throw_openssl("X509_set_*", "building a certificate");
  set_time(X509_getm_notBefore(cert_.get()), validity.not_before);
  set_time(X509_getm_notAfter(cert_.get()), validity.not_after);
}

x509_builder& x509_builder::add(int nid, const char* value) {
  X509V3_CTX ctx;
  // A self-signed certificate is its own issuer, which is what "keyid" needs to find the SKI.
  X509V3_set_ctx(&ctx, issuer_ ? issuer_ : cert_.get(), cert_.get(), nullptr, nullptr, 0);
  x509_extension_ptr ext{X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value)};
  if (!ext || X509_add_ext(cert_.get(), ext.get(), -1) != 1)
    throw_openssl("X509V3_EXT_nconf_nid", std::string("adding ") + OBJ_nid2sn(nid) + " '" + value + "'");
  return *this;
}

x509_builder& x509_builder::add_i2d(int nid, void* value, bool critical) {
  if (X509_add1_ext_i2d(cert_.get(), nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT) != 1)
    throw_openssl("X509_add1_ext_i2d", std::string("adding ") + OBJ_nid2sn(nid));
  return *this;
}

x509_ptr x509_builder::sign(const private_key& issuer_key) {
  if (X509_sign(cert_.get(), issuer_key.native(), digest_for(issuer_key.type())) <= 0)
    throw_openssl("X509_sign", "signing a certificate");
  return std::move(cert_);
}

}  // namespace tlsfix::ca::detail
