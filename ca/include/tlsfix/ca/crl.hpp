// A certificate revocation list signed by a tlsfix CA.
//
//   ca.revoke(leaf.cert());
//   tlsfix::ca::crl list = ca.crl();
//   auto result = tlsfix::ca::verify(leaf.cert(), {.roots = {ca.root()}, .name = "service.test.local",
//                                                  .crls = {list}});
//   assert(result.error == X509_V_ERR_CERT_REVOKED);
#pragma once

#include <openssl/types.h>

#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tlsfix/ca/handles.hpp"

namespace tlsfix::ca {

class crl {
 public:
  static crl from_pem(std::string_view pem, std::string_view what = "CRL");
  static crl from_der(std::string_view der, std::string_view what = "CRL");
  // Takes a new reference to an existing CRL: the caller keeps its own.
  static crl from_native(X509_CRL* list);

  std::string to_pem() const;
  std::string to_der() const;
  // Serials as `certificate::serial_hex()` prints them.
  std::vector<std::string> revoked_serials() const;
  X509_CRL* native() const noexcept { return crl_.get(); }

 private:
  explicit crl(x509_crl_ptr owned) : crl_(std::move(owned)) {}
  std::shared_ptr<X509_CRL> crl_;
};

// The issuer and the serials it revokes.
std::ostream& operator<<(std::ostream& out, const crl& list);

}  // namespace tlsfix::ca
