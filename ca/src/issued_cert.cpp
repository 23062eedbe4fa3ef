#include "tlsfix/ca/issued_cert.hpp"

#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include <ostream>

#include "detail/bio.hpp"
#include "detail/openssl_errors.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/ca/files.hpp"

namespace tlsfix::ca {

issued_cert issued_cert::from_pem(std::string_view chain_pem, std::string_view key_pem, std::string_view root_pem,
                                  std::string_view passphrase) {
  auto chain = certificate::chain_from_pem(chain_pem, "certificate chain");
  auto key = private_key::from_pem(key_pem, passphrase, "private key");
  auto root = certificate::from_pem(root_pem, "root certificate");
  if (X509_check_private_key(chain.front().native(), key.native()) != 1) {
    detail::drain_openssl_errors();
    throw error("private key", "does not belong to the certificate '" + chain.front().subject() + "'");
  }
  return issued_cert(std::move(chain), std::move(key), std::move(root));
}

std::string issued_cert::pkcs12(std::string_view password, std::string_view friendly_name) const {
  if (password.empty()) throw error("pkcs12", "the password is empty; a PKCS#12 file holds the private key");
  x509_stack_ptr intermediates{sk_X509_new_null()};
  if (!intermediates) throw error::from_openssl("sk_X509_new_null", "building PKCS#12");
  for (size_t i = 1; i < chain_.size(); ++i)
    if (X509_add_cert(intermediates.get(), chain_[i].native(), X509_ADD_FLAG_UP_REF) != 1)
      throw error::from_openssl("X509_add_cert", "building PKCS#12");
  std::string pass{password};
  std::string name{friendly_name};
  // AES-256-CBC with PBKDF2 for key and certificates; 0 iterations means OpenSSL's default (2048);
  // the MAC is HMAC-SHA-256. `openssl pkcs12` from 3.0 reads it without -legacy.
  pkcs12_ptr p12{PKCS12_create_ex(pass.c_str(), name.c_str(), key_.native(), cert().native(), intermediates.get(),
                                  NID_aes_256_cbc, NID_aes_256_cbc, 0, 0, 0, nullptr, nullptr)};
  if (!p12) throw error::from_openssl("PKCS12_create_ex", "building PKCS#12");
  return detail::to_der(p12.get(), i2d_PKCS12, "i2d_PKCS12");
}

void issued_cert::write_to(const std::filesystem::path& dir) const {
  create_private_directory(dir);
  write_files({
      {dir / "cert.pem", cert_pem(), file_mode::public_read},
      {dir / "key.pem", key_pem(), file_mode::secret},
      {dir / "fullchain.pem", fullchain_pem(), file_mode::public_read},
      {dir / "bundle.pem", bundle_pem(), file_mode::secret},
      {dir / "ca.crt", root_.to_pem(), file_mode::public_read},
  });
}

std::ostream& operator<<(std::ostream& out, const issued_cert& cert) {
  return out << "issued_cert: " << cert.cert() << "; chain of " << cert.chain().size() << ", up to root '"
             << cert.root().subject() << "'";
}

}  // namespace tlsfix::ca
