// verify(): every positive case is paired with negative controls that must fail for the specific
// X509_V_ERR_* reason, so a test can never pass because verification failed for some other cause.
#include "tlsfix/ca/verify.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <optional>
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
using tlsfix::ca::certificate;
using tlsfix::ca::certificate_authority;
using tlsfix::ca::issued_cert;
using tlsfix::ca::purpose;
using tlsfix::ca::usage;
using tlsfix::ca::validity;
using tlsfix::ca::verify_options;
using tlsfix::ca::verify_result;
using namespace std::chrono_literals;
using clock_type = tlsfix::ca::clock;

// Prints the code's name alongside OpenSSL's text, so a failure shows which error was found.
::testing::AssertionResult fails_with(const verify_result& result, int expected) {
  if (result.error == expected) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected error " << expected << " ("
                                       << X509_verify_cert_error_string(expected) << "), got " << result.error << ": "
                                       << result.message();
}

verify_result verify_as(const issued_cert& leaf, const std::string& name, purpose p = purpose::server) {
  return tlsfix::ca::verify(leaf.cert(),
                            {.roots = {leaf.root()}, .untrusted = leaf.chain(), .name = name, .purpose = p});
}

class VerifyTest : public ::testing::Test {
 protected:
  certificate_authority ca_ = certificate_authority::create();
};

TEST_F(VerifyTest, DnsName) {
  auto leaf = ca_.issue("service.test.local");
  auto result = verify_as(leaf, "service.test.local");
  EXPECT_TRUE(result.ok()) << result.message();
  EXPECT_THAT(result.chain, ElementsAre(leaf.cert(), ca_.root()));
  EXPECT_TRUE(verify_as(leaf, "SERVICE.Test.Local").ok()) << "host names compare case-insensitively";
  EXPECT_TRUE(fails_with(verify_as(leaf, "other.test.local"), X509_V_ERR_HOSTNAME_MISMATCH));
  EXPECT_TRUE(fails_with(verify_as(leaf, "test.local"), X509_V_ERR_HOSTNAME_MISMATCH));
}

TEST_F(VerifyTest, IpAddresses) {
  auto leaf = ca_.issue({.names = {"127.0.0.1", "::1"}});
  EXPECT_TRUE(verify_as(leaf, "127.0.0.1").ok());
  EXPECT_TRUE(verify_as(leaf, "::1").ok());
  EXPECT_TRUE(verify_as(leaf, "[::1]").ok());
  EXPECT_TRUE(fails_with(verify_as(leaf, "127.0.0.2"), X509_V_ERR_IP_ADDRESS_MISMATCH));
  EXPECT_TRUE(fails_with(verify_as(leaf, "::2"), X509_V_ERR_IP_ADDRESS_MISMATCH));
  // An IP address is never matched against a DNS name that looks like it, nor the reverse.
  auto dns_only = ca_.issue("localhost");
  EXPECT_TRUE(fails_with(verify_as(dns_only, "127.0.0.1"), X509_V_ERR_IP_ADDRESS_MISMATCH));
  EXPECT_TRUE(fails_with(verify_as(leaf, "localhost"), X509_V_ERR_HOSTNAME_MISMATCH));
}

TEST_F(VerifyTest, WrongRoot) {
  auto leaf = ca_.issue("service.test.local");
  auto other = certificate_authority::create();
  auto result = tlsfix::ca::verify(leaf.cert(), {.roots = {other.root()}, .name = "service.test.local"});
  EXPECT_TRUE(fails_with(result, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY));
  EXPECT_EQ(result.depth, 0);
  EXPECT_TRUE(result.chain.empty());
  // Trusting both, as during a rotation, works.
  EXPECT_TRUE(
      tlsfix::ca::verify(leaf.cert(), {.roots = {other.root(), ca_.root()}, .name = "service.test.local"}).ok());
}

TEST_F(VerifyTest, ClientPurpose) {
  auto client = ca_.issue({.names = {"alice@test.local"}, .usage = usage::client});
  EXPECT_TRUE(verify_as(client, "", purpose::client).ok());
  EXPECT_TRUE(verify_as(client, "alice@test.local", purpose::client).ok());
  EXPECT_TRUE(fails_with(verify_as(client, "bob@test.local", purpose::client), X509_V_ERR_EMAIL_MISMATCH));
  auto both = ca_.issue({.names = {"service.test.local"}, .usage = usage::server_and_client});
  EXPECT_TRUE(verify_as(both, "", purpose::client).ok());
  EXPECT_TRUE(verify_as(both, "service.test.local", purpose::server).ok());
}

TEST_F(VerifyTest, WrongPurpose) {
  auto server = ca_.issue("service.test.local");
  auto as_client = verify_as(server, "", purpose::client);
  EXPECT_TRUE(fails_with(as_client, X509_V_ERR_INVALID_PURPOSE));
  EXPECT_EQ(as_client.depth, 0);
  auto client = ca_.issue({.names = {"service.test.local"}, .usage = usage::client});
  EXPECT_TRUE(fails_with(verify_as(client, "service.test.local"), X509_V_ERR_INVALID_PURPOSE));
}

TEST_F(VerifyTest, ExpiredAndNotYetValid) {
  auto expired = ca_.issue({.names = {"service.test.local"}, .validity = validity::expired()});
  auto result = verify_as(expired, "service.test.local");
  EXPECT_TRUE(fails_with(result, X509_V_ERR_CERT_HAS_EXPIRED));
  EXPECT_EQ(result.depth, 0);
  auto future = ca_.issue({.names = {"service.test.local"}, .validity = validity::not_yet_valid()});
  EXPECT_TRUE(fails_with(verify_as(future, "service.test.local"), X509_V_ERR_CERT_NOT_YET_VALID));
}

TEST(VerifyAtTest, TimeTravelInsteadOfSleeping) {
  auto now = clock_type::now();
  // A root valid well before and after the leaf, so only the leaf's window decides.
  auto ca = certificate_authority::create({.validity = {now - std::chrono::days(7), now + std::chrono::days(365)}});
  auto leaf = ca.issue({.names = {"service.test.local"}, .validity = {now, now + std::chrono::days(30)}});
  auto at = [&](clock_type::time_point t) {
    return tlsfix::ca::verify(leaf.cert(), {.roots = {ca.root()}, .name = "service.test.local", .at = t});
  };
  EXPECT_TRUE(at(now + std::chrono::days(29)).ok());
  auto later = at(now + std::chrono::days(31));
  EXPECT_TRUE(fails_with(later, X509_V_ERR_CERT_HAS_EXPIRED));
  EXPECT_EQ(later.depth, 0);
  auto earlier = at(now - 1h);
  EXPECT_TRUE(fails_with(earlier, X509_V_ERR_CERT_NOT_YET_VALID));
  EXPECT_EQ(earlier.depth, 0);
  // The root expires too: reported at its own depth.
  auto much_later = at(now + std::chrono::days(400));
  EXPECT_TRUE(fails_with(much_later, X509_V_ERR_CERT_HAS_EXPIRED));
  EXPECT_EQ(much_later.depth, 1);

  auto future = ca.issue({.names = {"service.test.local"}, .validity = validity::not_yet_valid(2h)});
  EXPECT_TRUE(
      tlsfix::ca::verify(future.cert(), {.roots = {ca.root()}, .name = "service.test.local", .at = now + 3h}).ok());
}

TEST_F(VerifyTest, MissingIntermediate) {
  auto sub = ca_.make_intermediate();
  auto leaf = sub.issue("service.test.local");
  EXPECT_TRUE(verify_as(leaf, "service.test.local").ok());
  auto result = tlsfix::ca::verify(leaf.cert(), {.roots = {ca_.root()}, .name = "service.test.local"});
  EXPECT_TRUE(fails_with(result, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY));
  EXPECT_EQ(result.depth, 0);
}

TEST_F(VerifyTest, RevokedWithCrl) {
  auto revoked = ca_.issue("revoked.test.local");
  auto good = ca_.issue("good.test.local");
  ca_.revoke(revoked.cert());
  auto list = ca_.crl();
  auto check = [&](const issued_cert& leaf, const std::string& name) {
    return tlsfix::ca::verify(leaf.cert(), {.roots = {ca_.root()}, .name = name, .crls = {list}});
  };
  EXPECT_TRUE(check(good, "good.test.local").ok()) << check(good, "good.test.local").message();
  auto result = check(revoked, "revoked.test.local");
  EXPECT_TRUE(fails_with(result, X509_V_ERR_CERT_REVOKED));
  EXPECT_EQ(result.depth, 0);
  // Without CRLs, revocation is not checked at all.
  EXPECT_TRUE(verify_as(revoked, "revoked.test.local").ok());
}

TEST_F(VerifyTest, CrlRequiredButMissing) {
  auto sub = ca_.make_intermediate();
  auto leaf = sub.issue("service.test.local");
  // The root's CRL says nothing about the intermediate's leaves.
  auto result = tlsfix::ca::verify(
      leaf.cert(),
      {.roots = {ca_.root()}, .untrusted = leaf.chain(), .name = "service.test.local", .crls = {ca_.crl()}});
  EXPECT_TRUE(fails_with(result, X509_V_ERR_UNABLE_TO_GET_CRL));
  EXPECT_TRUE(tlsfix::ca::verify(
                  leaf.cert(),
                  {.roots = {ca_.root()}, .untrusted = leaf.chain(), .name = "service.test.local", .crls = {sub.crl()}})
                  .ok());
}

// A leaf made by hand with raw OpenSSL and signed with the CA's key, for shapes that tlsfix refuses
// to issue. It has the same extensions a tlsfix leaf has, so only what the test varies can fail.
certificate forge(const certificate_authority& ca, const std::optional<std::string>& common_name,
                  const std::optional<std::string>& san) {
  tlsfix::ca::x509_ptr cert{X509_new()};
  tlsfix::ca::evp_pkey_ptr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  EXPECT_TRUE(cert && key);
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 0x7e57ab1e);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("forged"), -1, -1, 0);
  if (common_name)
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name->c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.cert().native()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.cert().native(), cert.get(), nullptr, nullptr, 0);
  std::vector<std::pair<int, std::string>> extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                                                         {NID_key_usage, "critical,digitalSignature"},
                                                         {NID_ext_key_usage, "serverAuth"},
                                                         {NID_subject_key_identifier, "hash"},
                                                         {NID_authority_key_identifier, "keyid:always"}};
  if (san) extensions.emplace_back(NID_subject_alt_name, *san);
  for (const auto& [nid, value] : extensions) {
    tlsfix::ca::x509_extension_ptr ext{X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str())};
    EXPECT_TRUE(ext) << value;
    EXPECT_EQ(X509_add_ext(cert.get(), ext.get(), -1), 1);
  }
  EXPECT_GT(X509_sign(cert.get(), ca.key().native(), EVP_sha256()), 0);
  return certificate::from_native(cert.get());
}

