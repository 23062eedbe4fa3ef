// What a cert_request means: how each name string becomes a subjectAltName, what the validity
// helpers produce, and that every bad field is refused with a message naming the field and value.
#include "tlsfix/ca/cert_request.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tlsfix/ca/certificate_authority.hpp"
#include "tlsfix/error.hpp"
#include "error_text.hpp"

namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tlsfix::ca::ca_options;
using tlsfix::ca::cert_request;
using tlsfix::ca::certificate_authority;
using tlsfix::ca::validity;
using namespace std::chrono_literals;
using clock_type = tlsfix::ca::clock;

// The text of the `tlsfix::error` that `f` throws, or a marker that makes the match fail.
using tlsfix::test::error_from;

struct name_case {
  std::string input;
  std::string san;
};

void PrintTo(const name_case& c, std::ostream* os) { *os << '\'' << c.input << "' -> " << c.san; }

class NameDetectionTest : public ::testing::TestWithParam<name_case> {};

TEST_P(NameDetectionTest, BecomesTheRightSubjectAltName) {
  auto ca = certificate_authority::create();
  auto leaf = ca.issue(GetParam().input);
  EXPECT_THAT(leaf.cert().subject_alt_names(), ElementsAre(GetParam().san));
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, NameDetectionTest,
    ::testing::Values(name_case{"service.test.local", "DNS:service.test.local"},
                      name_case{"Service.TEST.local", "DNS:service.test.local"},  // DNS names are case-insensitive
                      name_case{"localhost", "DNS:localhost"}, name_case{"*.svc.test.local", "DNS:*.svc.test.local"},
                      name_case{"127.0.0.1", "IP:127.0.0.1"}, name_case{"127.1.2.3", "IP:127.1.2.3"},
                      name_case{"::1", "IP:::1"}, name_case{"[::1]", "IP:::1"}, name_case{"0:0:0:0:0:0:0:1", "IP:::1"},
                      name_case{"spiffe://test.local/ns/x", "URI:spiffe://test.local/ns/x"},
                      name_case{"https://api.test.local:8443/v1", "URI:https://api.test.local:8443/v1"},
                      name_case{"ops@test.local", "email:ops@test.local"}),
    [](const ::testing::TestParamInfo<name_case>& param_info) { return "case" + std::to_string(param_info.index); });

TEST(NameDetectionTest, KeepsTheOrderOfSeveralNames) {
  auto ca = certificate_authority::create();
  auto leaf = ca.issue({.names = {"a.test", "127.0.0.1", "::1", "ops@test.local", "spiffe://test.local/x"}});
  EXPECT_THAT(leaf.cert().subject_alt_names(),
              ElementsAre("DNS:a.test", "IP:127.0.0.1", "IP:::1", "email:ops@test.local", "URI:spiffe://test.local/x"));
}

// Certificates carry whole seconds; compare times with that much slack and a little for the clock.
void expect_near(clock_type::time_point actual, clock_type::time_point expected, const char* what) {
  EXPECT_LE(actual, expected + 3s) << what;
  EXPECT_GE(actual, expected - 3s) << what;
}

TEST(ValidityTest, HelpersProduceTheirWindows) {
  auto now = clock_type::now();
  auto lasting = validity::lasting(2h);
  expect_near(lasting.not_before, now - 1h, "lasting: backdated an hour");
  expect_near(lasting.not_after, now + 2h, "lasting: ends after its length");

  auto standard = validity::standard();
  expect_near(standard.not_before, now - 1h, "standard");
  expect_near(standard.not_after, now + std::chrono::hours(24 * 90), "standard: 90 days");

  auto expired = validity::expired(3h);
  expect_near(expired.not_after, now - 3h, "expired: ended `ago`");
  EXPECT_EQ(expired.not_after - expired.not_before, std::chrono::hours(24));

  auto future = validity::not_yet_valid(5h);
  expect_near(future.not_before, now + 5h, "not_yet_valid: starts `in`");
  EXPECT_EQ(future.not_after - future.not_before, std::chrono::hours(24));

  auto brief = validity::short_lived(90s);
  expect_near(brief.not_before, now, "short_lived: not backdated");
  expect_near(brief.not_after, now + 90s, "short_lived");
}

TEST(ValidityTest, DefaultsOnlyAsCurrentlyValid) {
  auto now = clock_type::now();
  auto expired = validity::expired();
  EXPECT_LT(expired.not_after, now);
  auto future = validity::not_yet_valid();
  EXPECT_GT(future.not_before, now);
}

