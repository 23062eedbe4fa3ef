#include "tlsfix/ca/certificate.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ostream>

#include "detail/bio.hpp"
#include "detail/time.hpp"
#include "detail/openssl_errors.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::ca {

namespace {

std::string name_to_string(const X509_NAME* name) {
  auto bio = detail::memory_bio();
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0)
    throw error::from_openssl("X509_NAME_print_ex", "printing a certificate name");
  return detail::bio_to_string(bio.get());
}

std::string general_name_to_string(const GENERAL_NAME* name) {
  int type = 0;
  auto* value = static_cast<ASN1_STRING*>(GENERAL_NAME_get0_value(name, &type));
  const auto* data = ASN1_STRING_get0_data(value);
  auto length = static_cast<size_t>(ASN1_STRING_length(value));
  switch (type) {
    case GEN_DNS: return "DNS:" + std::string(reinterpret_cast<const char*>(data), length);
    case GEN_URI: return "URI:" + std::string(reinterpret_cast<const char*>(data), length);
    case GEN_EMAIL: return "email:" + std::string(reinterpret_cast<const char*>(data), length);
    case GEN_IPADD: {
      char text[INET6_ADDRSTRLEN] = {};
      int family = length == 4 ? AF_INET : length == 16 ? AF_INET6 : 0;
      if (family == 0 || inet_ntop(family, data, text, sizeof text) == nullptr) return "IP:<malformed>";
      return std::string("IP:") + text;
    }
    default: return "othername:<unsupported>";
  }
}

}  // namespace

// OpenSSL 3.0 fills an X509's extension cache (flags, key identifiers, SHA-1 hash) on first use
// and afterwards reads it behind an atomic flag. libcrypto is not built with TSan, so TSan cannot
// see that flag: threads sharing a fresh root (one test_client on several threads) are reported as
// racing on its key identifier, and a real race in tlsfix would hide among those reports. Filling
// the cache here, before a certificate can be shared, makes every later use a plain read.
certificate::certificate(std::shared_ptr<X509> cert) : cert_(std::move(cert)) {
  X509_get_extension_flags(cert_.get());
}

certificate certificate::from_pem(std::string_view pem, std::string_view what) {
  auto certs = chain_from_pem(pem, what);
  if (certs.size() != 1)
    throw error(std::string(what), "expected exactly one certificate, found " + std::to_string(certs.size()));
  return certs.front();
}

std::vector<certificate> certificate::chain_from_pem(std::string_view pem, std::string_view what) {
  auto bio = detail::read_bio(pem);
  // The end of the text is judged by the error queue below, so errors left by earlier calls on this
  // thread must not be mistaken for damage here.
  ERR_clear_error();
  std::vector<certificate> certs;
  while (true) {
    x509_ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
    if (!cert) break;
    certs.push_back(certificate(std::shared_ptr<X509>(std::move(cert))));
  }
  // PEM_read stops with "no start line" at the end of the text; anything else means damage.
  auto queue = detail::drain_openssl_errors();
  bool clean_end = queue.size() == 1 && queue.front().find("no start line") != std::string::npos;
  if (!clean_end)
    throw error(std::string(what), "certificate " + std::to_string(certs.size() + 1) + " is damaged",
                "PEM_read_bio_X509", std::move(queue));
  if (certs.empty())
    throw error(std::string(what), "no PEM certificate found", "PEM_read_bio_X509", std::move(queue));
  return certs;
}

certificate certificate::from_der(std::string_view der, std::string_view what) {
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  x509_ptr cert{d2i_X509(nullptr, &cursor, static_cast<long>(der.size()))};
  if (!cert) throw error::from_openssl("d2i_X509", std::string(what) + ": not a DER certificate");
  if (cursor != reinterpret_cast<const unsigned char*>(der.data() + der.size()))
    throw error(std::string(what), "trailing bytes after the DER certificate");
  return certificate(std::shared_ptr<X509>(std::move(cert)));
}