TEST_F(VerifyTest, NameOutsideRootConstraintsIsAViolationEvenIfSigned) {
  // Positive control: the forging itself yields a leaf that verifies when its name is permitted.
  auto inside = forge(ca_, std::nullopt, "DNS:service.test.local");
  EXPECT_TRUE(tlsfix::ca::verify(inside, {.roots = {ca_.root()}, .name = "service.test.local"}).ok());

  auto outside = forge(ca_, std::nullopt, "DNS:example.com");
  EXPECT_TRUE(fails_with(tlsfix::ca::verify(outside, {.roots = {ca_.root()}, .name = "example.com"}),
                         X509_V_ERR_PERMITTED_VIOLATION));
  auto outside_ip = forge(ca_, std::nullopt, "IP:10.1.2.3");
  EXPECT_TRUE(fails_with(tlsfix::ca::verify(outside_ip, {.roots = {ca_.root()}, .name = "10.1.2.3"}),
                         X509_V_ERR_PERMITTED_VIOLATION));
  // Negative control on the constraint: an unconstrained root accepts the same forgery.
  auto open = certificate_authority::create({.unconstrained = true});
  EXPECT_TRUE(
      tlsfix::ca::verify(forge(open, std::nullopt, "DNS:example.com"), {.roots = {open.root()}, .name = "example.com"})
          .ok());
}

