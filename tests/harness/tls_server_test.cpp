// tls_server and test_client together: every positive path next to the negative controls that
// must fail with their specific error.
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <tlsfix/harness.hpp>

#include "support.hpp"

namespace {

using namespace tlsfix;
using ::testing::HasSubstr;
using ::testing::StartsWith;

harness::http_handler hello() {
  return [](const harness::http_request& req) { return harness::text_response(req, 200, "hello " + std::string(req.target())); };
}

class TlsServerTest : public ::testing::Test {
 protected:
  ca::certificate_authority ca_ = ca::certificate_authority::create();
};

TEST_F(TlsServerTest, ServesHttpToAVerifiedClientByName) {
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), hello());
  EXPECT_NE(server.port(), 0);
  EXPECT_EQ(server.url(), "https://service.test.local:" + std::to_string(server.port()) + "/");
  auto response = server.client().get("/health");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "hello /health");
}

TEST_F(TlsServerTest, KeepsAliveAcrossRequests) {
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), hello());
  std::vector<harness::http_request> requests;
  for (const char* target : {"/a", "/b", "/c"}) requests.emplace_back(boost::beast::http::verb::get, target, 11);
  auto responses = server.client().request_all(std::move(requests));
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_EQ(responses[2].body(), "hello /c");
  ASSERT_TRUE(server.wait_for_handshakes(1));
  EXPECT_EQ(server.handshakes().size(), 1u) << "three requests, one connection";
}

TEST_F(TlsServerTest, ServesALineProtocol) {
  auto server = harness::tls_server::start(ca_.issue("echo.test.local"), harness::echo());
  EXPECT_EQ(server.client().exchange_line("ping"), "ping");
}

TEST_F(TlsServerTest, HandshakeReportsNegotiatedFacts) {
  auto leaf = ca_.issue("service.test.local");
  auto server = harness::tls_server::start(leaf, hello());
  auto result = server.client().handshake();
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(result.version, "TLSv1.3");
  EXPECT_FALSE(result.cipher.empty());
  ASSERT_EQ(result.peer_chain.size(), 1u);
  EXPECT_EQ(result.peer_chain[0], leaf.cert());

  ASSERT_TRUE(server.wait_for_handshakes(1));
  auto record = server.handshakes().front();
  EXPECT_TRUE(record.ok()) << record.failure;
  EXPECT_EQ(record.sni, "service.test.local");
  EXPECT_EQ(record.version, "TLSv1.3");
  EXPECT_EQ(record.served_serial, leaf.cert().serial_hex());
  EXPECT_THAT(record.remote, StartsWith("127.0.0.1:"));
}

// Negative controls: each fails with the specific verification error.
TEST_F(TlsServerTest, ClientRejectsAnotherRoot) {
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), hello());
  auto options = server.client_config();
  options.trust = harness::trust{ca::certificate_authority::create().root()};
  auto result = harness::test_client(options).handshake();
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.failure.kind, harness::failure_kind::certificate) << result.failure;
  EXPECT_EQ(result.failure.verify_error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) << result.message();
  EXPECT_EQ(result.failure.alert_sent, SSL_AD_UNKNOWN_CA) << result.failure;
  EXPECT_EQ(result.failure.alert_received, -1) << "the client sent unknown_ca; it received nothing";
  // Both ends say the same thing in the same terms: the server's record names the client's alert.
  ASSERT_TRUE(server.wait_for_handshakes(1));
  EXPECT_EQ(server.handshakes()[0].failure.kind, harness::failure_kind::alert) << server.handshakes()[0].failure;
  EXPECT_EQ(server.handshakes()[0].failure.alert_received, SSL_AD_UNKNOWN_CA);
}

