// A TLS client that always verifies: chain, name, purpose and time, against the given roots only.
//
// There is no switch to turn any check off. The client dials names without DNS: `resolve` maps a
// name such as service.test.local to loopback endpoints inside the client. Expected failures are
// values: `handshake()` returns a `handshake_result` carrying the TLS error, the X509 verify error
// and the alert the peer sent, so a test can assert *why* a connection failed.
//
//   tlsfix::harness::test_client client{{.host = "service.test.local", .port = server.port(),
//                                        .trust = ca.root()}};
//   auto result = client.handshake();
//   ASSERT_TRUE(result.ok()) << result.message();
//   auto response = client.get("/health");         // HTTP/1.1 over the verified connection
//   EXPECT_EQ(response.result_int(), 200);
//
// @par Thread safety
// Distinct calls may run concurrently from several threads; each opens its own connection.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <iosfwd>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tlsfix/ca/cert_request.hpp"
#include "tlsfix/ca/certificate.hpp"
#include "tlsfix/ca/issued_cert.hpp"
#include "tlsfix/harness/tls_failure.hpp"
#include "tlsfix/harness/tls_version.hpp"
#include "tlsfix/harness/trust.hpp"

namespace tlsfix::harness {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

struct client_options {
  // The name to dial and verify: a DNS name (sent as SNI) or an IP address.
  std::string host;
  std::uint16_t port = 0;
  harness::trust trust;
  // Where names go; a name not listed resolves to 127.0.0.1. Entries are IP literals on loopback.
  std::map<std::string, std::vector<std::string>> resolve;
  // For mTLS: the client's certificate, key and chain.
  std::optional<ca::issued_cert> identity;
  std::vector<std::string> alpn;
  tls_version_range versions;
  std::chrono::milliseconds timeout = std::chrono::seconds(10);
  // Verify the server's certificate as of this time instead of now, so that a test sees it expire
  // without waiting (X509_VERIFY_PARAM_set_time).
  std::optional<ca::clock::time_point> verify_time;
};

struct handshake_result {
  // Kind none when the peer is verified; otherwise why not: the peer's certificate (kind
  // certificate, with its X509_V_ERR_* code), its alert (e.g. 112 unrecognized_name, 120
  // no_application_protocol), a timeout, a refused connection.
  tls_failure failure;
  std::vector<ca::certificate> peer_chain;  // as the peer sent it, leaf first
  std::string version;                      // "TLSv1.3"
  std::string cipher;                       // "TLS_AES_256_GCM_SHA384"
  std::string alpn;                         // negotiated protocol, or empty

  bool ok() const noexcept { return failure.ok(); }
  // A sentence for test failures: "verified TLSv1.3 ..." or the failure's message.
  std::string message() const;
};

class test_client {
 public:
  explicit test_client(client_options options);

  // Connects, handshakes, verifies and closes (with close_notify).
  handshake_result handshake() const;
  // One request on a fresh verified connection. Throws `connection_error` (with the
  // tls_failure) when the connection cannot be verified, and when it fails during the exchange: a
  // request never goes to an unverified peer, and every failure comes as that one type.
  http_response request(http_request req) const;
  http_response get(const std::string& target) const;
  http_response post(const std::string& target, std::string body, const std::string& content_type = "text/plain") const;
  // Several requests on one keep-alive connection, in order.
  std::vector<http_response> request_all(std::vector<http_request> requests) const;
  // Sends `line` plus '\n' and reads one line back (for line-protocol servers).
  std::string exchange_line(const std::string& line) const;

  const client_options& options() const noexcept { return options_; }

 private:
  client_options options_;
  // Built once: an SSL_CTX costs more than the handshake's own client-side work. Sharing it
  // cannot resume sessions, because tickets and the session cache are off.
  std::shared_ptr<boost::asio::ssl::context> context_;
};

// message(), with the peer's leaf when it sent one.
std::ostream& operator<<(std::ostream& out, const handshake_result& result);

}  // namespace tlsfix::harness
