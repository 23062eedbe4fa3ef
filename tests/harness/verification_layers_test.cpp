// Each layer of test_client's verification pinned on its own. The client verifies inside the
// handshake (verify_peer with only the given roots, SSL_set1_host) and again after it
// (handshake_result::ok() re-checks the verify result): defence in depth means that removing
// either layer alone leaves every impostor refused, so a test that looks only at the outcome
// passes without the first one. These tests look at where the refusal happened: inside the
// handshake, the client sends the alert that names the problem, and the server records it.
// Likewise for the server's own floors: the minimum protocol version, trust that replaces the
// default store, and plaintext detection.
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <cstdlib>
#include <optional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <tlsfix/harness.hpp>

#include "support.hpp"

namespace {

using namespace tlsfix;

class VerificationLayersTest : public ::testing::Test {
 protected:
  ca::certificate_authority ca_ = ca::certificate_authority::create();

  // The client's refusal as the server saw it: the last connection's record.
  harness::handshake_record LastRecord(const harness::tls_server& server) {
    EXPECT_TRUE(server.wait_for_handshakes(1));
    auto records = server.handshakes();
    return records.empty() ? harness::handshake_record{} : records.back();
  }
};

TEST_F(VerificationLayersTest, AnUntrustedChainIsRefusedInsideTheHandshake) {
  auto server = harness::tls_server::start(ca::certificate_authority::create().issue("service.test.local"), harness::echo());
  auto result = harness::test_client({.host = "service.test.local", .port = server.port(), .trust = ca_.root()}).handshake();
  EXPECT_EQ(result.failure.kind, harness::failure_kind::certificate) << result.message();
  EXPECT_EQ(result.failure.verify_error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) << result.message();
  EXPECT_EQ(result.failure.alert_sent, SSL_AD_UNKNOWN_CA) << result.message();
  // With verification left to after the handshake, the server would record a success instead.
  auto record = LastRecord(server);
  EXPECT_EQ(record.failure.kind, harness::failure_kind::alert) << record;
  EXPECT_EQ(record.failure.alert_received, SSL_AD_UNKNOWN_CA) << record;
}

TEST_F(VerificationLayersTest, AWrongHostIsRefusedInsideTheHandshake) {
  // The server answers any SNI with its certificate, as a misconfigured one would.
  auto server = harness::tls_server::start(ca_.issue("other.test.local"), harness::echo(), {.answer_any_name = true});
  auto result = harness::test_client({.host = "service.test.local", .port = server.port(), .trust = ca_.root()}).handshake();
  EXPECT_EQ(result.failure.kind, harness::failure_kind::certificate) << result.message();
  EXPECT_EQ(result.failure.verify_error, X509_V_ERR_HOSTNAME_MISMATCH) << result.message();
  auto record = LastRecord(server);
  EXPECT_EQ(record.failure.kind, harness::failure_kind::alert) << record;
  EXPECT_NE(record.failure.alert_received, -1) << record;
}

TEST_F(VerificationLayersTest, AnExpiredLeafIsRefusedInsideTheHandshake) {
  auto server = harness::tls_server::start(ca_.issue({.names = {"service.test.local"}, .validity = ca::validity::expired()}), harness::echo());
  auto result = harness::test_client({.host = "service.test.local", .port = server.port(), .trust = ca_.root()}).handshake();
  EXPECT_EQ(result.failure.verify_error, X509_V_ERR_CERT_HAS_EXPIRED) << result.message();
  auto record = LastRecord(server);
  EXPECT_EQ(record.failure.alert_received, SSL_AD_CERTIFICATE_EXPIRED) << record;
}

TEST_F(VerificationLayersTest, TheErrorIsTheVerificationErrorNotALaterOne) {
  auto server = harness::tls_server::start(ca::certificate_authority::create().issue("service.test.local"), harness::echo());
  harness::test_client client({.host = "service.test.local", .port = server.port(), .trust = ca_.root()});
  try {
    client.exchange_line("ping");
    FAIL() << "an untrusted server answered";
  } catch (const harness::connection_error& e) {
    EXPECT_EQ(e.failure().kind, harness::failure_kind::certificate) << e.what();
    EXPECT_EQ(e.failure().verify_error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) << e.what();
  }
}

TEST_F(VerificationLayersTest, TrustReplacesTheDefaultStore) {
  // The machine's store (here, OpenSSL's SSL_CERT_FILE) holds the server's root: a client that
  // also loaded the default paths would accept it.
  auto system_ca = ca::certificate_authority::create();
  ca::temp_file system_store(system_ca.root().to_pem(), "system.pem");
  test::scoped_environment store({{"SSL_CERT_FILE", system_store.path().string()}, {"SSL_CERT_DIR", "/nonexistent"}});
  auto server = harness::tls_server::start(system_ca.issue("service.test.local"), harness::echo());
  auto result = harness::test_client({.host = "service.test.local", .port = server.port(), .trust = ca_.root()}).handshake();
  EXPECT_EQ(result.failure.verify_error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) << result.message();
  // Positive control: trusting that root explicitly works.
  auto trusted = harness::test_client({.host = "service.test.local", .port = server.port(), .trust = system_ca.root()}).handshake();
  EXPECT_TRUE(trusted.ok()) << trusted.message();
}

TEST_F(VerificationLayersTest, TheServerRefusesTls11WithAProtocolVersionAlert) {
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), harness::echo());
  // A raw OpenSSL client that offers TLS 1.1 at most (at security level 0, where 3.0 still can).
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(ctx, 0);
  SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
  SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0");
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), server.port()});
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, socket.native_handle());
  EXPECT_NE(SSL_connect(ssl), 1);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  socket.close();
  auto record = LastRecord(server);
  EXPECT_EQ(record.failure.kind, harness::failure_kind::protocol) << record;
  EXPECT_EQ(record.failure.alert_sent, SSL_AD_PROTOCOL_VERSION) << record;
}

TEST_F(VerificationLayersTest, PlaintextIsDetectedAndCounted) {
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), harness::echo());
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), server.port()});
  boost::asio::write(socket, boost::asio::buffer(std::string("GET / HTTP/1.1\r\nHost: service.test.local\r\n\r\n")));
  auto record = LastRecord(server);
  EXPECT_EQ(record.failure.kind, harness::failure_kind::plaintext) << record;
  EXPECT_EQ(server.plaintext_attempts(), 1u);
  // Positive control: a TLS client on the same server is not counted.
  EXPECT_TRUE(server.client().handshake().ok());
  EXPECT_EQ(server.plaintext_attempts(), 1u);
}

}  // namespace
