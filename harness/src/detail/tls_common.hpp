// Private: TLS settings and error decoding shared by tls_server and test_client.
#pragma once

#include <openssl/types.h>

#include <boost/system/error_code.hpp>

#include <memory>
#include <string>
#include <vector>

#include "tlsfix/ca/handles.hpp"
#include "tlsfix/ca/issued_cert.hpp"
#include "tlsfix/harness/tls_failure.hpp"
#include "tlsfix/harness/tls_version.hpp"

namespace tlsfix::harness::detail {

// The owning handle for libssl's SSL, the counterpart of <tlsfix/ca/handles.hpp> (which covers
// libcrypto's types, and so cannot name libssl's); tls_common.cpp holds its one SSL_free.
struct ssl_deleter {
  void operator()(SSL* ssl) const noexcept;
};
using ssl_ptr = std::unique_ptr<SSL, ssl_deleter>;

// Version range, no renegotiation, no compression, no 0-RTT, no session tickets or cache:
// every handshake is a full one, verified from scratch, and no two contexts share state.
void harden(SSL_CTX* ctx, tls_version_range versions);

// ALPN protocol list in wire format (length-prefixed).
std::vector<unsigned char> alpn_wire(const std::vector<std::string>& protocols);

// The first fatal alert each way on one connection, or -1.
struct alerts {
  int received = -1;
  int sent = -1;
};
// Records the fatal alerts on `ssl` into `*seen` (which must outlive `ssl`'s use). More reliable
// than the error code: OpenSSL reports an alert read during shutdown as success.
void watch_alerts(SSL* ssl, alerts* seen);

// OpenSSL's reason text for a TLS error ("tlsv1 alert unknown ca"), else the error's message.
std::string reason(const boost::system::error_code& ec);

// What a handshake on `ssl` that ended with `ec` amounts to, the same way on both sides: a peer's
// alert first, then this side's refusal of the peer's certificate, then the connection going away,
// then any other TLS error. `ec` empty gives kind none; the caller adds what only it can know
// (timeouts, plaintext, a missing peer certificate).
tls_failure classify(SSL* ssl, const boost::system::error_code& ec, const alerts& seen);
// An error on an established connection (a request's read or write).
tls_failure classify_io(const boost::system::error_code& ec, const alerts& seen);

// The chain above the leaf (intermediates) as an owning stack.
ca::x509_stack_ptr intermediates(const ca::issued_cert& identity);

// What a connection negotiated, for handshake records and results alike.
struct negotiated {
  std::string version;  // "TLSv1.3"
  std::string cipher;
  std::string alpn;
};
negotiated negotiated_on(SSL* ssl);


}  // namespace tlsfix::harness::detail