TEST_F(TlsServerTest, ClientRejectsWrongHost) {
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), hello());
  auto options = server.client_config();
  options.host = "127.0.0.1";  // no SNI, and the certificate has no IP SAN
  auto result = harness::test_client(options).handshake();
  EXPECT_EQ(result.failure.verify_error, X509_V_ERR_IP_ADDRESS_MISMATCH) << result.message();

  auto multi = harness::tls_server::start(ca_.issue({.names = {"service.test.local", "*.other.test.local"}}), hello());
  options = multi.client_config();
  options.host = "a.b.other.test.local";  // wildcard is one label deep only; SNI unknown is refused first
  result = harness::test_client(options).handshake();
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.failure.alert_received, SSL_AD_UNRECOGNIZED_NAME) << result.message();
}

TEST_F(TlsServerTest, ClientRejectsExpiredAndNotYetValid) {
  for (auto window : {ca::validity::expired(), ca::validity::not_yet_valid()}) {
    auto server = harness::tls_server::start(ca_.issue({.names = {"service.test.local"}, .validity = window}), hello());
    auto result = server.client().handshake();
    bool expired = window.not_after < ca::clock::now();
    EXPECT_EQ(result.failure.verify_error, expired ? X509_V_ERR_CERT_HAS_EXPIRED : X509_V_ERR_CERT_NOT_YET_VALID)
        << result.message();
  }
}

TEST_F(TlsServerTest, ServesTheIntermediateAndFailsWithoutIt) {
  auto intermediate = ca_.make_intermediate();
  auto leaf = intermediate.issue("service.test.local");
  auto server = harness::tls_server::start(leaf, hello());
  auto result = server.client().handshake();
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(result.peer_chain.size(), 2u);

  // The same leaf served without its intermediate cannot be verified.
  auto broken = harness::tls_server::start(leaf.without_intermediates(), hello());
  result = broken.client().handshake();
  EXPECT_EQ(result.peer_chain.size(), 1u);
  EXPECT_EQ(result.failure.verify_error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) << result.message();
}

TEST_F(TlsServerTest, MutualTlsRequiresATrustedClientCertificate) {
  auto client_ca = ca::certificate_authority::create();
  auto server = harness::tls_server::start(
      ca_.issue("service.test.local"), hello(),
      {.client_auth = harness::client_auth::required, .client_trust = harness::trust{client_ca.root()}});

  auto good = server.client_config();
  good.identity = client_ca.issue({.names = {"alice@test.local"}, .usage = ca::usage::client});
  auto result = harness::test_client(good).handshake();
  EXPECT_TRUE(result.ok()) << result.message();

  auto none = server.client_config();
  result = harness::test_client(none).handshake();
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.failure.alert_received, SSL_AD_CERTIFICATE_REQUIRED) << result.message();
  EXPECT_THAT(result.message(), HasSubstr("peer sent alert: certificate required"));

  auto untrusted = server.client_config();
  untrusted.identity = ca::certificate_authority::create().issue({.names = {"mallory@test.local"}, .usage = ca::usage::client});
  result = harness::test_client(untrusted).handshake();
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.failure.alert_received, SSL_AD_UNKNOWN_CA) << result.message();

  auto server_cert_as_client = server.client_config();
  server_cert_as_client.identity = client_ca.issue("bob.test.local");  // serverAuth only
  result = harness::test_client(server_cert_as_client).handshake();
  EXPECT_FALSE(result.ok()) << "a serverAuth-only certificate must not authenticate a client";

  ASSERT_TRUE(server.wait_for_handshakes(4));
  auto records = server.handshakes();
  EXPECT_EQ(records[0].client_subject, good.identity->cert().subject());
  EXPECT_EQ(records[1].failure.kind, harness::failure_kind::protocol) << records[1].failure;
  EXPECT_EQ(records[1].failure.reason, "peer did not return a certificate");
  for (std::size_t i : {2u, 3u}) EXPECT_EQ(records[i].failure.kind, harness::failure_kind::certificate) << records[i].failure;
  EXPECT_EQ(records[2].failure.verify_error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  EXPECT_EQ(records[3].failure.verify_error, X509_V_ERR_INVALID_PURPOSE);
}

