// `tlsfix check-client` against the clients users run: curl, wget, openssl s_client, gnutls-cli,
// Python (urllib, requests), Node, a static Go binary, Java and psql. Each correct client passes
// the default check with the weak-policy entries measured for it (impostor::known_accepted_by), and
// fails --policy on exactly those; each broken variant is caught on exactly the entries its flaw
// lets through. Where a private mount namespace is available, the decoy lies over /etc/ssl/certs
// and names come from a private /etc/hosts: what a client trusts or resolves by default is caught
// too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "cli_support.hpp"

namespace {

using namespace tlsfix;
using namespace tlsfix::cli_test;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

struct checked {
  int status = -1;
  nlohmann::json report;
  std::string output;
};

checked check(const std::vector<std::string>& command, std::vector<std::string> flags = {}) {
  std::vector<std::string> args{"check-client", "--json"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back("--");
  args.insert(args.end(), command.begin(), command.end());
  auto r = tlsfix_verb(args);
  return {r.exit_status, json_of(r.output), r.output};
}

std::set<std::string> rows_with(const checked& c, const std::string& verdict) {
  std::set<std::string> out;
  for (const auto& row : c.report.at("rows"))
    if (row.at("verdict") == verdict) out.insert(row.at("entry").get<std::string>());
  return out;
}

// What a client that verifies nothing accepts, in the baseline tier.
const std::set<std::string> forgeries{"expired",        "not-yet-valid",    "wrong-host",     "wildcard-too-deep",
                                      "self-signed",    "untrusted-root",   "lookalike-root", "incomplete-chain",
                                      "reversed-chain", "outside-constraints", "ip-not-in-san", "system-store"};
const std::set<std::string> name_entries{"wrong-host", "wildcard-too-deep", "ip-not-in-san"};

// `base`, then `extra`, then the entry's URL.
std::vector<std::string> with_url(std::vector<std::string> base, const std::vector<std::string>& extra) {
  base.insert(base.end(), extra.begin(), extra.end());
  base.push_back("{url}");
  return base;
}

std::set<std::string> without(std::set<std::string> set, const std::string& entry) {
  set.erase(entry);
  return set;
}

// A correct client: passes by default with `weak` reported, and fails --policy on them alone.
checked expect_correct(const std::vector<std::string>& command, const std::set<std::string>& weak) {
  auto plain = check(command);
  EXPECT_EQ(plain.status, 0) << plain.output;
  EXPECT_THAT(rows_with(plain, "fail"), IsEmpty()) << plain.output;
  EXPECT_THAT(rows_with(plain, "weak"), UnorderedElementsAreArray(weak));
  EXPECT_EQ(plain.report["weaknesses"], weak.size());
  auto policy = check(command, {"--policy"});
  EXPECT_EQ(policy.status, weak.empty() ? 0 : 2);
  EXPECT_THAT(rows_with(policy, "fail"), UnorderedElementsAreArray(weak));
  return plain;
}

void expect_caught(const std::vector<std::string>& command, const std::set<std::string>& entries) {
  auto c = check(command);
  EXPECT_EQ(c.status, 2) << c.output;
  EXPECT_THAT(rows_with(c, "fail"), UnorderedElementsAreArray(entries)) << c.output;
}

#define REQUIRE_PROGRAM(p) \
  if (!test::have_program(p)) GTEST_SKIP() << p " not installed"
#define REQUIRE_PRIVATE_MOUNTS() \
  if (auto no_mounts = private_mounts_missing(); !no_mounts.empty()) GTEST_SKIP() << no_mounts
// Clients that dial by name: without a namespace or nss_wrapper their lookups would ask the
// machine's DNS, which no test may do.
#define REQUIRE_NAMES()                                                                        \
  if (auto no_names = private_mounts_missing().empty() ? std::string() : nss_wrapper_missing(); \
      !no_names.empty())                                                                       \
  GTEST_SKIP() << no_names

TEST(RealClientsTest, CurlGivenItsCaStillTrustsItsCompiledInPathUnlessTold) {
  REQUIRE_PROGRAM("curl");
  REQUIRE_PRIVATE_MOUNTS();
  const std::vector<std::string> curl{"curl", "-sS", "--max-time", "10", "--cacert", "{ca}"};
  auto with = [&](const std::vector<std::string>& extra) { return with_url(curl, extra); };
  // --capath /dev/null keeps curl to {ca}; without it, Debian's curl also reads /etc/ssl/certs.
  expect_correct(with({"--capath", "/dev/null"}), {});
  expect_caught(with({}), {"system-store"});
  expect_caught(with({"--capath", "/etc/ssl/certs"}), {"system-store"});
  auto bundle = check({"curl", "-sS", "--max-time", "10", "--cacert", "/etc/ssl/certs/ca-certificates.crt", "{url}"});
  EXPECT_THAT(rows_with(bundle, "fail"), ::testing::Contains("system-store")) << "the update-ca-certificates bundle is the decoy";
  EXPECT_THAT(rows_with(bundle, "fail"), ::testing::Contains("good")) << "and the real root is not in it";
  EXPECT_THAT(bundle.report["decoy_stores"], ::testing::Contains("/etc/ssl/certs"));
  EXPECT_THAT(bundle.report["names"].get<std::string>(), HasSubstr("private /etc/hosts"));
  expect_caught(with({"-k", "--capath", "/dev/null"}), forgeries);
}

TEST(RealClientsTest, CurlWithTheCrlFilePassesTheRevocationTier) {
  REQUIRE_PROGRAM("curl");
  std::vector<std::string> curl{"curl", "-sS", "--max-time", "10", "--cacert", "{ca}", "--capath", "/dev/null",
                                "--resolve", "{host}:{port}:127.0.0.1"};
  auto careless = curl;
  careless.push_back("{url}");
  auto with_crl = curl;
  with_crl.insert(with_crl.end(), {"--crlfile", "{crl}", "{url}"});
  auto passed = check(with_crl, {"--revocation"});
  EXPECT_EQ(passed.status, 0) << passed.output;
  auto missed = check(careless, {"--revocation"});
  EXPECT_EQ(missed.status, 2);
  EXPECT_THAT(rows_with(missed, "fail"), UnorderedElementsAreArray({"revoked"}));
}

TEST(RealClientsTest, WgetAcceptsWeakPolicyAndIsCaughtWithoutVerification) {
  REQUIRE_PROGRAM("wget");
  REQUIRE_PRIVATE_MOUNTS();  // wget has no --resolve
  const std::vector<std::string> wget{"wget", "-q", "-O", "/dev/null", "--timeout=10", "--tries=1"};
  auto with = [&](const std::vector<std::string>& extra) { return with_url(wget, extra); };
  // wget 1.21 on GnuTLS: no setting refuses these, which is why they are the policy tier.
  expect_correct(with({"--ca-certificate={ca}", "--ca-directory=/dev/null"}), {"client-eku", "rsa-1024", "tls1.0", "tls1.1"});
  expect_caught(with({"--ca-certificate={ca}"}), {"system-store"});  // it reads the system's too
  expect_caught(with({"--no-check-certificate"}), forgeries);
}

TEST(RealClientsTest, OpensslSClientThatSendsSniButChecksNoNameIsCaught) {
  REQUIRE_PROGRAM("openssl");
  const std::vector<std::string> s_client{"openssl", "s_client", "-connect", "127.0.0.1:{port}", "-servername", "{host}",
                                          "-verify_return_error", "-CAfile", "{ca}", "-brief"};
  auto careful = s_client;
  careful.insert(careful.end(), {"-verify_hostname", "{host}"});
  expect_correct(careful, {});
  // Item 1 of the issue: the SNI "127.0.0.1" is answered, so the name check alone decides.
  expect_caught(s_client, name_entries);
}

TEST(RealClientsTest, GnutlsCliAcceptsOldProtocolsAndSmallKeys) {
  REQUIRE_PROGRAM("gnutls-cli");
  REQUIRE_PRIVATE_MOUNTS();  // gnutls-cli dials by name
  expect_correct({"gnutls-cli", "--x509cafile", "{ca}", "--port", "{port}", "{host}"}, {"rsa-1024", "tls1.0", "tls1.1"});
  // --insecure still refuses a CA certificate as the leaf (key usage): reversed-chain.
  expect_caught({"gnutls-cli", "--insecure", "--port", "{port}", "{host}"}, without(forgeries, "reversed-chain"));
  // With no CA file it trusts the system's, which is the decoy: the real root's controls fail.
  auto system = check({"gnutls-cli", "--port", "{port}", "{host}"});
  EXPECT_THAT(rows_with(system, "fail"), ::testing::IsSupersetOf({"system-store", "good"}));
}

TEST(RealClientsTest, PythonUrllibAndRequests) {
  if (!test::have_program("/usr/bin/python3")) GTEST_SKIP() << "Debian's python3 not installed";
  REQUIRE_NAMES();
  const std::string urllib = "import ssl, sys, urllib.request; urllib.request.urlopen(sys.argv[1], context=";
  expect_correct({"/usr/bin/python3", "-c", urllib + "ssl.create_default_context(cafile=sys.argv[2]), timeout=10).read()",
                  "{url}", "{ca}"},
                 {});
  expect_caught({"/usr/bin/python3", "-c", urllib + "ssl._create_unverified_context(), timeout=10).read()", "{url}"}, forgeries);
  if (test::run({"/usr/bin/python3", "-c", "import requests"}).exit_status != 0) GTEST_SKIP() << "python3-requests not installed";
  const std::string get = "import sys, requests; requests.get(sys.argv[1], timeout=10, verify=";
  auto careful = expect_correct({"/usr/bin/python3", "-c", get + "sys.argv[2]).raise_for_status()", "{url}", "{ca}"}, {});
  expect_caught({"/usr/bin/python3", "-W", "ignore", "-c", get + "False).raise_for_status()", "{url}"}, forgeries);
  // The detail is the exception, not the traceback's first line; the output has it all.
  for (const auto& row : careful.report["rows"])
    if (row["entry"] == "expired") {
      EXPECT_THAT(row["detail"].get<std::string>(),
                  HasSubstr("CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired"));
      EXPECT_THAT(row["output"].get<std::string>(), HasSubstr("Traceback (most recent call last):"));
    }
}

TEST(RealClientsTest, NodeHttps) {
  REQUIRE_PROGRAM("node");
  REQUIRE_NAMES();
  const std::string get =
      "require('https').get(process.argv[1], OPTIONS, r => { r.resume(); r.on('end', () => process.exit(0)); })"
      ".on('error', e => { console.error('Error: ' + e.message); process.exit(1); })";
  auto script = [&](const std::string& options) {
    std::string out = get;
    return out.replace(out.find("OPTIONS"), 7, options);
  };
  // Node's weak-policy verdicts depend on the OpenSSL it runs on (Debian's refuses RSA-1024, a
  // bundled one at security level 1 does not): only the baseline is asserted.
  auto careful = check({"node", "-e", script("{ca: require('fs').readFileSync(process.argv[2])}"), "{url}", "{ca}"});
  EXPECT_EQ(careful.status, 0) << careful.output;
  EXPECT_THAT(rows_with(careful, "weak"), ::testing::IsSubsetOf({"rsa-1024", "client-eku", "sha1", "tls1.0", "tls1.1"}));
  expect_caught({"node", "-e", script("{rejectUnauthorized: false}"), "{url}"}, forgeries);
}

TEST(RealClientsTest, StaticGoBinaryResolvesThroughThePrivateHostsFile) {
  std::string why;
  auto go = go_client(why);
  if (go.empty()) GTEST_SKIP() << why;
  REQUIRE_PRIVATE_MOUNTS();  // the pure-Go resolver never sees nss_wrapper
  // Go 1.19 accepts an RSA-1024 leaf; it refuses clientAuth-only, SHA-1 and TLS below 1.2.
  expect_correct({go.string(), "{ca}", "{url}"}, {"rsa-1024"});
  expect_caught({go.string(), "{ca}", "{url}", "insecure"}, forgeries);
  // Go reads the system roots from /etc/ssl/certs, the decoy (SSL_CERT_FILE/DIR unset: the
  // overlay alone is tested).
  auto system = check({"env", "-u", "SSL_CERT_FILE", "-u", "SSL_CERT_DIR", go.string(), "-", "{url}"});
  EXPECT_THAT(rows_with(system, "fail"), ::testing::IsSupersetOf({"system-store", "good"}));
}

// The JVM resolves names itself, from /etc/hosts: the private one. Java 17's PKIX cannot apply a
// trust anchor's name constraints, so even the careful client accepts outside-constraints (the
// entry lists it); it accepts SHA-1 and RSA-1024 too.
TEST(RealClientsTest, JavaResolvesThroughThePrivateHostsFileAndIgnoresTheRootsConstraints) {
  std::string why;
  auto classes = java_client(why);
  if (classes.empty()) GTEST_SKIP() << why;
  REQUIRE_PRIVATE_MOUNTS();
  auto careful = check({"java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", classes.string(), "JavaClient", "{ca}", "{url}"});
  EXPECT_EQ(careful.status, 2) << careful.output;
  EXPECT_THAT(rows_with(careful, "fail"), UnorderedElementsAreArray({"outside-constraints"})) << careful.output;
  EXPECT_THAT(rows_with(careful, "weak"), UnorderedElementsAreArray({"sha1", "rsa-1024"}));
  for (const auto& row : careful.report["rows"]) {
    if (row["entry"] == "outside-constraints") {
      EXPECT_THAT(row["known_accepted_by"].get<std::string>(), HasSubstr("Java 17"));
    }
  }
  expect_caught({"java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", classes.string(), "JavaClient", "{ca}", "{url}", "insecure"}, forgeries);
}

// psql over the catalog's postgres protocol (the SSLRequest before TLS). Each weaker sslmode fails
// on exactly what it lets through.
TEST(RealClientsTest, PsqlVerifyFullPassesAndEachWeakerSslmodeIsCaught) {
  REQUIRE_PROGRAM("psql");
  REQUIRE_NAMES();
  auto psql = [](const std::string& settings) {
    return std::vector<std::string>{"psql", "host={host} port={port} user=u dbname=d connect_timeout=10 " + settings};
  };
  auto check_postgres = [&](const std::string& settings, std::vector<std::string> flags = {}) {
    flags.insert(flags.begin(), {"--protocol", "postgres"});
    return check(psql(settings), flags);
  };
  auto full = check_postgres("sslmode=verify-full sslrootcert={ca}");
  EXPECT_EQ(full.status, 0) << full.output;
  EXPECT_THAT(rows_with(full, "weak"), IsEmpty());
  EXPECT_EQ(check_postgres("sslmode=verify-full sslrootcert={ca}", {"--policy"}).status, 0);
  // require with no root file encrypts and verifies nothing: the classic downgrade.
  auto require = check_postgres("sslmode=require sslrootcert=/nonexistent/root.crt");
  EXPECT_EQ(require.status, 2);
  EXPECT_THAT(rows_with(require, "fail"), UnorderedElementsAreArray(forgeries)) << require.output;
  auto verify_ca = check_postgres("sslmode=verify-ca sslrootcert={ca}");
  EXPECT_THAT(rows_with(verify_ca, "fail"), UnorderedElementsAreArray(name_entries));
  auto names_and_plaintext = name_entries;
  names_and_plaintext.insert("plaintext");
  EXPECT_THAT(rows_with(check_postgres("sslmode=prefer sslrootcert={ca}"), "fail"), UnorderedElementsAreArray(names_and_plaintext));
  // The detail is libpq's own reason.
  for (const auto& row : full.report["rows"]) {
    if (row["entry"] == "plaintext") {
      EXPECT_THAT(row["detail"].get<std::string>(), HasSubstr("server does not support SSL, but SSL was required"));
    }
  }
}

TEST(RealClientsTest, AnUnknownProtocolIsAUsageError) {
  auto r = tlsfix_verb({"check-client", "--protocol", "mysql", "--", "true"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_THAT(r.output, HasSubstr("--protocol: 'mysql' is not one of https, postgres"));
}

// The client's view: the catalog's names and localhost, DNS only on loopback, the decoy store.
TEST(RealClientsTest, ClientSeesPrivateHostsLoopbackDnsAndTheDecoyStore) {
  REQUIRE_PRIVATE_MOUNTS();
  // foo.invalid is not in the hosts file; with hosts from files alone, no DNS query is made for it.
  auto c = check({"sh", "-c",
                  "echo; cat /etc/resolv.conf; getent hosts \"$0\"; getent hosts foo.invalid || echo unresolved;"
                  " grep '^hosts:' /etc/nsswitch.conf; ls /etc/ssl/certs | wc -l; ls /etc/ssl/certs; exit 1",
                  "{host}"});
  std::string output;
  for (const auto& row : c.report["rows"])
    if (row["entry"] == "good") output = row["output"];
  EXPECT_THAT(output, HasSubstr("\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n127.0.0.1 "));
  EXPECT_THAT(output, HasSubstr(" good.impostor.test "));
  EXPECT_THAT(output, HasSubstr("\nunresolved\nhosts: files\n6\n"));
  // The decoy's hash link and its bundle under the names tools read, and nothing else.
  EXPECT_THAT(output, ::testing::ContainsRegex("\n[0-9a-f]{8}\\.0\n"));
  for (const char* bundle : {"ca-certificates.crt", "ca-bundle.crt", "ca-bundle.trust.crt", "tls-ca-bundle.pem", "cert.pem"})
    EXPECT_THAT(output, HasSubstr(std::string("\n") + bundle + "\n"));
  // Nothing changed outside the client's namespace.
  EXPECT_THAT(slurp("/etc/hosts"), ::testing::Not(HasSubstr("impostor.test")));
}

// Without a namespace, nss_wrapper and the two variables, and the run says what that leaves out.
TEST(RealClientsTest, WithoutPrivateMountsItFallsBackToNssWrapperAndSaysWhatItMisses) {
  REQUIRE_PROGRAM("curl");
  if (auto missing = nss_wrapper_missing(); !missing.empty()) GTEST_SKIP() << missing;
  auto r = tlsfix_cli({"check-client", "--", "curl", "-sS", "--max-time", "10", "--cacert", "{ca}", "--capath", "/dev/null",
                       "{url}"},
                      {{"TLSFIX_PRIVATE_MOUNTS", "0"}}, std::chrono::seconds(120));
  EXPECT_EQ(r.exit_status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("tlsfix check-client: TLSFIX_PRIVATE_MOUNTS=0: names resolve through nss_wrapper, which"
                                  " static binaries (CGO_ENABLED=0 Go), the JVM and setuid programs bypass"));
  EXPECT_THAT(r.output, HasSubstr("decoy trust store over: SSL_CERT_FILE, SSL_CERT_DIR; names: nss_wrapper\n"));
}

}  // namespace
