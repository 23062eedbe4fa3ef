// Faults on the wire: peers that are not TLS, stop half way, reset, or ask for what tls_server
// refuses. After each one the server must have recorded why, released the connection and every
// descriptor, and still serve a verified client.
#include <openssl/ssl.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <random>
#include <string_view>

#include "fault_support.hpp"
#include "support.hpp"

namespace tlsfix::fault {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

TEST_F(FaultTest, PlaintextHttpIsClosedWithoutAnAnswer) {
  auto server = Start();
  auto fds = test::open_fd_count();
  {
    auto attacker = connect_loopback(server.port());
    send_all(attacker, "GET / HTTP/1.1\r\nHost: service.test.local\r\n\r\n");
    auto outcome = read_until_closed(attacker);
    EXPECT_TRUE(outcome.closed);
    EXPECT_THAT(outcome.received, IsEmpty()) << "no HTTP answer, not even a TLS alert";
    ASSERT_TRUE(server.wait_for_handshakes(1, 5s));
    EXPECT_EQ(server.handshakes()[0].failure.kind, harness::failure_kind::plaintext);
    EXPECT_FALSE(server.handshakes()[0].silent) << "it sent plaintext";
    EXPECT_EQ(server.handshakes()[0].remote, attacker.local_endpoint());
  }
  EXPECT_EQ(server.plaintext_attempts(), 1u);
  ExpectStillServing(server, fds);
  EXPECT_EQ(server.plaintext_attempts(), 1u) << "a TLS client is not plaintext";
}

struct garbage_case {
  const char* name;
  std::string_view prefix;  // written over the start of the noise
  harness::failure_kind kind;  // what the server must record
  const char* reason;          // OpenSSL's reason, when it is OpenSSL that refuses
};

void PrintTo(const garbage_case& c, std::ostream* os) { *os << c.name; }

class GarbageTest : public FaultTest, public ::testing::WithParamInterface<garbage_case> {};

// 4 KiB of noise. Behind a 0x16 first byte it passes the plaintext sniff and must be refused by
// the TLS parser itself, at once, not left to run into the deadline.
TEST_P(GarbageTest, IsRefused) {
  auto server = Start();
  auto fds = test::open_fd_count();
  std::mt19937 random{20240611};  // fixed: the same bytes, hence the same OpenSSL error, each run
  std::string noise(4096, '\0');
  for (auto& c : noise) c = static_cast<char>(random() & 0xff);
  noise.replace(0, GetParam().prefix.size(), GetParam().prefix);
  {
    auto attacker = connect_loopback(server.port());
    send_all(attacker, noise);
    auto outcome = read_until_closed(attacker);
    EXPECT_TRUE(outcome.closed);
    EXPECT_LT(outcome.elapsed, kDeadline) << "refused only at the deadline";
    ASSERT_TRUE(server.wait_for_handshakes(1, 5s));
  }
  EXPECT_EQ(server.handshakes()[0].failure.kind, GetParam().kind) << server.handshakes()[0].failure;
  EXPECT_EQ(server.handshakes()[0].failure.reason, GetParam().reason);
  bool plaintext = GetParam().prefix[0] != '\x16';
  EXPECT_EQ(server.plaintext_attempts(), plaintext ? 1u : 0u);
  ExpectStillServing(server, fds);
}

using namespace std::string_view_literals;
INSTANTIATE_TEST_SUITE_P(
    Noise, GarbageTest,
    ::testing::Values(
        // Random protocol version bytes: refused by the record layer.
        garbage_case{"StartingWith0x16", "\x16"sv, harness::failure_kind::protocol, "wrong version number"},
        // A well-formed record of 4091 random bytes: refused by the handshake parser.
        garbage_case{"InAValidRecord", "\x16\x03\x01\x0f\xfb"sv, harness::failure_kind::protocol, "unexpected message"},
        garbage_case{"NotTls", "\x17"sv, harness::failure_kind::plaintext, ""}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(FaultTest, TruncatedClientHelloIsClosedAtTheDeadline) {
  auto server = Start();
  auto fds = test::open_fd_count();
  auto hello = client_hello("service.test.local");
  {
    auto attacker = connect_loopback(server.port());
    send_all(attacker, hello.substr(0, hello.size() / 2));
    auto outcome = read_until_closed(attacker);
    EXPECT_TRUE(outcome.closed) << "still open after " << outcome.elapsed.count() << " ms";
    EXPECT_THAT(outcome.received, IsEmpty());
    // Closing early would drop slow but honest clients.
    EXPECT_GE(outcome.elapsed, kDeadline - 50ms);
    ASSERT_TRUE(server.wait_for_handshakes(1, 5s));
  }
  EXPECT_EQ(server.handshakes()[0].failure.kind, harness::failure_kind::timeout) << server.handshakes()[0].failure;
  ExpectStillServing(server, fds);
}

TEST_F(FaultTest, SilentConnectionIsClosedAtTheDeadline) {
  auto server = Start();
  auto fds = test::open_fd_count();
  {
    auto attacker = connect_loopback(server.port());
    auto outcome = read_until_closed(attacker);
    EXPECT_TRUE(outcome.closed) << "still open after " << outcome.elapsed.count() << " ms";
    EXPECT_GE(outcome.elapsed, kDeadline - 50ms);
    ASSERT_TRUE(server.wait_for_handshakes(1, 5s));
  }
  EXPECT_EQ(server.handshakes()[0].failure.kind, harness::failure_kind::timeout) << server.handshakes()[0].failure;
  EXPECT_TRUE(server.handshakes()[0].silent) << "it never sent a byte";
  ExpectStillServing(server, fds);
}

// After the handshake the deadline becomes idle_timeout, here far sooner than the handshake
// deadline it replaces: a verified client that then says nothing is closed at idle_timeout, not
// when the handshake deadline would have come.
TEST_F(FaultTest, SilentClientAfterTheHandshakeIsClosedAtTheIdleTimeout) {
  constexpr auto idle = 300ms;
  auto server = Start({.handshake_timeout = 10s, .idle_timeout = idle});
  auto fds = test::open_fd_count();
  {
    raw_tls_client client(server.port(), {.trust = harness::trust{ca_.root()}});
    ASSERT_TRUE(client.handshake()) << client.error();
    auto outcome = read_until_closed(client.socket(), 8s);
    EXPECT_TRUE(outcome.closed);
    EXPECT_GE(outcome.elapsed, idle - 50ms);
    EXPECT_LT(outcome.elapsed, 3s) << "closed " << outcome.elapsed.count() << " ms after the handshake";
    ASSERT_TRUE(server.wait_for_handshakes(1, 5s));
  }
  EXPECT_TRUE(server.handshakes()[0].ok()) << server.handshakes()[0].failure;
  ExpectStillServing(server, fds);
}

// The deadline covers the whole handshake from accept, so a client that trickles in its first
// byte just before it cannot buy itself a second full deadline.
TEST_F(FaultTest, HandshakeDeadlineRunsFromAccept) {
  constexpr auto deadline = 1000ms;
  auto server = Start({.handshake_timeout = deadline});
  auto fds = test::open_fd_count();
  auto hello = client_hello("service.test.local");
  {
    auto attacker = connect_loopback(server.port());
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(wait_readable(attacker, deadline * 8 / 10));
    send_all(attacker, hello.substr(0, 10));
    auto outcome = read_until_closed(attacker);
    auto total = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    EXPECT_TRUE(outcome.closed);
    EXPECT_LT(total, deadline * 3 / 2) << "closed " << total.count() << " ms after connect, deadline "
                                       << deadline.count() << " ms";
    ASSERT_TRUE(server.wait_for_handshakes(1, 5s));
  }
  EXPECT_EQ(server.handshakes()[0].failure.kind, harness::failure_kind::timeout) << server.handshakes()[0].failure;
  ExpectStillServing(server, fds);
}

TEST_F(FaultTest, ResetMidHandshakeIsRecorded) {
  auto server = Start();
  auto fds = test::open_fd_count();
  {
    auto attacker = connect_loopback(server.port());
    send_all(attacker, client_hello("service.test.local"));
    // The server has answered with its hello: it is now inside the handshake, waiting for us.
    ASSERT_TRUE(wait_readable(attacker));
    reset_connection(attacker);
  }
  ASSERT_TRUE(server.wait_for_handshakes(1, 5s));
  auto record = server.handshakes()[0];
  EXPECT_EQ(record.failure.kind, harness::failure_kind::closed) << record.failure;
  EXPECT_THAT(record.failure.reason, HasSubstr("reset"));
  ExpectStillServing(server, fds);
}

struct old_version {
  const char* name;
  int version;
};

class OldVersionTest : public FaultTest, public ::testing::WithParamInterface<old_version> {};

TEST_P(OldVersionTest, IsRefusedAndRecorded) {
  auto server = Start();
  auto fds = test::open_fd_count();
  {
    raw_tls_client client(server.port(), {.min_version = GetParam().version,
                                          .max_version = GetParam().version,
                                          .security_level = 0});
    EXPECT_FALSE(client.handshake());
    EXPECT_THAT(client.alerts_received(), ::testing::Contains(SSL_AD_PROTOCOL_VERSION)) << client.error();
    ASSERT_TRUE(server.wait_for_handshakes(1, 5s));
  }
  EXPECT_EQ(server.handshakes()[0].failure.kind, harness::failure_kind::protocol) << server.handshakes()[0].failure;
  EXPECT_EQ(server.handshakes()[0].failure.reason, "unsupported protocol");
  EXPECT_EQ(server.handshakes()[0].failure.alert_sent, SSL_AD_PROTOCOL_VERSION);
  ExpectStillServing(server, fds);
}

INSTANTIATE_TEST_SUITE_P(Tls, OldVersionTest,
                         ::testing::Values(old_version{"1_0", TLS1_VERSION}, old_version{"1_1", TLS1_1_VERSION}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(FaultTest, RenegotiationIsRefused) {
  auto server = Start({.versions = {harness::tls_version::tls1_2, harness::tls_version::tls1_2},
                       .handshake_timeout = kDeadline});
  auto fds = test::open_fd_count();
  {
    raw_tls_client client(server.port(), {.min_version = TLS1_2_VERSION,
                                          .max_version = TLS1_2_VERSION,
                                          .trust = harness::trust{ca_.root()}});
    ASSERT_TRUE(client.handshake()) << client.error();
    EXPECT_EQ(SSL_version(client.native()), TLS1_2_VERSION);
    EXPECT_FALSE(client.renegotiate());
    EXPECT_THAT(client.alerts_received(), ::testing::Contains(SSL_AD_NO_RENEGOTIATION)) << client.error();
    EXPECT_THAT(client.error(), HasSubstr("no renegotiation"));
    // The refused connection is over; the server lets go of it.
    EXPECT_TRUE(read_until_closed(client.socket()).closed);
  }
  ASSERT_TRUE(server.wait_for_handshakes(1, 5s));
  EXPECT_TRUE(server.handshakes()[0].ok()) << "the first handshake itself was fine";
  ExpectStillServing(server, fds);
}

TEST_F(FaultTest, AlpnMismatchIsRecorded) {
  auto server = Start({.alpn = {"h2"}, .handshake_timeout = kDeadline});
  auto fds = test::open_fd_count();
  auto options = server.client_config();
  options.alpn = {"spdy/3"};
  auto result = harness::test_client(options).handshake();
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.failure.alert_received, SSL_AD_NO_APPLICATION_PROTOCOL) << result.message();
  ASSERT_TRUE(server.wait_for_handshakes(1, 5s));
  EXPECT_EQ(server.handshakes()[0].failure.kind, harness::failure_kind::protocol) << server.handshakes()[0].failure;
  EXPECT_EQ(server.handshakes()[0].failure.alert_sent, SSL_AD_NO_APPLICATION_PROTOCOL);
  ExpectStillServing(server, fds);
}

TEST_F(FaultTest, UnknownSniIsRecorded) {
  auto server = Start();
  auto fds = test::open_fd_count();
  auto options = server.client_config();
  options.host = "unknown.test.local";
  options.resolve[options.host] = {"127.0.0.1"};
  auto result = harness::test_client(options).handshake();
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.failure.alert_received, SSL_AD_UNRECOGNIZED_NAME) << result.message();
  ASSERT_TRUE(server.wait_for_handshakes(1, 5s));
  EXPECT_EQ(server.handshakes()[0].failure.kind, harness::failure_kind::protocol) << server.handshakes()[0].failure;
  EXPECT_EQ(server.handshakes()[0].failure.reason, "unrecognized name 'unknown.test.local'");
  EXPECT_EQ(server.handshakes()[0].failure.alert_sent, SSL_AD_UNRECOGNIZED_NAME);
  EXPECT_EQ(server.handshakes()[0].sni, "unknown.test.local");
  ExpectStillServing(server, fds);
}

}  // namespace
}  // namespace tlsfix::fault