TEST_F(TlsServerTest, OptionalClientAuthAcceptsAnonymousClients) {
  auto client_ca = ca::certificate_authority::create();
  auto server = harness::tls_server::start(
      ca_.issue("service.test.local"), hello(),
      {.client_auth = harness::client_auth::optional, .client_trust = harness::trust{client_ca.root()}});
  EXPECT_TRUE(server.client().handshake().ok());
  auto with_cert = server.client_config();
  with_cert.identity = client_ca.issue({.names = {"alice@test.local"}, .usage = ca::usage::client});
  EXPECT_TRUE(harness::test_client(with_cert).handshake().ok());
  ASSERT_TRUE(server.wait_for_handshakes(2));
  EXPECT_EQ(server.handshakes()[0].client_subject, "");
  EXPECT_EQ(server.handshakes()[1].client_subject, with_cert.identity->cert().subject());
}

TEST_F(TlsServerTest, AlpnNegotiatesOrFailsWithNoApplicationProtocol) {
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), hello(), {.alpn = {"h2", "http/1.1"}});
  auto options = server.client_config();
  options.alpn = {"http/1.1"};
  auto result = harness::test_client(options).handshake();
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(result.alpn, "http/1.1");

  options.alpn = {"spdy/3"};
  result = harness::test_client(options).handshake();
  EXPECT_EQ(result.failure.alert_received, SSL_AD_NO_APPLICATION_PROTOCOL) << result.message();
}

TEST_F(TlsServerTest, VersionRangeIsEnforced) {
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), hello(),
                                           {.versions = {harness::tls_version::tls1_2, harness::tls_version::tls1_2}});
  auto result = server.client().handshake();
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(result.version, "TLSv1.2");

  auto options = server.client_config();
  options.versions = {harness::tls_version::tls1_3, harness::tls_version::tls1_3};
  result = harness::test_client(options).handshake();
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.failure.alert_received, SSL_AD_PROTOCOL_VERSION) << result.message();
}

TEST_F(TlsServerTest, ChoosesTheIdentityBySniAndRefusesUnknownNames) {
  auto a = ca_.issue("a.test.local");
  auto b = ca_.issue({.names = {"*.b.test.local"}});
  auto server = harness::tls_server::start(std::vector{a, b}, hello());
  for (const auto& [host, expected] : {std::pair{"a.test.local", a}, std::pair{"x.b.test.local", b}}) {
    auto options = server.client_config();
    options.host = host;
    auto result = harness::test_client(options).handshake();
    ASSERT_TRUE(result.ok()) << host << ": " << result.message();
    EXPECT_EQ(result.peer_chain.front(), expected.cert());
  }
  auto options = server.client_config();
  options.host = "c.test.local";
  auto result = harness::test_client(options).handshake();
  EXPECT_EQ(result.failure.alert_received, SSL_AD_UNRECOGNIZED_NAME) << result.message();
  ASSERT_TRUE(server.wait_for_handshakes(3));
  EXPECT_EQ(server.handshakes()[2].failure.reason, "unrecognized name 'c.test.local'");
}

// answer_any_name lets a wrong-host test work by name: the server hands its certificate to any SNI,
// and the client's own name check is what refuses it (not the server's unrecognized_name).
TEST_F(TlsServerTest, AnswerAnyNameMakesTheClientsNameCheckTheOneThatFails) {
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), hello(), {.answer_any_name = true});
  auto options = server.client_config();
  options.host = "other.test.local";
  auto result = harness::test_client(options).handshake();
  EXPECT_EQ(result.failure.kind, harness::failure_kind::certificate) << result.failure;
  EXPECT_EQ(result.failure.verify_error, X509_V_ERR_HOSTNAME_MISMATCH);
  EXPECT_EQ(result.failure.alert_received, -1) << "the server did not refuse the name itself";
  EXPECT_TRUE(server.client().handshake().ok()) << "the right name still verifies";
}

