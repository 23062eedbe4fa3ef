// test_client on its own: what it refuses to do, and that it trusts nothing but its roots.
#include <openssl/x509_vfy.h>
#include <stdlib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <future>
#include <latch>
#include <vector>

#include <tlsfix/harness.hpp>

#include "support.hpp"

namespace {

using namespace tlsfix;
using ::testing::HasSubstr;

class TestClientTest : public ::testing::Test {
 protected:
  ca::certificate_authority ca_ = ca::certificate_authority::create();
};

TEST_F(TestClientTest, RefusesToDialOffLoopback) {
  for (const char* address : {"10.0.0.1", "192.168.1.1", "8.8.8.8", "::2"}) {
    try {
      harness::test_client client{{.host = "service.test.local", .port = 443, .trust = ca_.root(),
                                   .resolve = {{"service.test.local", {address}}}}};
      ADD_FAILURE() << address << " was accepted";
    } catch (const tlsfix::error& e) {
      EXPECT_THAT(e.what(), HasSubstr(address));
      EXPECT_THAT(e.what(), HasSubstr("not a loopback address"));
    }
  }
  EXPECT_THROW((harness::test_client{{.host = "10.1.2.3", .port = 443, .trust = ca_.root()}}), tlsfix::error);
}

// Each refusal blames the field at fault, not just any: a test that checked only the exception's
// type would pass if the wrong field were blamed.
TEST_F(TestClientTest, RejectsIncompleteOptions) {
  auto field_of = [](const harness::client_options& o) {
    try {
      harness::test_client client{o};
      return std::string("<accepted>");
    } catch (const tlsfix::error& e) {
      return e.field();
    }
  };
  EXPECT_EQ(field_of({.host = "", .port = 443, .trust = ca_.root()}), "client_options.host");
  EXPECT_EQ(field_of({.host = "service.test.local", .port = 0, .trust = ca_.root()}), "client_options.port");
  EXPECT_EQ(field_of({.host = "service.test.local", .port = 443, .trust = ca_.root(),
                      .resolve = {{"service.test.local", {"not-an-ip"}}}}),
            "client_options.resolve['service.test.local']");
  EXPECT_EQ(field_of({.host = "service.test.local", .port = 443, .trust = ca_.root(), .alpn = {""}}), "alpn");
  EXPECT_EQ(field_of({.host = "service.test.local", .port = 443, .trust = ca_.root()}), "<accepted>") << "the control";
}

TEST_F(TestClientTest, VerifiesAnIpAddressWithoutSni) {
  auto server = harness::tls_server::start(ca_.issue({.names = {"127.0.0.1"}}), harness::echo());
  EXPECT_EQ(server.name(), "127.0.0.1");
  auto result = server.client().handshake();
  ASSERT_TRUE(result.ok()) << result.message();
  ASSERT_TRUE(server.wait_for_handshakes(1));
  EXPECT_EQ(server.handshakes()[0].sni, "") << "an IP address is never sent as SNI";

  auto other_ip = server.client_config();
  other_ip.host = "127.0.0.2";
  other_ip.resolve = {{"127.0.0.2", {"127.0.0.1"}}};  // the server listens on .1 only
  auto mismatch = harness::test_client(other_ip).handshake();
  EXPECT_EQ(mismatch.failure.verify_error, X509_V_ERR_IP_ADDRESS_MISMATCH) << mismatch.message();
}

TEST_F(TestClientTest, ResolvesNamesThroughItsOwnMap) {
  auto server = harness::tls_server::start(ca_.issue("alias.test.local"), harness::echo());
  harness::test_client client{{.host = "alias.test.local", .port = server.port(), .trust = ca_.root(),
                               .resolve = {{"alias.test.local", {"127.0.0.1"}}}}};
  EXPECT_EQ(client.exchange_line("hi"), "hi");
}

TEST_F(TestClientTest, NeverSendsARequestToAnUnverifiedServer) {
  std::atomic<int> requests{0};
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), [&](const harness::http_request& req) {
    ++requests;
    return harness::text_response(req, 200, "secret");
  });
  auto options = server.client_config();
  options.trust = harness::trust{ca::certificate_authority::create().root()};
  try {
    harness::test_client(options).post("/login", "password=hunter2");
    ADD_FAILURE() << "request went through";
  } catch (const harness::connection_error& e) {
    EXPECT_EQ(e.failure().kind, harness::failure_kind::certificate) << e.failure();
    EXPECT_EQ(e.failure().verify_error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    EXPECT_THAT(e.what(), HasSubstr("unable to get local issuer certificate"));
  }
  EXPECT_EQ(requests.load(), 0);
}

