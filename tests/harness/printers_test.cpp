// Every public type of tlsfix::harness prints readably in a failure message, through the
// operator<< beside it.
#include <openssl/ssl.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <tlsfix/harness.hpp>

namespace {

using namespace tlsfix;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::PrintToString;

TEST(HarnessPrintersTest, HandshakesOnBothSidesAndTheirFailures) {
  auto authority = ca::certificate_authority::create();
  auto server = harness::tls_server::start(authority.issue("service.test.local"), harness::echo());
  auto result = server.client().handshake();
  EXPECT_THAT(PrintToString(result), AllOf(HasSubstr("verified TLSv1.3"), HasSubstr("the peer sent certificate")));
  ASSERT_TRUE(server.wait_for_handshakes(1));
  EXPECT_THAT(PrintToString(server.handshakes()[0]),
              AllOf(HasSubstr("127.0.0.1:"), HasSubstr("SNI 'service.test.local'"), HasSubstr("TLSv1.3"), HasSubstr("served serial")));

  auto options = server.client_config();
  options.trust = harness::trust{ca::certificate_authority::create().root()};
  auto refused = harness::test_client(options).handshake();
  EXPECT_THAT(PrintToString(refused), HasSubstr("certificate rejected: unable to get local issuer certificate"));
  EXPECT_EQ(PrintToString(refused.failure), "certificate: certificate rejected: unable to get local issuer certificate");
  ASSERT_TRUE(server.wait_for_handshakes(2));
  EXPECT_THAT(PrintToString(server.handshakes()[1]), HasSubstr("alert: peer sent alert: unknown CA"));
  EXPECT_EQ(PrintToString(harness::failure_kind::plaintext), "plaintext");
  EXPECT_EQ(harness::alert_name(SSL_AD_CERTIFICATE_REQUIRED), "certificate required");
}

TEST(HarnessPrintersTest, TrustVersionsAndOptions) {
  auto authority = ca::certificate_authority::create({.common_name = "Printer Root"});
  EXPECT_EQ(PrintToString(harness::trust{authority.root()}), "trust of 1 root: 'CN=Printer Root,O=tlsfix'");
  EXPECT_EQ(PrintToString(harness::tls_version::tls1_2), "TLSv1.2");
  EXPECT_EQ(PrintToString(harness::tls_version_range{}), "TLSv1.2 to TLSv1.3");
  EXPECT_EQ(PrintToString(harness::client_auth::required), "required");
}

TEST(HarnessPrintersTest, ImpostorsAndReports) {
  harness::impostor entry{.name = "expired", .description = "d", .expected = harness::expectation::reject,
                          .expected_error = "certificate has expired", .host = "expired.impostor.test", .port = 4431};
  EXPECT_EQ(PrintToString(entry), "impostor 'expired' at https://expired.impostor.test:4431/: reject (certificate has expired)");
  harness::check_row row{.entry = entry, .connected = true, .detail = "exit 0", .passed = false};
  EXPECT_EQ(PrintToString(row), "expired: fail (expected reject, accepted): exit 0");
  harness::check_report report{{row}};
  EXPECT_THAT(PrintToString(report), HasSubstr("FAIL: 1 of 1 entries wrong"));
  EXPECT_EQ(PrintToString(harness::connect_outcome{false, "exit 60"}), "did not connect: exit 60");
  EXPECT_EQ(PrintToString(harness::tier::strict), "strict");
}

}  // namespace