certificate certificate::from_native(X509* cert) { return certificate(std::shared_ptr<X509>(up_ref(cert))); }

std::string certificate::to_pem() const {
  auto bio = detail::memory_bio();
  if (PEM_write_bio_X509(bio.get(), cert_.get()) != 1) throw error::from_openssl("PEM_write_bio_X509", "writing PEM");
  return detail::bio_to_string(bio.get());
}

std::string certificate::to_der() const { return detail::to_der(cert_.get(), i2d_X509, "i2d_X509"); }

std::string certificate::subject() const { return name_to_string(X509_get_subject_name(cert_.get())); }
std::string certificate::issuer() const { return name_to_string(X509_get_issuer_name(cert_.get())); }

std::string certificate::serial_hex() const {
  return detail::serial_hex(X509_get0_serialNumber(cert_.get()));
}

clock::time_point certificate::not_before() const { return detail::to_time_point(X509_get0_notBefore(cert_.get())); }
clock::time_point certificate::not_after() const { return detail::to_time_point(X509_get0_notAfter(cert_.get())); }

std::vector<std::string> certificate::subject_alt_names() const {
  std::vector<std::string> out;
  general_names_ptr names{
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert_.get(), NID_subject_alt_name, nullptr, nullptr))};
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i)
    out.push_back(general_name_to_string(sk_GENERAL_NAME_value(names.get(), i)));
  return out;
}

bool certificate::is_ca() const { return X509_check_ca(cert_.get()) != 0; }

std::optional<certificate::name_constraints_view> certificate::name_constraints() const {
  int critical = 0;
  name_constraints_ptr nc{static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(cert_.get(), NID_name_constraints, &critical, nullptr))};
  if (!nc) return std::nullopt;
  name_constraints_view out{.critical = critical == 1};
  for (int i = 0; i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees); ++i) {
    const GENERAL_NAME* base = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i)->base;
    if (base->type != GEN_IPADD) {
      out.permitted.push_back(general_name_to_string(base));
      continue;
    }
    // An IP constraint is the address followed by its mask (RFC 5280 4.2.1.10): 8 or 32 bytes.
    const unsigned char* data = ASN1_STRING_get0_data(base->d.iPAddress);
    auto length = static_cast<std::size_t>(ASN1_STRING_length(base->d.iPAddress));
    char text[INET6_ADDRSTRLEN] = {};
    int family = length == 8 ? AF_INET : length == 32 ? AF_INET6 : 0;
    if (family == 0 || inet_ntop(family, data, text, sizeof text) == nullptr) {
      out.permitted.push_back("IP:<malformed>");
      continue;
    }
    int prefix = 0;
    for (std::size_t b = length / 2; b < length; ++b) prefix += __builtin_popcount(data[b]);
    out.permitted.push_back(std::string("IP:") + text + "/" + std::to_string(prefix));
  }
  return out;
}

bool certificate::is_self_signed() const { return X509_self_signed(cert_.get(), 0) == 1; }

std::string certificate::sha256_fingerprint() const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert_.get(), EVP_sha256(), digest, &length) != 1)
    throw error::from_openssl("X509_digest", "computing a fingerprint");
  return detail::hex(digest, length, false, ":");
}

bool operator==(const certificate& a, const certificate& b) { return X509_cmp(a.native(), b.native()) == 0; }

std::string to_pem(const std::vector<certificate>& certs) {
  std::string out;
  for (const auto& cert : certs) out += cert.to_pem();
  return out;
}

std::ostream& operator<<(std::ostream& out, const certificate& cert) {
  out << "certificate '" << cert.subject() << "' issued by '" << cert.issuer() << "', serial " << cert.serial_hex()
      << ", valid " << to_iso8601(cert.not_before()) << " to " << to_iso8601(cert.not_after());
  auto names = cert.subject_alt_names();
  if (names.empty()) return out << ", no subjectAltName";
  out << ", names";
  for (const auto& n : names) out << ' ' << n;
  return out;
}

}  // namespace tlsfix::ca
