// The one parser for names and ranges that every layer uses: kinds, normal forms, the errors that
// name the caller's field, what a range contains, and the URL helpers.
#include "tlsfix/ca/names.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "error_text.hpp"
#include "tlsfix/error.hpp"

namespace {

using namespace tlsfix;
using ::testing::AllOf;
using ::testing::HasSubstr;
using test::error_from;

TEST(NamesTest, EachKindIsFoundFromTheTextAndNormalised) {
  struct row {
    const char* text;
    ca::name_kind kind;
    const char* normal;
    const char* host;
  };
  for (const auto& r : {row{"Service.Test.Local", ca::name_kind::dns, "service.test.local", "service.test.local"},
                        row{"*.SVC.test", ca::name_kind::wildcard, "*.svc.test", "svc.test"},
                        row{"127.0.0.1", ca::name_kind::ipv4, "127.0.0.1", "127.0.0.1"},
                        row{"[0:0:0:0:0:0:0:1]", ca::name_kind::ipv6, "::1", "::1"},
                        row{"ops@Test.Local", ca::name_kind::email, "ops@test.local", "test.local"},
                        row{"spiffe://Test.Local/ns/a", ca::name_kind::uri, "spiffe://Test.Local/ns/a", "test.local"},
                        row{"https://u@[::1]:8443/x", ca::name_kind::uri, "https://u@[::1]:8443/x", "::1"}}) {
    auto n = ca::parse_name(r.text, "field");
    EXPECT_EQ(n.kind, r.kind) << r.text;
    EXPECT_EQ(n.text, r.normal) << r.text;
    EXPECT_EQ(n.host(), r.host) << r.text;
    EXPECT_EQ(n.is_ip(), r.kind == ca::name_kind::ipv4 || r.kind == ca::name_kind::ipv6) << r.text;
  }
  EXPECT_EQ(ca::parse_name("10.1.2.3", "f").ip_bytes, std::string("\x0a\x01\x02\x03", 4));
}

TEST(NamesTest, ErrorsNameTheCallersFieldAndSayWhy) {
  struct row {
    const char* text;
    const char* why;
  };
  for (const auto& r : {row{"", "is empty"}, row{"bad name", "contains ' '"}, row{"under_score.test", "contains '_'"},
                        row{"300.1.1.1", "is not a valid IPv4 address"}, row{"::g", "is not a valid IPv6 address"},
                        row{"*.test", "wildcard over a top-level name"}, row{"a.*.test", "is not a whole leftmost label"},
                        row{"-a.test", "starts or ends with '-'"}, row{"@test.local", "is not a valid email address"}}) {
    try {
      ca::parse_name(r.text, "--service");
      ADD_FAILURE() << "'" << r.text << "' was accepted";
    } catch (const error& e) {
      EXPECT_EQ(e.field(), "--service") << r.text;
      EXPECT_THAT(e.problem(), AllOf(HasSubstr("'" + std::string(r.text) + "'"), HasSubstr(r.why))) << r.text;
      EXPECT_EQ(std::string(e.what()), "--service: " + e.problem());
      EXPECT_TRUE(e.openssl_call().empty());
    }
  }
}

TEST(NamesTest, IsIpAddressAgreesWithTheParser) {
  for (const char* ip : {"127.0.0.1", "::1", "fd00::1", "10.0.0.255"}) {
    EXPECT_TRUE(ca::is_ip_address(ip)) << ip;
    EXPECT_TRUE(ca::parse_name(ip, "f").is_ip()) << ip;
  }
  // "1.2.3" is refused as an IPv4 address by the parser, never mistaken for a DNS name.
  for (const char* other : {"", "localhost", "1.2.3", "[::1]", "127.0.0.1:80", "::1/128"}) EXPECT_FALSE(ca::is_ip_address(other)) << other;
  EXPECT_THAT(error_from([] { ca::parse_name("1.2.3", "f"); }), HasSubstr("is not a valid IPv4 address"));
}

TEST(NameRangesTest, DnsSuffixesCoverThemselvesAndWhatIsBelowThem) {
  auto range = ca::parse_name_range(".Test.Local", "--allow-name");
  EXPECT_EQ(range.dns, "test.local");
  EXPECT_TRUE(range.contains(ca::parse_name("test.local", "f")));
  EXPECT_TRUE(range.contains(ca::parse_name("a.b.test.local", "f")));
  EXPECT_TRUE(range.contains(ca::parse_name("*.svc.test.local", "f")));
  EXPECT_FALSE(range.contains(ca::parse_name("nottest.local", "f"))) << "a suffix is a whole label";
  EXPECT_FALSE(range.contains(ca::parse_name("test.local.example", "f")));
  EXPECT_FALSE(range.contains(ca::parse_name("127.0.0.1", "f")));
}

TEST(NameRangesTest, CidrBlocksCoverTheirAddressesOnly) {
  auto v4 = ca::parse_name_range("10.0.0.0/8", "--allow-name");
  EXPECT_TRUE(v4.contains(ca::parse_name("10.255.0.1", "f")));
  EXPECT_FALSE(v4.contains(ca::parse_name("11.0.0.1", "f")));
  EXPECT_FALSE(v4.contains(ca::parse_name("::ffff:10.0.0.1", "f"))) << "another family";
  auto v6 = ca::parse_name_range("fd00::/8", "--allow-name");
  EXPECT_TRUE(v6.contains(ca::parse_name("fd12::1", "f")));
  EXPECT_FALSE(v6.contains(ca::parse_name("fe80::1", "f")));
  EXPECT_TRUE(ca::parse_name_range("127.0.0.1/32", "f").contains(ca::parse_name("127.0.0.1", "f")));
}

TEST(NameRangesTest, HostBitsAreRefusedWithTheBlockTheyLieIn) {
  auto e = error_from([] { ca::parse_name_range("10.0.0.1/8", "--allow-name"); });
  EXPECT_EQ(e, "--allow-name: '10.0.0.1/8' is not a valid CIDR range: host bits are set (the block it lies in is 10.0.0.0/8)");
  EXPECT_THAT(error_from([] { ca::parse_name_range("fd00::1/8", "f"); }), HasSubstr("the block it lies in is fd00::/8"));
  EXPECT_THAT(error_from([] { ca::parse_name_range("10.0.0.0/33", "f"); }), HasSubstr("bad prefix length"));
  EXPECT_THAT(error_from([] { ca::parse_name_range("10.0.0/8", "f"); }), HasSubstr("bad address"));
  EXPECT_THAT(error_from([] { ca::parse_name_range("under_score", "f"); }), HasSubstr("contains '_'"));
}

TEST(NameRangesTest, PermitsReadsConstraintsAsRfc5280Does) {
  std::vector<ca::name_range> dns_only{ca::parse_name_range("test", "f")};
  EXPECT_TRUE(ca::permits(dns_only, ca::parse_name("a.test", "f")));
  EXPECT_FALSE(ca::permits(dns_only, ca::parse_name("a.example", "f")));
  EXPECT_TRUE(ca::permits(dns_only, ca::parse_name("192.0.2.1", "f"))) << "no IP range: IPs are not constrained";
  EXPECT_TRUE(ca::permits(dns_only, ca::parse_name("ops@example.com", "f"))) << "email constraints are their own";
  std::vector<ca::name_range> both{ca::parse_name_range("test", "f"), ca::parse_name_range("127.0.0.0/8", "f")};
  EXPECT_FALSE(ca::permits(both, ca::parse_name("192.0.2.1", "f")));
}

TEST(UrlsTest, Ipv6HostsAreBracketedOnce) {
  EXPECT_EQ(ca::url_host("service.test.local"), "service.test.local");
  EXPECT_EQ(ca::url_host("::1"), "[::1]");
  EXPECT_EQ(ca::url_host("[::1]"), "[::1]");
  EXPECT_EQ(ca::authority("127.0.0.1", 443), "127.0.0.1:443");
  EXPECT_EQ(ca::authority("::1", 8443), "[::1]:8443");
  EXPECT_EQ(ca::https_url("service.test.local", 8443), "https://service.test.local:8443/");
  EXPECT_EQ(ca::https_url("::1", 1, "/health"), "https://[::1]:1/health");
}

// The error type: its parts stay apart, and an outer layer's context keeps the OpenSSL details.
TEST(ErrorTest, WithinAddsContextAndKeepsTheOpensslQueue) {
  error inner("cert_request.names[0]", "'x' is bad", "X509_sign", {"error:1", "error:2"});
  EXPECT_STREQ(inner.what(), "cert_request.names[0]: 'x' is bad (X509_sign failed; error:1; error:2)");
  auto outer = inner.within("--service api.test.local");
  EXPECT_EQ(outer.field(), "--service api.test.local: cert_request.names[0]");
  EXPECT_EQ(outer.problem(), "'x' is bad");
  EXPECT_EQ(outer.openssl_call(), "X509_sign");
  EXPECT_EQ(outer.openssl_errors(), (std::vector<std::string>{"error:1", "error:2"}));
  EXPECT_EQ(error("no field").within("tls.yaml:3:5").field(), "tls.yaml:3:5");
  EXPECT_STREQ(error("no field").what(), "no field");
}

}  // namespace
