// The impostor catalog against tlsfix's own client and against clients broken on purpose: each
// broken client must be caught on exactly the entries its flaw lets through.
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include <tlsfix/harness.hpp>

#include "impostor_fixture.hpp"
#include "support.hpp"

namespace {

using namespace tlsfix;
using ::testing::IsSupersetOf;
using ::testing::UnorderedElementsAreArray;

using ImpostorTest = test::ImpostorCatalogTest;
using test::failed_entries;

TEST_F(ImpostorTest, CatalogHoldsEveryEntryOnItsOwnPort) {
  std::set<std::string> names;
  std::set<std::uint16_t> ports;
  for (const auto& e : catalog_->entries()) {
    names.insert(e.name);
    ports.insert(e.port);
    EXPECT_NE(e.port, 0) << e.name;
  }
  EXPECT_EQ(names.size(), catalog_->entries().size()) << "names are unique";
  EXPECT_EQ(ports.size(), catalog_->entries().size()) << "every entry is its own server";
  EXPECT_THAT(names, IsSupersetOf({"expired", "not-yet-valid", "wrong-host", "wildcard-too-deep", "self-signed",
                                   "untrusted-root", "lookalike-root", "incomplete-chain", "reversed-chain",
                                   "leaf-is-ca", "client-eku", "cn-only", "sha1", "rsa-1024", "outside-constraints",
                                   "revoked", "ip-not-in-san", "tls1.0", "tls1.1", "plaintext", "good",
                                   "no-common-name", "rsa-4096", "ecdsa-p384", "ed25519", "many-sans"}));
}

TEST_F(ImpostorTest, TlsfixTestClientPassesTheWholeCatalogStrictly) {
  auto report = harness::check_client(*catalog_, harness::strict_test_client(*catalog_), {.strict = true});
  EXPECT_TRUE(report.passed()) << report.table();
  for (const auto& row : report.rows) {
    if (row.entry.expected == harness::expectation::reject && !row.skipped) {
      EXPECT_THAT(row.detail, ::testing::HasSubstr(row.entry.expected_error)) << row.entry.name;
    }
  }
}

TEST_F(ImpostorTest, EachCertificateImpostorFailsWithItsSpecificVerifyError) {
  for (const auto& e : catalog_->entries()) {
    if (e.expected_verify_error == 0 || e.tier == harness::tier::revocation) continue;
    harness::test_client client{{.host = e.host, .port = e.port, .trust = catalog_->trust(),
                                 .resolve = {{e.host, {"127.0.0.1"}}}}};
    auto result = client.handshake();
    EXPECT_EQ(result.failure.verify_error, e.expected_verify_error) << e.name << ": " << result.message();
  }
}

TEST_F(ImpostorTest, RevokedEntryIsListedInTheCatalogCrl) {
  const auto& revoked = catalog_->entry("revoked");
  harness::test_client client{{.host = revoked.host, .port = revoked.port, .trust = catalog_->trust(),
                               .resolve = {{revoked.host, {"127.0.0.1"}}}}};
  auto result = client.handshake();
  ASSERT_TRUE(result.ok()) << "only a revocation check can catch it: " << result.message();
  auto crl = ca::crl::from_pem(ca::read_file(catalog_->crl_file()));
  auto verdict = ca::verify(result.peer_chain[0], {.roots = catalog_->trust().roots(), .name = revoked.host, .crls = {crl}});
  EXPECT_EQ(verdict.error, X509_V_ERR_CERT_REVOKED);
}

// Clients broken on purpose, written only for these tests.
// - sni_without_name_check: sends SNI even for an IP address and checks no name (typical Beast,
//   cpp-httplib and Poco code).
// - weak_policy: a careful client at security level 0 with TLS 1.0 allowed.
// - checks_revocation: careful, and checks every CA's CRL from the file it is given.
enum class flaw {
  none,
  verify_none,
  no_hostname_check,
  sni_without_name_check,
  ignores_time,
  trusts_system_store,
  accepts_common_name,
  weak_policy,
  checks_revocation,
};

harness::connect_outcome openssl_client(const harness::impostor_catalog& catalog, const harness::impostor& e, flaw f,
                                        const std::filesystem::path& crls = {}) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, f == flaw::weak_policy ? TLS1_VERSION : TLS1_2_VERSION);
  if (f == flaw::weak_policy) SSL_CTX_set_security_level(ctx, 0);
  if (f == flaw::trusts_system_store) SSL_CTX_set_default_verify_paths(ctx);
  SSL_CTX_load_verify_locations(ctx, catalog.trust().ca_file().c_str(), nullptr);
  if (f == flaw::checks_revocation) {
    SSL_CTX_load_verify_locations(ctx, crls.c_str(), nullptr);
    X509_STORE_set_flags(SSL_CTX_get_cert_store(ctx), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  }
  SSL_CTX_set_verify(ctx, f == flaw::verify_none ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nullptr);
  BIO* bio = BIO_new_connect(("127.0.0.1:" + std::to_string(e.port)).c_str());
  SSL* ssl = SSL_new(ctx);
  SSL_set_bio(ssl, bio, bio);
  bool ip = e.host == "127.0.0.1";
  if (!ip || f == flaw::sni_without_name_check) SSL_set_tlsext_host_name(ssl, e.host.c_str());
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (f != flaw::no_hostname_check && f != flaw::sni_without_name_check) {
    if (ip) X509_VERIFY_PARAM_set1_ip_asc(param, e.host.c_str());
    else X509_VERIFY_PARAM_set1_host(param, e.host.c_str(), 0);
    X509_VERIFY_PARAM_set_hostflags(param, f == flaw::accepts_common_name ? 0 : X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  }
  if (f == flaw::ignores_time) X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME);
  harness::connect_outcome outcome;
  if (SSL_connect(ssl) == 1) {
    static const char request[] = "GET / HTTP/1.1\r\nHost: impostor\r\nConnection: close\r\n\r\n";
    char reply[64];
    outcome.connected = SSL_write(ssl, request, sizeof request - 1) > 0 && SSL_read(ssl, reply, sizeof reply) > 0;
    outcome.detail = "connected";
  } else {
    outcome.detail = X509_verify_cert_error_string(SSL_get_verify_result(ssl));
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return outcome;
}

harness::check_report check(const harness::impostor_catalog& catalog, flaw f, harness::check_options options = {}) {
  return harness::check_client(catalog, [&](const harness::impostor& e) { return openssl_client(catalog, e, f); },
                               options);
}

constexpr harness::check_options strict{.strict = true};

std::set<std::string> weak_entries(const harness::check_report& report) {
  std::set<std::string> out;
  for (const auto& row : report.rows)
    if (row.verdict() == "weak") out.insert(row.entry.name);
  return out;
}

TEST_F(ImpostorTest, CarefulOpensslClientPassesTheBaselineButNotTheStrictTier) {
  EXPECT_TRUE(check(*catalog_, flaw::none).passed()) << check(*catalog_, flaw::none).table();
  EXPECT_THAT(failed_entries(check(*catalog_, flaw::none, strict)), UnorderedElementsAreArray({"leaf-is-ca"}));
}

TEST_F(ImpostorTest, ClientThatDoesNotVerifyIsCaughtOnEveryCertificateImpostor) {
  auto report = check(*catalog_, flaw::verify_none);
  EXPECT_THAT(failed_entries(report),
              UnorderedElementsAreArray({"expired", "not-yet-valid", "wrong-host", "wildcard-too-deep", "self-signed",
                                         "untrusted-root", "lookalike-root", "incomplete-chain", "reversed-chain",
                                         "outside-constraints", "ip-not-in-san", "system-store"}));
  // Accepting weak policy is reported on every run, counted only when asked for.
  EXPECT_THAT(weak_entries(report), UnorderedElementsAreArray({"client-eku", "sha1", "rsa-1024"}));
  EXPECT_THAT(failed_entries(check(*catalog_, flaw::verify_none, {.policy = true})),
              IsSupersetOf({"client-eku", "sha1", "rsa-1024"}));
}

TEST_F(ImpostorTest, ClientThatSendsSniForAnAddressAndChecksNoNameIsCaughtOnEveryNameEntry) {
  // The servers answer any SNI, so a client that sends "127.0.0.1" reaches the handshake and is
  // held to the name checks it skips; no entry escapes by refusing the name.
  EXPECT_THAT(failed_entries(check(*catalog_, flaw::sni_without_name_check, strict)),
              UnorderedElementsAreArray({"wrong-host", "wildcard-too-deep", "ip-not-in-san", "cn-only", "leaf-is-ca"}));
}

TEST_F(ImpostorTest, WeakPolicyClientPassesByDefaultIsReportedAndFailsWithPolicy) {
  auto report = check(*catalog_, flaw::weak_policy);
  EXPECT_TRUE(report.passed()) << report.table();
  EXPECT_THAT(weak_entries(report), UnorderedElementsAreArray({"sha1", "rsa-1024", "tls1.0", "tls1.1"}));
  EXPECT_EQ(report.weaknesses(), 4u);
  EXPECT_THAT(report.table(), ::testing::HasSubstr("4 weak-policy entries accepted (not counted without --policy)"));
  EXPECT_THAT(report.table(), ::testing::ContainsRegex("\nsha1 +reject +accepted +weak "));
  auto with_policy = check(*catalog_, flaw::weak_policy, {.policy = true});
  EXPECT_THAT(failed_entries(with_policy), UnorderedElementsAreArray({"sha1", "rsa-1024", "tls1.0", "tls1.1"}));
  EXPECT_EQ(with_policy.weaknesses(), 0u);
}

TEST_F(ImpostorTest, CrlFileLetsAWholeChainRevocationCheckerPass) {
  auto all = harness::check_client(
      *catalog_, [&](const harness::impostor& e) { return openssl_client(*catalog_, e, flaw::checks_revocation, catalog_->crl_file()); },
      {.revocation = true});
  EXPECT_TRUE(all.passed()) << all.table();
  // Negative control: with the root's CRL alone, "good" (through an intermediate) cannot be checked.
  auto root_only = ca::temp_file(ca::crl::from_pem(ca::read_file(catalog_->crl_file())).to_pem(), "root.crl");
  auto partial = harness::check_client(
      *catalog_, [&](const harness::impostor& e) { return openssl_client(*catalog_, e, flaw::checks_revocation, root_only.path()); },
      {.revocation = true});
  EXPECT_THAT(failed_entries(partial), ::testing::Contains("good"));
  for (const auto& row : partial.rows) {
    if (row.entry.name == "good") {
      EXPECT_EQ(row.detail, "unable to get certificate CRL");
    }
  }
}

TEST_F(ImpostorTest, ClientWithoutHostnameCheckIsCaughtOnTheNameEntries) {
  EXPECT_THAT(failed_entries(check(*catalog_, flaw::no_hostname_check, strict)),
              UnorderedElementsAreArray({"wrong-host", "wildcard-too-deep", "ip-not-in-san", "cn-only", "leaf-is-ca"}));
}

TEST_F(ImpostorTest, ClientThatIgnoresTimeIsCaughtOnExpiredAndNotYetValid) {
  EXPECT_THAT(failed_entries(check(*catalog_, flaw::ignores_time)),
              UnorderedElementsAreArray({"expired", "not-yet-valid"}));
}

TEST_F(ImpostorTest, ClientThatTrustsTheSystemStoreIsCaught) {
  std::set<std::string> failed;
  {
    test::scoped_environment decoy{catalog_->environment()};
    failed = failed_entries(check(*catalog_, flaw::trusts_system_store));
  }
  EXPECT_THAT(failed, UnorderedElementsAreArray({"system-store"}));
}

TEST_F(ImpostorTest, ClientThatAcceptsTheCommonNameIsCaughtInTheStrictTier) {
  EXPECT_THAT(failed_entries(check(*catalog_, flaw::accepts_common_name, strict)),
              UnorderedElementsAreArray({"cn-only", "leaf-is-ca"}));
}

TEST_F(ImpostorTest, ReportTableNamesEveryEntryAndTheVerdict) {
  auto report = check(*catalog_, flaw::ignores_time);
  auto table = report.table();
  for (const auto& e : catalog_->entries()) EXPECT_THAT(table, ::testing::HasSubstr(e.name));
  EXPECT_THAT(table, ::testing::HasSubstr("FAIL: 2 of"));
  // Row verdicts use the same words as the CLI's JSON (check_row::verdict).
  EXPECT_THAT(table, ::testing::ContainsRegex("\nexpired +reject +accepted +fail "));
  EXPECT_THAT(table, ::testing::ContainsRegex("\ngood +accept +accepted +pass "));
  EXPECT_FALSE(report.passed());
  EXPECT_EQ(report.failures(), 2u);
  // A skipped row was never run, so it has no actual.
  EXPECT_THAT(table, ::testing::ContainsRegex("\nrevoked +reject +- +skipped "));
}

TEST_F(ImpostorTest, AClientThatThrowsCountsAsRejecting) {
  auto report = harness::check_client(*catalog_, [](const harness::impostor&) -> harness::connect_outcome {
    throw std::runtime_error("no route");
  });
  EXPECT_THAT(failed_entries(report), UnorderedElementsAreArray({"good", "no-common-name", "ecdsa-p384", "ed25519",
                                                                 "many-sans", "rsa-4096"}));
  EXPECT_EQ(report.rows.front().detail, "no route");
}

// The line that carries the error, in what real clients print (tests/ci holds the clients).
// docs/impostors.md lists the entries as the catalog does: the same names, tiers, descriptions
// and measured clients, and no others.
TEST(ImpostorDocsTest, TheDocsTableIsTheCatalogsListing) {
  auto doc = ca::read_file(TLSFIX_DOCS_DIR "/impostors.md");
  std::size_t rows = 0;
  for (std::size_t at = doc.find("\n| `"); at != std::string::npos; at = doc.find("\n| `", at + 1)) ++rows;
  auto listed = harness::impostor_catalog::listing();
  EXPECT_EQ(rows, listed.size()) << "one row per entry";
  for (const auto& e : listed) {
    std::ostringstream tier;
    tier << e.tier;
    std::string row = "\n| `" + e.name + "` | " + tier.str() + (e.expected == harness::expectation::accept ? " (control)" : "") +
                      " | " + e.description + " | " + (e.known_accepted_by.empty() ? "—" : e.known_accepted_by) + " |\n";
    EXPECT_THAT(doc, ::testing::HasSubstr(row)) << "docs/impostors.md has no row " << row;
  }
}

TEST(CheckRowTest, DetailLineIsTheLineThatCarriesTheError) {
  auto line = [](std::string detail) { return harness::check_row{.detail = std::move(detail)}.detail_line(); };
  // openssl s_client: its chain walk first.
  EXPECT_EQ(line("CONNECTED(00000003)\ndepth=1 CN = tlsfix root\nverify error:num=20:unable to get local issuer certificate\n"
                 "verify return:1\n40E7:error:0A000086:SSL routines::certificate verify failed\n"),
            "verify error:num=20:unable to get local issuer certificate");
  // Python: the exception after the traceback, with the status tlsfix check-client puts first.
  EXPECT_EQ(line("exit 1: Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>\n"
                 "    raise SSLError(e)\nssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate has expired\n"),
            "exit 1: ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate has expired");
  // wget: its progress lines name the host, which may be "expired.impostor.test".
  EXPECT_EQ(line("--2026-12-01 10:00:00--  https://expired.impostor.test:4431/\n"
                 "Connecting to expired.impostor.test (expired.impostor.test)|127.0.0.1|:4431... connected.\n"
                 "ERROR: The certificate of 'expired.impostor.test' is not trusted.\n"),
            "ERROR: The certificate of 'expired.impostor.test' is not trusted.");
  // curl: the error line, not the advice after it.
  EXPECT_EQ(line("exit 60: curl: (60) SSL certificate problem: certificate has expired\n"
                 "More details here: https://curl.se/docs/sslcerts.html\n\ncurl failed to verify the legitimacy of the server\n"),
            "exit 60: curl: (60) SSL certificate problem: certificate has expired");
  // gnutls-cli: past its "- " info lines and the CA count.
  EXPECT_EQ(line("Processed 1 CA certificate(s).\nResolving 'x'...\n- Certificate type: X.509\n"
                 "- Status: The certificate is NOT trusted.\n*** PKI verification of server certificate failed...\n"),
            "*** PKI verification of server certificate failed...");
  EXPECT_EQ(line("exit 0: <html>\nhello\n"), "exit 0: hello");
  EXPECT_EQ(line("exit 7: \n"), "exit 7");
  EXPECT_EQ(line("\n   \n"), "");
}

}  // namespace