// A verification time moves the clock for one side's check: an expiry test needs no waiting.
TEST_F(TlsServerTest, VerifyTimeSeesCertificatesExpireWithoutWaiting) {
  auto client_ca = ca::certificate_authority::create();
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), hello(),
                                           {.client_auth = harness::client_auth::required,
                                            .client_trust = harness::trust{client_ca.root()}});
  auto options = server.client_config();
  options.identity = client_ca.issue({.names = {"alice@test.local"}, .usage = ca::usage::client});
  EXPECT_TRUE(harness::test_client(options).handshake().ok()) << "the control: verified now";

  options.verify_time = ca::clock::now() + std::chrono::days(100);  // the leaf lasts 90 days
  auto later = harness::test_client(options).handshake();
  EXPECT_EQ(later.failure.kind, harness::failure_kind::certificate) << later.failure;
  EXPECT_EQ(later.failure.verify_error, X509_V_ERR_CERT_HAS_EXPIRED);

  auto strict = harness::tls_server::start(ca_.issue("service.test.local"), hello(),
                                           {.client_auth = harness::client_auth::required,
                                            .client_trust = harness::trust{client_ca.root()},
                                            .verify_time = ca::clock::now() + std::chrono::days(100)});
  options = strict.client_config();
  options.identity = client_ca.issue({.names = {"alice@test.local"}, .usage = ca::usage::client});
  EXPECT_FALSE(harness::test_client(options).handshake().ok());
  ASSERT_TRUE(strict.wait_for_handshakes(1));
  EXPECT_EQ(strict.handshakes()[0].failure.kind, harness::failure_kind::certificate) << strict.handshakes()[0].failure;
  EXPECT_EQ(strict.handshakes()[0].failure.verify_error, X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_F(TlsServerTest, ReloadServesTheNewCertificateToNewHandshakes) {
  auto first = ca_.issue("service.test.local");
  auto server = harness::tls_server::start(first, harness::echo());
  EXPECT_EQ(server.client().handshake().peer_chain.front(), first.cert());
  auto second = ca_.issue("service.test.local");
  server.reload(second);
  EXPECT_EQ(server.client().handshake().peer_chain.front(), second.cert());
}

TEST_F(TlsServerTest, ListensOnIpv6OnRequest) {
  auto server = harness::tls_server::start(ca_.issue({.names = {"::1", "service.test.local"}}), hello(), {.listen_ipv6 = true});
  ASSERT_NE(server.port_v6(), 0);
  auto options = server.client_config();
  options.host = "::1";
  options.port = server.port_v6();
  auto result = harness::test_client(options).handshake();
  EXPECT_TRUE(result.ok()) << result.message();
}

TEST_F(TlsServerTest, ListensOnAFixedPortWhenAsked) {
  test::reserved_port reserved;  // no other test can take it meanwhile
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), hello(), {.port = reserved.port()});
  EXPECT_EQ(server.port(), reserved.port());
  EXPECT_EQ(server.client().get("/").result_int(), 200);
  try {
    harness::tls_server::start(ca_.issue("service.test.local"), hello(), {.port = reserved.port()});
    ADD_FAILURE() << "a taken port must be an error, not a silent move elsewhere";
  } catch (const tlsfix::error& e) {
    EXPECT_THAT(e.what(), HasSubstr("server_options.port: cannot listen on 127.0.0.1 port " +
                                    std::to_string(reserved.port()) + ": Address already in use"));
  }
}

// A bare handshake and close_notify, as `tlsfix probe` does, ends with both sides closing at once,
// which leaves the server's end in TIME_WAIT on its own port; a restart on that port must still
// bind (SO_REUSEADDR), as `tlsfix serve --port` is restarted. The port is the one the first server
// chose and the restart follows at once: a reservation would need SO_REUSEADDR itself, and so could
// not tell the two failures apart.
TEST_F(TlsServerTest, RestartsOnItsPortRightAfterAClientHandshake) {
  std::uint16_t port = 0;
  {
    auto first = harness::tls_server::start(ca_.issue("service.test.local"), hello());
    port = first.port();
    auto result = first.client().handshake();
    ASSERT_TRUE(result.ok()) << result.message();
    ASSERT_TRUE(first.wait_for_handshakes(1));
  }
  auto second = harness::tls_server::start(ca_.issue("service.test.local"), hello(), {.port = port});
  EXPECT_EQ(second.client().get("/").result_int(), 200);
}

