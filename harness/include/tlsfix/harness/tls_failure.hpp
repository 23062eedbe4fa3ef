// Why a TLS connection did not come up: one vocabulary for both ends of a handshake.
//
// tls_server's handshake records and test_client's results carry the same `tls_failure`, so a
// test asserts the same facts on either side: the kind of failure, the X509_V_ERR_* code of a
// certificate that failed verification, and the fatal alerts sent and received. The words come
// from those facts (message()), never the other way round, so no test needs to match OpenSSL's
// wording. A request that cannot be verified throws `connection_error`, which carries one.
//
//   auto result = client.handshake();                          // a server with an expired leaf
//   EXPECT_EQ(result.failure.kind, tlsfix::harness::failure_kind::certificate);
//   EXPECT_EQ(result.failure.verify_error, X509_V_ERR_CERT_HAS_EXPIRED);
//   auto record = server.handshakes().back();                  // the server saw the client's alert
//   EXPECT_EQ(record.failure.kind, tlsfix::harness::failure_kind::alert);
//   EXPECT_EQ(record.failure.alert_received, SSL_AD_CERTIFICATE_EXPIRED);   // <openssl/ssl.h>
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include "tlsfix/error.hpp"

namespace tlsfix::harness {

enum class failure_kind {
  none,         // the connection is up and the peer verified
  connect,      // no TCP connection: refused, unreachable (clients)
  timeout,      // a deadline passed before the handshake (or the request) finished
  closed,       // the peer went away before the handshake finished, or in the middle of a request
  plaintext,    // the peer's first bytes were not TLS (servers)
  certificate,  // this side refused the peer's certificate; verify_error says why
  alert,        // the peer ended the handshake with a fatal alert; alert_received says which
  protocol,     // the two sides did not agree (version, cipher, ALPN, server name); see reason
  refused,      // the server was at server_options.max_connections (servers)
  // refused stays last: handshake_totals::kind_count counts the kinds up to it.
};

struct tls_failure {
  failure_kind kind = failure_kind::none;
  int verify_error = 0;     // X509_V_ERR_* when kind is certificate, else 0
  int alert_received = -1;  // the fatal alert the peer sent (an SSL_AD_* value), or -1
  int alert_sent = -1;      // the fatal alert this side sent, or -1
  // Detail in the words of the layer that failed: OpenSSL's reason ("no shared cipher"), the
  // system's ("Connection refused"), or tlsfix's ("unrecognized name 'a.test.local'").
  std::string reason;

  bool ok() const noexcept { return kind == failure_kind::none; }
  // "certificate rejected: certificate has expired", "peer sent alert: unknown ca", ...
  std::string message() const;
};

// "none", "connect", "timeout", ...
std::string_view to_string(failure_kind kind) noexcept;
// A TLS alert by its name in the RFCs' words ("unknown ca", "certificate required"), including
// those that OpenSSL 3.0 has no text for.
std::string alert_name(int alert);

std::ostream& operator<<(std::ostream& out, failure_kind kind);
std::ostream& operator<<(std::ostream& out, const tls_failure& failure);

// Thrown by test_client's requests when there is no verified connection to send them on, or the
// connection fails during the exchange. `failure()` says why; what() is "test_client:
// HOST:PORT: <failure message>".
class connection_error : public tlsfix::error {
 public:
  connection_error(std::string where, tls_failure failure);
  const tls_failure& failure() const noexcept { return failure_; }

 private:
  tls_failure failure_;
};

}  // namespace tlsfix::harness