TEST(ValidityTest, IssuedCertificatesCarryTheRequestedWindow) {
  auto ca = certificate_authority::create();
  for (const auto& window : {validity::expired(), validity::not_yet_valid(), validity::short_lived(10min),
                             validity::lasting(std::chrono::hours(24 * 3))}) {
    auto leaf = ca.issue({.names = {"service.test.local"}, .validity = window});
    expect_near(leaf.cert().not_before(), window.not_before, "not_before");
    expect_near(leaf.cert().not_after(), window.not_after, "not_after");
  }
}

TEST(CertRequestErrorTest, EmptyNamesList) {
  auto ca = certificate_authority::create();
  EXPECT_THAT(error_from([&] { ca.issue(cert_request{}); }),
              AllOf(HasSubstr("cert_request.names"), HasSubstr("at least one name")));
}

struct bad_name_case {
  std::vector<std::string> names;
  std::string field;   // which entry is named
  std::string reason;  // a word of the explanation
};

void PrintTo(const bad_name_case& c, std::ostream* os) { *os << '\'' << c.names.back() << '\''; }

class BadNameTest : public ::testing::TestWithParam<bad_name_case> {};

TEST_P(BadNameTest, IsRefusedNamingTheFieldAndValue) {
  auto ca = certificate_authority::create();
  const auto& param = GetParam();
  std::string value = param.names.back();
  EXPECT_THAT(error_from([&] { ca.issue({.names = param.names}); }),
              AllOf(HasSubstr(param.field + ": '" + value + "'"), HasSubstr(param.reason)));
}

const std::string long_label(64, 'a');

INSTANTIATE_TEST_SUITE_P(
    Cases, BadNameTest,
    ::testing::Values(bad_name_case{{"ok.test", ""}, "cert_request.names[1]", "is empty"},
                      bad_name_case{{"300.1.1.1"}, "cert_request.names[0]", "not a valid IPv4 address"},
                      bad_name_case{{"1.2.3"}, "cert_request.names[0]", "not a valid IPv4 address"},
                      bad_name_case{{"::1::2"}, "cert_request.names[0]", "not a valid IPv6 address"},
                      bad_name_case{{"bad_name.test"}, "cert_request.names[0]", "contains '_'"},
                      bad_name_case{{"bad name.test"}, "cert_request.names[0]", "contains ' '"},
                      bad_name_case{{"-x.test"}, "cert_request.names[0]", "starts or ends with '-'"},
                      bad_name_case{{"x-.test"}, "cert_request.names[0]", "starts or ends with '-'"},
                      bad_name_case{{"a..test"}, "cert_request.names[0]", "empty label"},
                      bad_name_case{{"service.test."}, "cert_request.names[0]", "empty label"},
                      bad_name_case{{long_label + ".test"}, "cert_request.names[0]", "longer than 63"},
                      bad_name_case{{"a.test", "f*.test.local"}, "cert_request.names[1]", "not a whole leftmost label"},
                      bad_name_case{{"*.*.test.local"}, "cert_request.names[0]", "not a valid wildcard"},
                      bad_name_case{{"*.test"}, "cert_request.names[0]", "wildcard over a top-level name"},
                      bad_name_case{{"@test.local"}, "cert_request.names[0]", "not a valid email"},
                      bad_name_case{{"ops@bad_domain.test"}, "cert_request.names[0]", "not a valid email"},
                      bad_name_case{{"://test.local"}, "cert_request.names[0]", "not a valid URI"},
                      bad_name_case{{"example.com"}, "cert_request.names[0]", "outside the name constraints"},
                      bad_name_case{{"*.example.com"}, "cert_request.names[0]", "outside the name constraints"},
                      bad_name_case{
                          {"test.local.example.com"}, "cert_request.names[0]", "outside the name constraints"},
                      bad_name_case{{"nottest"}, "cert_request.names[0]", "outside the name constraints"},
                      bad_name_case{{"10.1.2.3"}, "cert_request.names[0]", "outside the name constraints"},
                      bad_name_case{{"128.0.0.1"}, "cert_request.names[0]", "outside the name constraints"},
                      bad_name_case{{"::2"}, "cert_request.names[0]", "outside the name constraints"}),
    [](const ::testing::TestParamInfo<bad_name_case>& param_info) {
      return "case" + std::to_string(param_info.index);
    });

TEST(NameConstraintsTest, OutsideNameSuggestsPermittedNames) {
  auto ca = certificate_authority::create();
  EXPECT_THAT(error_from([&] { ca.issue("example.com"); }),
              AllOf(HasSubstr("permitted: test, test.local, localhost, 127.0.0.0/8, ::1/128"),
                    HasSubstr("ca_options.permitted_names")));
}