TEST_F(VerifyTest, CommonNameWithoutSanIsNeverTakenAsTheHostName) {
  auto with_san = forge(ca_, "service.test.local", "DNS:service.test.local");
  EXPECT_TRUE(tlsfix::ca::verify(with_san, {.roots = {ca_.root()}, .name = "service.test.local"}).ok());
  auto cn_only = forge(ca_, "service.test.local", std::nullopt);
  EXPECT_TRUE(fails_with(tlsfix::ca::verify(cn_only, {.roots = {ca_.root()}, .name = "service.test.local"}),
                         X509_V_ERR_HOSTNAME_MISMATCH));
  // A tlsfix leaf with a common name is matched by its SAN only, too.
  auto named = ca_.issue({.names = {"service.test.local"}, .common_name = "other.test.local"});
  EXPECT_TRUE(fails_with(verify_as(named, "other.test.local"), X509_V_ERR_HOSTNAME_MISMATCH));
}

TEST_F(VerifyTest, WildcardMatchesExactlyOneLabel) {
  auto leaf = ca_.issue("*.svc.test.local");
  EXPECT_TRUE(verify_as(leaf, "a.svc.test.local").ok());
  EXPECT_TRUE(fails_with(verify_as(leaf, "a.b.svc.test.local"), X509_V_ERR_HOSTNAME_MISMATCH));
  EXPECT_TRUE(fails_with(verify_as(leaf, "svc.test.local"), X509_V_ERR_HOSTNAME_MISMATCH));
}

