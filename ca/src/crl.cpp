#include "tlsfix/ca/crl.hpp"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ostream>

#include "detail/bio.hpp"
#include "detail/crl_builder.hpp"
#include "detail/time.hpp"
#include "tlsfix/ca/internal/x509_builder.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::ca {

crl crl::from_pem(std::string_view pem, std::string_view what) {
  auto bio = detail::read_bio(pem);
  x509_crl_ptr list{PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)};
  if (!list) throw error::from_openssl("PEM_read_bio_X509_CRL", "not a PEM CRL", std::string(what));
  return crl(std::move(list));
}

crl crl::from_der(std::string_view der, std::string_view what) {
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  x509_crl_ptr list{d2i_X509_CRL(nullptr, &cursor, static_cast<long>(der.size()))};
  if (!list) throw error::from_openssl("d2i_X509_CRL", "not a DER CRL", std::string(what));
  return crl(std::move(list));
}

crl crl::from_native(X509_CRL* list) { return crl(up_ref(list)); }

std::string crl::to_pem() const {
  auto bio = detail::memory_bio();
  if (PEM_write_bio_X509_CRL(bio.get(), crl_.get()) != 1) throw error::from_openssl("PEM_write_bio_X509_CRL", "writing a CRL");
  return detail::bio_to_string(bio.get());
}

std::string crl::to_der() const { return detail::to_der(crl_.get(), i2d_X509_CRL, "i2d_X509_CRL"); }

std::vector<std::string> crl::revoked_serials() const {
  std::vector<std::string> out;
  STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(crl_.get());
  for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
    out.push_back(detail::serial_hex(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(entries, i))));
  }
  return out;
}

namespace detail {

ca::crl make_crl(const certificate& issuer, const private_key& issuer_key,
                 const std::vector<std::pair<std::string, clock::time_point>>& revoked, long number) {
  x509_crl_ptr list{X509_CRL_new()};
  if (!list) throw error::from_openssl("X509_CRL_new", "building a CRL");
  asn1_time_ptr last{ASN1_TIME_new()}, next{ASN1_TIME_new()};
  if (!last || !next) throw error::from_openssl("ASN1_TIME_new", "building a CRL");
  auto now = clock::now();
  set_time(last.get(), now - std::chrono::hours(1));
  set_time(next.get(), now + std::chrono::hours(24));
  if (X509_CRL_set_version(list.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(list.get(), X509_get_subject_name(issuer.native())) != 1 ||
      X509_CRL_set1_lastUpdate(list.get(), last.get()) != 1 || X509_CRL_set1_nextUpdate(list.get(), next.get()) != 1)
    throw error::from_openssl("X509_CRL_set_*", "building a CRL");

  for (const auto& [serial_hex, when] : revoked) {
    x509_revoked_ptr entry{X509_REVOKED_new()};
    BIGNUM* raw = nullptr;
    if (!entry || BN_hex2bn(&raw, serial_hex.c_str()) == 0) throw error::from_openssl("BN_hex2bn", "building a CRL entry");
    bignum_ptr number_bn{raw};
    asn1_integer_ptr serial{BN_to_ASN1_INTEGER(number_bn.get(), nullptr)};
    asn1_time_ptr date{ASN1_TIME_new()};
    if (!serial || !date) throw error::from_openssl("BN_to_ASN1_INTEGER", "building a CRL entry");
    set_time(date.get(), when);
    if (X509_REVOKED_set_serialNumber(entry.get(), serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(entry.get(), date.get()) != 1 || X509_CRL_add0_revoked(list.get(), entry.get()) != 1)
      throw error::from_openssl("X509_CRL_add0_revoked", "building a CRL entry");
    entry.release();  // add0: the CRL owns the entry now
  }

  asn1_integer_ptr crl_number{ASN1_INTEGER_new()};
  if (!crl_number || ASN1_INTEGER_set(crl_number.get(), number) != 1 ||
      X509_CRL_add1_ext_i2d(list.get(), NID_crl_number, crl_number.get(), 0, X509V3_ADD_DEFAULT) != 1)
    throw error::from_openssl("X509_CRL_add1_ext_i2d", "adding the CRL number");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer.native(), nullptr, nullptr, list.get(), 0);
  x509_extension_ptr aki{X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always")};
  if (!aki || X509_CRL_add_ext(list.get(), aki.get(), -1) != 1)
    throw error::from_openssl("X509V3_EXT_nconf_nid", "adding the CRL authority key identifier");

  if (X509_CRL_sort(list.get()) != 1 || X509_CRL_sign(list.get(), issuer_key.native(), digest_for(issuer_key.type())) <= 0)
    throw error::from_openssl("X509_CRL_sign", "signing a CRL");
  return ca::crl::from_native(list.get());
}

}  // namespace detail
std::ostream& operator<<(std::ostream& out, const crl& list) {
  auto bio = detail::memory_bio();
  X509_NAME_print_ex(bio.get(), X509_CRL_get_issuer(list.native()), 0, XN_FLAG_RFC2253);
  out << "crl by '" << detail::bio_to_string(bio.get()) << "'";
  auto serials = list.revoked_serials();
  if (serials.empty()) return out << ", revoking nothing";
  out << ", revoking";
  for (const auto& s : serials) out << ' ' << s;
  return out;
}

}  // namespace tlsfix::ca