TEST_F(TestClientTest, IgnoresTheSystemTrustStoreAndItsEnvironment) {
  // Point OpenSSL's default locations at the server's root: a client that consulted them would pass.
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), harness::echo());
  harness::trust server_root{ca_.root()};
  test::scoped_environment system_store{{{"SSL_CERT_FILE", server_root.ca_file().string()},
                                         {"SSL_CERT_DIR", server_root.ca_file().parent_path().string()}}};
  auto options = server.client_config();
  options.trust = harness::trust{ca::certificate_authority::create().root()};
  auto result = harness::test_client(options).handshake();
  EXPECT_EQ(result.failure.verify_error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) << result.message();
}

TEST_F(TestClientTest, TrustsEveryRootGivenDuringRotation) {
  auto next = ca::certificate_authority::create();
  auto old_server = harness::tls_server::start(ca_.issue("service.test.local"), harness::echo());
  auto new_server = harness::tls_server::start(next.issue("service.test.local"), harness::echo());
  harness::trust both{{ca_.root(), next.root()}};
  for (auto* server : {&old_server, &new_server}) {
    auto options = server->client_config();
    options.trust = both;
    EXPECT_TRUE(harness::test_client(options).handshake().ok());
  }
  // The negative control: with the new root alone, the server still on the old chain is refused.
  auto only_next = old_server.client_config();
  only_next.trust = harness::trust{next.root()};
  auto refused = harness::test_client(only_next).handshake();
  EXPECT_EQ(refused.failure.kind, harness::failure_kind::certificate) << refused.failure;
  EXPECT_EQ(refused.failure.verify_error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

TEST_F(TestClientTest, GivesUpOnASilentServerAtItsTimeout) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor silent(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  harness::test_client client{{.host = "service.test.local", .port = silent.local_endpoint().port(),
                               .trust = ca_.root(), .timeout = std::chrono::milliseconds(200)}};
  auto outcome = std::async(std::launch::async, [&] { return client.handshake(); });
  ASSERT_EQ(outcome.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "the client hung";
  auto result = outcome.get();
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.failure.kind, harness::failure_kind::timeout) << result.failure;
}

// The server gives up on a body over its limit and closes while the client is still sending: an
// exception for that call, no hang, and the client works on for the next one.
TEST_F(TestClientTest, AServerHangingUpMidRequestIsAnError) {
  auto server = harness::tls_server::start(ca_.issue("service.test.local"), [](const harness::http_request& req) {
    return harness::text_response(req, 200, "never reached");
  });
  std::string body(8 << 20, 'x');  // Beast's request parser stops at 1 MiB
  EXPECT_THROW(server.client().post("/upload", body), std::exception);
  EXPECT_EQ(server.client().get("/").result_int(), 200) << "and the client still works";
}

TEST_F(TestClientTest, ReportsARefusedConnection) {
  boost::asio::io_context ioc;
  std::uint16_t port = 0;
  {
    boost::asio::ip::tcp::acceptor closed(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = closed.local_endpoint().port();
  }
  auto result = harness::test_client{{.host = "service.test.local", .port = port, .trust = ca_.root()}}.handshake();
  EXPECT_EQ(result.failure.kind, harness::failure_kind::connect) << result.message();
  EXPECT_EQ(result.failure.reason, "Connection refused");
}

}  // namespace

// Threads sharing one client, each round against a root no thread has used yet. OpenSSL fills a
// certificate's extension cache on first use and then reads it lock-free; TSan cannot see
// libcrypto's atomics, so unless tlsfix fills the cache before sharing, overlapping first
// handshakes show up as a data race on the root's key identifier. Several fresh roots make the
// overlap likely; under TSan a race fails the test.
TEST_F(TestClientTest, ThreadsSharingAClientAgainstAFreshRootDoNotRace) {
  constexpr int rounds = 12;
  constexpr int threads = 3;
  for (int round = 0; round < rounds; ++round) {
    auto fresh = ca::certificate_authority::create();
    auto server = harness::tls_server::start(fresh.issue("service.test.local"), harness::echo());
    auto client = server.client();
    std::latch start{threads};
    std::vector<std::future<harness::handshake_result>> results;
    for (int t = 0; t < threads; ++t)
      results.push_back(std::async(std::launch::async, [&] {
        start.arrive_and_wait();
        return client.handshake();
      }));
    for (auto& result : results) {
      auto r = result.get();
      EXPECT_TRUE(r.ok()) << "round " << round << ": " << r.message();
    }
  }
}