TEST_F(TlsServerTest, CloseIsIdempotentAndRefusesNewConnections) {
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), hello());
  auto client = server.client();
  server.close();
  server.close();
  auto result = client.handshake();
  EXPECT_EQ(result.failure.kind, harness::failure_kind::connect) << result.message();
  EXPECT_EQ(result.failure.reason, "Connection refused");
}

TEST_F(TlsServerTest, HandlerExceptionsBecome500) {
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), [](const harness::http_request&) -> harness::http_response {
    throw std::runtime_error("boom");
  });
  auto response = server.client().get("/");
  EXPECT_EQ(response.result_int(), 500);
  EXPECT_THAT(response.body(), HasSubstr("boom"));
}

// The server keeps only its last max_handshake_records records (oldest dropped first) and counts
// every connection in totals(), so that waiting and counting go on working after the ring wraps.
TEST_F(TlsServerTest, KeepsTheLastRecordsAndCountsThemAll) {
  auto server = harness::tls_server::start(ca_.issue({.names = {"*.ring.test.local"}}), hello(), {.max_handshake_records = 4});
  // Ten connections, one at a time (each recorded before the next starts, so that the order is
  // known): a plaintext one and one that refuses the server's root first, then eight verified
  // handshakes, each under its own name so that the records tell them apart.
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket socket(ioc);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), server.port()});
    boost::asio::write(socket, boost::asio::buffer(std::string("GET / HTTP/1.1\r\n\r\n")));
    ASSERT_TRUE(server.wait_for_handshakes(1));
  }
  auto distrusting = server.client_config();
  distrusting.host = "wrong-root.ring.test.local";
  distrusting.trust = harness::trust{ca::certificate_authority::create().root()};
  EXPECT_FALSE(harness::test_client(distrusting).handshake().ok());
  ASSERT_TRUE(server.wait_for_handshakes(2));
  std::vector<std::string> names;
  for (int i = 2; i < 10; ++i) {
    auto options = server.client_config();
    options.host = names.emplace_back("h" + std::to_string(i) + ".ring.test.local");
    auto result = harness::test_client(options).handshake();
    ASSERT_TRUE(result.ok()) << result.message();
    ASSERT_TRUE(server.wait_for_handshakes(static_cast<std::size_t>(i) + 1));
  }

  auto records = server.handshakes();
  ASSERT_EQ(records.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(records[i].sni, names[4 + i]) << "oldest first";

  auto totals = server.totals();
  EXPECT_EQ(totals.connections, 10u);
  EXPECT_EQ(totals.ok, 8u);
  EXPECT_EQ(totals.silent, 0u);
  EXPECT_EQ(totals.failed(), 2u);
  EXPECT_EQ(totals.failed(harness::failure_kind::plaintext), 1u) << "dropped from the ring, still counted";
  EXPECT_EQ(totals.failed(harness::failure_kind::alert), 1u);
  EXPECT_EQ(server.plaintext_attempts(), 1u);
  EXPECT_EQ(::testing::PrintToString(totals), "10 connections: 8 ok, 0 silent, 2 failed (plaintext 1, alert 1)");

  EXPECT_TRUE(server.wait_for_handshakes(10, std::chrono::milliseconds(0))) << "ten connections, four records";
  EXPECT_FALSE(server.wait_for_handshakes(11, std::chrono::milliseconds(50)));
}

TEST_F(TlsServerTest, KeepsNoRecordsWhenAskedForNone) {
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), hello(), {.max_handshake_records = 0});
  ASSERT_TRUE(server.client().handshake().ok());
  ASSERT_TRUE(server.wait_for_handshakes(1));
  EXPECT_TRUE(server.handshakes().empty());
  EXPECT_EQ(server.totals().ok, 1u);
}

}  // namespace
