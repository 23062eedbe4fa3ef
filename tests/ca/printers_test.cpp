// Every public type of tlsfix::ca prints readably in a failure message, through the operator<<
// beside it (which GoogleTest finds by itself), and never prints key material.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <tlsfix/ca.hpp>

namespace {

using namespace tlsfix;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::PrintToString;

TEST(CaPrintersTest, CertificatesAndWhatIsMadeOfThem) {
  auto authority = ca::certificate_authority::create({.common_name = "Printer Root"});
  auto sub = authority.make_intermediate({.common_name = "Printer Intermediate"});
  auto leaf = sub.issue({.names = {"service.test.local", "127.0.0.1"}});
  EXPECT_THAT(PrintToString(leaf.cert()),
              AllOf(HasSubstr("issued by 'CN=Printer Intermediate,O=tlsfix'"), HasSubstr("serial " + leaf.cert().serial_hex()),
                    HasSubstr("names DNS:service.test.local IP:127.0.0.1"), HasSubstr("valid 20")));
  EXPECT_THAT(PrintToString(leaf), AllOf(HasSubstr("chain of 2"), HasSubstr("up to root 'CN=Printer Root,O=tlsfix'")));
  EXPECT_EQ(PrintToString(authority), "certificate_authority 'CN=Printer Root,O=tlsfix'");
  EXPECT_EQ(PrintToString(sub), "certificate_authority 'CN=Printer Intermediate,O=tlsfix' under root 'CN=Printer Root,O=tlsfix'");

  auto key_text = PrintToString(leaf.key());
  EXPECT_EQ(key_text, "private_key ecdsa-p256");
  EXPECT_THAT(key_text, Not(HasSubstr("PRIVATE KEY")));
  EXPECT_EQ(PrintToString(ca::key_type::rsa_2048), "rsa-2048");

  authority.revoke(sub.cert());
  EXPECT_THAT(PrintToString(authority.crl()),
              AllOf(HasSubstr("crl by 'CN=Printer Root,O=tlsfix'"), HasSubstr("revoking " + sub.cert().serial_hex())));
}

TEST(CaPrintersTest, RequestsResultsAndNames) {
  ca::cert_request request{.names = {"a.test"}, .usage = ca::usage::server_and_client};
  EXPECT_THAT(PrintToString(request), AllOf(HasSubstr("cert_request for 'a.test'"), HasSubstr("a new ecdsa-p256 key"),
                                            HasSubstr("server and client")));
  EXPECT_THAT(PrintToString(ca::validity::expired()), HasSubstr("Z to 20"));

  auto authority = ca::certificate_authority::create();
  auto leaf = authority.issue("a.test");
  auto good = ca::verify(leaf.cert(), {.roots = {authority.root()}, .name = "a.test"});
  EXPECT_THAT(PrintToString(good), AllOf(HasSubstr("verified"), HasSubstr(authority.root().subject())));
  auto bad = ca::verify(leaf.cert(), {.roots = {authority.root()}, .name = "b.test"});
  EXPECT_THAT(PrintToString(bad), AllOf(HasSubstr("X509_V_ERR 62"), HasSubstr("hostname mismatch"), HasSubstr("depth 0")));
  EXPECT_EQ(PrintToString(ca::purpose::client), "client");

  EXPECT_EQ(PrintToString(ca::parse_name("Api.Test", "f")), "dns 'api.test'");
  EXPECT_EQ(PrintToString(ca::parse_name_range("10.0.0.0/8", "f")), "address range '10.0.0.0/8'");
}

}  // namespace
