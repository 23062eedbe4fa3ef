// The only file that frees OpenSSL objects: one deleter per type.
#include "tlsfix/ca/handles.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tlsfix/error.hpp"

namespace tlsfix::ca {

void bio_deleter::operator()(BIO* p) const noexcept { BIO_free_all(p); }
void bignum_deleter::operator()(BIGNUM* p) const noexcept { BN_free(p); }
void asn1_integer_deleter::operator()(ASN1_INTEGER* p) const noexcept { ASN1_INTEGER_free(p); }
void asn1_octet_string_deleter::operator()(ASN1_OCTET_STRING* p) const noexcept { ASN1_OCTET_STRING_free(p); }
void asn1_time_deleter::operator()(ASN1_TIME* p) const noexcept { ASN1_TIME_free(p); }
void evp_pkey_deleter::operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
void evp_pkey_ctx_deleter::operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
void evp_md_ctx_deleter::operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
void x509_deleter::operator()(X509* p) const noexcept { X509_free(p); }
void x509_crl_deleter::operator()(X509_CRL* p) const noexcept { X509_CRL_free(p); }
void x509_revoked_deleter::operator()(X509_REVOKED* p) const noexcept { X509_REVOKED_free(p); }
void x509_name_deleter::operator()(X509_NAME* p) const noexcept { X509_NAME_free(p); }
void x509_extension_deleter::operator()(X509_EXTENSION* p) const noexcept { X509_EXTENSION_free(p); }
void x509_store_deleter::operator()(X509_STORE* p) const noexcept { X509_STORE_free(p); }
void x509_store_ctx_deleter::operator()(X509_STORE_CTX* p) const noexcept { X509_STORE_CTX_free(p); }
void x509_verify_param_deleter::operator()(X509_VERIFY_PARAM* p) const noexcept { X509_VERIFY_PARAM_free(p); }
void general_name_deleter::operator()(GENERAL_NAME* p) const noexcept { GENERAL_NAME_free(p); }
void general_subtree_deleter::operator()(GENERAL_SUBTREE* p) const noexcept { GENERAL_SUBTREE_free(p); }
void general_names_deleter::operator()(GENERAL_NAMES* p) const noexcept { GENERAL_NAMES_free(p); }
void name_constraints_deleter::operator()(NAME_CONSTRAINTS* p) const noexcept { NAME_CONSTRAINTS_free(p); }
void pkcs12_deleter::operator()(PKCS12* p) const noexcept { PKCS12_free(p); }
void pkcs8_priv_key_info_deleter::operator()(PKCS8_PRIV_KEY_INFO* p) const noexcept { PKCS8_PRIV_KEY_INFO_free(p); }
void pbe_param_deleter::operator()(PBEPARAM* p) const noexcept { PBEPARAM_free(p); }
void pbe2_param_deleter::operator()(PBE2PARAM* p) const noexcept { PBE2PARAM_free(p); }
void pbkdf2_param_deleter::operator()(PBKDF2PARAM* p) const noexcept { PBKDF2PARAM_free(p); }
void decoder_ctx_deleter::operator()(OSSL_DECODER_CTX* p) const noexcept { OSSL_DECODER_CTX_free(p); }
void encoder_ctx_deleter::operator()(OSSL_ENCODER_CTX* p) const noexcept { OSSL_ENCODER_CTX_free(p); }
void x509_stack_deleter::operator()(STACK_OF(X509)* p) const noexcept { sk_X509_pop_free(p, X509_free); }
void x509_crl_stack_deleter::operator()(STACK_OF(X509_CRL)* p) const noexcept {
  sk_X509_CRL_pop_free(p, X509_CRL_free);
}
void pkcs7_stack_deleter::operator()(STACK_OF(PKCS7)* p) const noexcept { sk_PKCS7_pop_free(p, PKCS7_free); }
void safebag_stack_deleter::operator()(STACK_OF(PKCS12_SAFEBAG)* p) const noexcept {
  sk_PKCS12_SAFEBAG_pop_free(p, PKCS12_SAFEBAG_free);
}

x509_ptr up_ref(X509* cert) {
  if (cert == nullptr || X509_up_ref(cert) != 1) throw error::from_openssl("X509_up_ref", "sharing a certificate");
  return x509_ptr{cert};
}

evp_pkey_ptr up_ref(EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_up_ref(key) != 1) throw error::from_openssl("EVP_PKEY_up_ref", "sharing a key");
  return evp_pkey_ptr{key};
}

x509_crl_ptr up_ref(X509_CRL* crl) {
  if (crl == nullptr || X509_CRL_up_ref(crl) != 1) throw error::from_openssl("X509_CRL_up_ref", "sharing a CRL");
  return x509_crl_ptr{crl};
}

}  // namespace tlsfix::ca