TEST(NameConstraintsTest, PermittedNamesAllowExactlyWhatTheyAdd) {
  auto ca = certificate_authority::create({.permitted_names = {"example.com", "10.0.0.0/8"}});
  EXPECT_THAT(
      ca.issue({.names = {"example.com", "api.example.com", "*.example.com", "10.1.2.3"}}).cert().subject_alt_names(),
      ElementsAre("DNS:example.com", "DNS:api.example.com", "DNS:*.example.com", "IP:10.1.2.3"));
  // Negative controls: the defaults still apply and nothing else was opened up.
  EXPECT_NO_THROW(ca.issue("service.test.local"));
  EXPECT_THAT(error_from([&] { ca.issue("example.org"); }), HasSubstr("outside the name constraints"));
  EXPECT_THAT(error_from([&] { ca.issue("11.1.2.3"); }), HasSubstr("outside the name constraints"));
}

TEST(NameConstraintsTest, UnconstrainedAllowsAnyValidName) {
  auto ca = certificate_authority::create({.unconstrained = true});
  EXPECT_THAT(ca.issue({.names = {"example.com", "10.1.2.3"}}).cert().subject_alt_names(),
              ElementsAre("DNS:example.com", "IP:10.1.2.3"));
  // Unconstrained does not mean unchecked.
  EXPECT_THAT(error_from([&] { ca.issue("bad_name.example.com"); }), HasSubstr("contains '_'"));
}

TEST(NameConstraintsTest, BadPermittedNamesAreRefusedByIndex) {
  EXPECT_THAT(error_from([] {
                certificate_authority::create({.permitted_names = {"ok.test", "10.0.0.1/8"}});
              }),
              AllOf(HasSubstr("ca_options.permitted_names[1]: '10.0.0.1/8'"), HasSubstr("host bits")));
  EXPECT_THAT(error_from([] { certificate_authority::create({.permitted_names = {"10.0.0.0/33"}}); }),
              AllOf(HasSubstr("ca_options.permitted_names[0]: '10.0.0.0/33'"), HasSubstr("prefix length")));
  EXPECT_THAT(error_from([] { certificate_authority::create({.permitted_names = {"bad_name"}}); }),
              HasSubstr("ca_options.permitted_names[0]: 'bad_name'"));
  EXPECT_THAT(error_from([] { certificate_authority::create({.permitted_names = {"x.test"}, .unconstrained = true}); }),
              HasSubstr("must be empty when unconstrained"));
}

TEST(CertRequestErrorTest, NotAfterBeforeNotBefore) {
  auto ca = certificate_authority::create();
  auto now = clock_type::now();
  EXPECT_THAT(error_from([&] {
                ca.issue({.names = {"a.test"}, .validity = {now, now - 1h}});
              }),
              AllOf(HasSubstr("cert_request.validity"), HasSubstr("not_after"), HasSubstr("is not after not_before")));
  EXPECT_THAT(error_from([&] {
                ca.issue({.names = {"a.test"}, .validity = {now, now}});
              }),
              HasSubstr("cert_request.validity"));
  EXPECT_THAT(error_from([&] {
                certificate_authority::create({.validity = {now, now - 1h}});
              }),
              HasSubstr("ca_options.validity"));
  EXPECT_THAT(error_from([&] {
                ca.make_intermediate({.validity = {now, now - 1h}});
              }),
              HasSubstr("intermediate_options.validity"));
}

TEST(CertRequestErrorTest, CommonNameMustBe1To64Characters) {
  auto ca = certificate_authority::create();
  std::string longest(64, 'c');
  EXPECT_NO_THROW(ca.issue({.names = {"a.test"}, .common_name = longest}));
  std::string too_long(65, 'c');
  EXPECT_THAT(error_from([&] { ca.issue({.names = {"a.test"}, .common_name = too_long}); }),
              AllOf(HasSubstr("cert_request.common_name: '" + too_long + "'"), HasSubstr("1 to 64 characters")));
  EXPECT_THAT(error_from([&] { ca.issue({.names = {"a.test"}, .common_name = ""}); }),
              HasSubstr("cert_request.common_name: ''"));
  EXPECT_THAT(error_from([&] { certificate_authority::create({.common_name = too_long}); }),
              HasSubstr("ca_options.common_name"));
}

TEST(CertRequestErrorTest, IsTheTlsfixErrorTypeWithoutAnOpensslCall) {
  auto ca = certificate_authority::create();
  try {
    ca.issue("300.1.1.1");
    FAIL() << "no exception";
  } catch (const tlsfix::error& e) {
    EXPECT_EQ(e.openssl_call(), "") << "found by tlsfix, not by OpenSSL";
    EXPECT_TRUE(e.openssl_errors().empty());
  }
}

}  // namespace
