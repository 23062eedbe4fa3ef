// Owning handles for the OpenSSL objects tlsfix uses.
//
// Every OpenSSL type gets one `std::unique_ptr` alias with its own deleter; this header and
// src/handles.cpp are the only places that know the matching `*_free` function. Reference-counted
// types also get an `up_ref` that returns a new owner, so "get0" results can be kept safely.
//
//   tlsfix::ca::x509_ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
//   if (!cert) tlsfix::throw tlsfix::error::from_openssl("PEM_read_bio_X509", "reading the root");
//   tlsfix::ca::x509_ptr second = tlsfix::ca::up_ref(cert.get());  // both own the same X509
//
// Only <openssl/types.h> (forward declarations) is included, so this header stays cheap.
#pragma once

#include <openssl/types.h>

#include <memory>

// Types that <openssl/types.h> does not declare are named here by their struct tags (the same
// types), at global scope, so this header need not pull in x509.h, x509v3.h and pkcs12.h.
struct X509_extension_st;
struct PKCS12_st;
struct PBEPARAM_st;
struct PBE2PARAM_st;
struct PBKDF2PARAM_st;
struct GENERAL_NAME_st;
struct GENERAL_SUBTREE_st;
struct stack_st_X509;
struct stack_st_X509_CRL;
struct stack_st_GENERAL_NAME;
struct stack_st_PKCS7;
struct stack_st_PKCS12_SAFEBAG;

namespace tlsfix::ca {

#define TLSFIX_CA_DECLARE_HANDLE(type, alias)     \
  struct alias##_deleter {                        \
    void operator()(type* p) const noexcept;      \
  };                                              \
  using alias##_ptr = std::unique_ptr<type, alias##_deleter>

TLSFIX_CA_DECLARE_HANDLE(BIO, bio);
TLSFIX_CA_DECLARE_HANDLE(BIGNUM, bignum);
TLSFIX_CA_DECLARE_HANDLE(ASN1_INTEGER, asn1_integer);
TLSFIX_CA_DECLARE_HANDLE(ASN1_OCTET_STRING, asn1_octet_string);
TLSFIX_CA_DECLARE_HANDLE(ASN1_TIME, asn1_time);
TLSFIX_CA_DECLARE_HANDLE(EVP_PKEY, evp_pkey);
TLSFIX_CA_DECLARE_HANDLE(EVP_PKEY_CTX, evp_pkey_ctx);
TLSFIX_CA_DECLARE_HANDLE(EVP_MD_CTX, evp_md_ctx);
TLSFIX_CA_DECLARE_HANDLE(X509, x509);
TLSFIX_CA_DECLARE_HANDLE(X509_CRL, x509_crl);
TLSFIX_CA_DECLARE_HANDLE(X509_REVOKED, x509_revoked);
TLSFIX_CA_DECLARE_HANDLE(X509_NAME, x509_name);
TLSFIX_CA_DECLARE_HANDLE(::X509_extension_st, x509_extension);
TLSFIX_CA_DECLARE_HANDLE(X509_STORE, x509_store);
TLSFIX_CA_DECLARE_HANDLE(X509_STORE_CTX, x509_store_ctx);
TLSFIX_CA_DECLARE_HANDLE(X509_VERIFY_PARAM, x509_verify_param);
TLSFIX_CA_DECLARE_HANDLE(::GENERAL_NAME_st, general_name);
TLSFIX_CA_DECLARE_HANDLE(::GENERAL_SUBTREE_st, general_subtree);
TLSFIX_CA_DECLARE_HANDLE(::stack_st_GENERAL_NAME, general_names);
TLSFIX_CA_DECLARE_HANDLE(NAME_CONSTRAINTS, name_constraints);
TLSFIX_CA_DECLARE_HANDLE(::PKCS12_st, pkcs12);
TLSFIX_CA_DECLARE_HANDLE(PKCS8_PRIV_KEY_INFO, pkcs8_priv_key_info);
// The parameters of password-based encryption: PKCS#12 PBE, PBES2 and its PBKDF2.
TLSFIX_CA_DECLARE_HANDLE(::PBEPARAM_st, pbe_param);
TLSFIX_CA_DECLARE_HANDLE(::PBE2PARAM_st, pbe2_param);
TLSFIX_CA_DECLARE_HANDLE(::PBKDF2PARAM_st, pbkdf2_param);
TLSFIX_CA_DECLARE_HANDLE(OSSL_DECODER_CTX, decoder_ctx);
TLSFIX_CA_DECLARE_HANDLE(OSSL_ENCODER_CTX, encoder_ctx);

// A stack of X509 that owns its elements (sk_X509_pop_free).
TLSFIX_CA_DECLARE_HANDLE(::stack_st_X509, x509_stack);
// A stack of X509_CRL that owns its elements.
TLSFIX_CA_DECLARE_HANDLE(::stack_st_X509_CRL, x509_crl_stack);
// A PKCS#12 file's authenticated safes, and the bags of one safe; each owns its elements.
TLSFIX_CA_DECLARE_HANDLE(::stack_st_PKCS7, pkcs7_stack);
TLSFIX_CA_DECLARE_HANDLE(::stack_st_PKCS12_SAFEBAG, safebag_stack);

#undef TLSFIX_CA_DECLARE_HANDLE

// New owners of reference-counted objects (the pointer may come from a get0 call).
x509_ptr up_ref(X509* cert);
evp_pkey_ptr up_ref(EVP_PKEY* key);
x509_crl_ptr up_ref(X509_CRL* crl);

}  // namespace tlsfix::ca
