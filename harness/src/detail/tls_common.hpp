// Private: TLS settings and error decoding shared by tls_server and test_client.
#pragma once

#include <openssl/types.h>

#include <boost/system/error_code.hpp>

#include <string>
#include <system_error>
#include <vector>

#include "tlsfix/ca/handles.hpp"
#include "tlsfix/ca/issued_cert.hpp"
#include "tlsfix/harness/tls_version.hpp"

namespace tlsfix::harness::detail {

// Version range, no renegotiation, no compression, no 0-RTT, no session tickets or cache:
// every handshake is a full one, verified from scratch, and no two contexts share state.
void harden(SSL_CTX* ctx, tls_version_range versions);

// ALPN protocol list in wire format (length-prefixed).
std::vector<unsigned char> alpn_wire(const std::vector<std::string>& protocols);

// Stores the first fatal alert the peer sends on `ssl` into `*alert` (which must outlive `ssl`'s
// use). More reliable than the error code: OpenSSL reports an alert read during shutdown as success.
void watch_alerts(SSL* ssl, int* alert);

// An error whose message is the alert's name ("certificate required").
std::error_code alert_error(int alert);

// OpenSSL's reason text for a TLS error ("tlsv1 alert unknown ca"), else the error's message.
std::string reason(const boost::system::error_code& ec);

// The chain above the leaf (intermediates) as an owning stack.
ca::x509_stack_ptr intermediates(const ca::issued_cert& identity);

// What a connection negotiated, for handshake records and results alike.
struct negotiated {
  std::string version;  // "TLSv1.3"
  std::string cipher;
  std::string alpn;
};
negotiated negotiated_on(SSL* ssl);

// The subject of a certificate, for records.
std::string subject_of(X509* cert);

}  // namespace tlsfix::harness::detail