TEST_F(VerifyTest, PartialWildcardIsNeverMatched) {
  auto partial = forge(ca_, std::nullopt, "DNS:f*.test.local");
  EXPECT_TRUE(fails_with(tlsfix::ca::verify(partial, {.roots = {ca_.root()}, .name = "foo.test.local"}),
                         X509_V_ERR_HOSTNAME_MISMATCH));
}

using tlsfix::test::error_from;

TEST_F(VerifyTest, MisuseThrows) {
  auto leaf = ca_.issue("service.test.local");
  EXPECT_THAT(error_from([&] { tlsfix::ca::verify(leaf.cert(), {.name = "service.test.local"}); }),
              HasSubstr("verify_options.roots"));
  EXPECT_THAT(error_from([&] { tlsfix::ca::verify(leaf.cert(), {.roots = {ca_.root()}}); }),
              AllOf(HasSubstr("server certificate needs a name")));
  EXPECT_THAT(error_from([&] { tlsfix::ca::verify(leaf.cert(), {.roots = {ca_.root()}, .name = "*.test.local"}); }),
              HasSubstr("wildcard pattern"));
  EXPECT_THAT(error_from([&] { tlsfix::ca::verify(leaf.cert(), {.roots = {ca_.root()}, .name = "bad_name"}); }),
              HasSubstr("verify name: 'bad_name'"));
}

TEST(VerifyResultTest, MessageNamesTheErrorAndDepth) {
  verify_result ok;
  EXPECT_EQ(ok.message(), "ok");
  verify_result bad{.error = X509_V_ERR_CERT_HAS_EXPIRED, .depth = 1};
  EXPECT_EQ(bad.message(), "certificate has expired (at depth 1)");
}

}  // namespace
