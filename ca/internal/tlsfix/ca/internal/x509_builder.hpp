// Internal to tlsfix, never installed: assembling and signing certificates, shared by roots,
// intermediates and leaves, and by the harness's impostors, which need certificates that
// certificate_authority refuses to make (self-signed leaves, SHA-1 signatures, CN without SAN,
// weak keys). Reached through the build-only target tlsfix_ca_internal.
#pragma once

#include <openssl/types.h>

#include <string>
#include <vector>

#include "tlsfix/ca/cert_request.hpp"
#include "tlsfix/ca/handles.hpp"
#include "tlsfix/ca/private_key.hpp"

namespace tlsfix::ca::detail {

// A positive serial of exactly 159 bits, 158 of them random: at least the 64 random bits that
// CA/Browser Forum rules ask for, and below the 2^159 that 20-byte DER INTEGERs allow.
asn1_integer_ptr random_serial();

// "O=tlsfix" plus "CN=<common_name>" when it is not empty.
x509_name_ptr make_name(const std::string& common_name);

// Random lower-case hex of `bytes` bytes, for unique subjects.
std::string random_hex(size_t bytes);

// The digest a key of this type signs with (SHA-384 for P-384, none for Ed25519, else SHA-256).
const EVP_MD* digest_for(key_type type);

class x509_builder {
 public:
  // `issuer` null means self-signed by `subject_key`.
  x509_builder(const X509_NAME* subject, const private_key& subject_key, X509* issuer, const validity& validity);
  // Any key OpenSSL has, including ones tlsfix would never issue for (RSA-1024).
  x509_builder(const X509_NAME* subject, EVP_PKEY* subject_key, X509* issuer, const validity& validity);
  // One extension in OpenSSL's config syntax ("critical,CA:TRUE"); for fixed values only.
  x509_builder& add(int nid, const char* value);
  // An extension already in structure form (subjectAltName, name constraints).
  x509_builder& add_i2d(int nid, void* value, bool critical);
  // Each entry detected as in cert_request.names (no name constraint checks here).
  x509_builder& add_subject_alt_names(const std::vector<std::string>& names);
  x509_ptr sign(const private_key& issuer_key);
  // With any digest, SHA-1 included.
  x509_ptr sign(EVP_PKEY* issuer_key, const EVP_MD* digest);

 private:
  void start(const X509_NAME* subject, X509* issuer, const validity& validity);
  x509_ptr cert_;
  X509* issuer_ = nullptr;
};

}  // namespace tlsfix::ca::detail
