// Offline strict verification: the same policy the harness clients apply during a handshake.
//
// Trust is only the given roots (never the system store); the name is checked against
// subjectAltName only (never the common name, no partial wildcards); purpose, X.509 strictness,
// security level 2 (>= 112-bit keys, no SHA-1) and time all apply. The result is a value carrying
// the specific X509_V_ERR_* code, so a test can assert *why* a certificate fails.
//
//   auto result = tlsfix::ca::verify(leaf.cert(), {.roots = {ca.root()},
//                                                  .untrusted = leaf.chain(),
//                                                  .name = "service.test.local",
//                                                  .at = clock::now() + std::chrono::days(400)});
//   EXPECT_EQ(result.error, X509_V_ERR_CERT_HAS_EXPIRED) << result.message();
#pragma once

#include <openssl/types.h>
// The X509_V_ERR_* codes that verify_result::error holds: a caller compares against them, so they
// come with this header rather than from a second include the caller has to know about.
#include <openssl/x509_vfy.h>

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tlsfix/ca/cert_request.hpp"
#include "tlsfix/ca/certificate.hpp"
#include "tlsfix/ca/crl.hpp"

namespace tlsfix::ca {

enum class purpose { server, client };

struct verify_options {
  std::vector<certificate> roots;
  // Intermediates the peer would send; the leaf itself may be included.
  std::vector<certificate> untrusted;
  // A DNS name or an IP address; empty only for client certificates (purpose::client).
  std::string name;
  ca::purpose purpose = ca::purpose::server;
  // Verify as of this time instead of now, so expiry tests need no sleeping.
  std::optional<clock::time_point> at;
  // With any CRL given, the leaf's revocation status is checked and a missing CRL is an error.
  std::vector<ca::crl> crls;
};

struct verify_result {
  int error = 0;   // X509_V_OK or the X509_V_ERR_* code
  int depth = -1;  // the chain position the error is about
  std::vector<certificate> chain;  // the verified chain, leaf first, root last (on success)

  bool ok() const noexcept { return error == 0; }
  // OpenSSL's text for `error`, with the depth.
  std::string message() const;
};

verify_result verify(const certificate& leaf, const verify_options& options);

// The checks OpenSSL's verifier leaves out, as an X509 verify callback (SSL_CTX_set_verify,
// X509_STORE_CTX_set_verify_cb): an end-entity certificate must not be a CA (CA:TRUE), else
// X509_V_ERR_INVALID_NON_CA. Used by `verify` and by every harness client and server.
int strict_verify_callback(int preverify_ok, X509_STORE_CTX* ctx);

// "verified: <chain>", or the error's code, text and depth.
std::ostream& operator<<(std::ostream& out, const verify_result& result);
std::ostream& operator<<(std::ostream& out, purpose p);

// Applies the strict policy to a verify param (a store's, or an SSL's via SSL_get0_param): the
// one definition shared by `verify` and the harness. Throws `error` for an empty server name.
void apply_strict_policy(X509_VERIFY_PARAM* param, std::string_view name, ca::purpose purpose);

}  // namespace tlsfix::ca
