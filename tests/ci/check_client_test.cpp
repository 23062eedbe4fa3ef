// `tlsfix check-client`: real clients (curl, python3) held to the impostor catalog through the
// CLI, each correct client next to a careless variant that must be caught on the specific entries.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <tlsfix/harness.hpp>

#include <regex>
#include <set>

#include "cli_support.hpp"

namespace {

using namespace tlsfix;
using namespace tlsfix::cli_test;
using ::testing::HasSubstr;

// One connection per run: python3 -c SCRIPT CAFILE HOST PORT MODE; exit 0 when it connected.
constexpr const char* python_client = R"(
import socket, ssl, sys
cafile, host, port, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context(cafile=cafile)
ctx.hostname_checks_common_name = False
if mode == "no-hostname-check":
    ctx.check_hostname = False
with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname=host) as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        tls.recv(64)
)";

std::vector<std::string> check_client(std::vector<std::string> flags, const std::vector<std::string>& command) {
  std::vector<std::string> args{"check-client"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back("--");
  args.insert(args.end(), command.begin(), command.end());
  return args;
}

// The entries whose verdict is "fail" in --json output.
std::set<std::string> failed_entries(const nlohmann::json& report) {
  std::set<std::string> out;
  for (const auto& row : report.at("rows"))
    if (row.at("verdict") == "fail") out.insert(row.at("entry").get<std::string>());
  return out;
}

// --capath /dev/null: Debian's curl reads /etc/ssl/certs as well as --cacert otherwise, which the
// "system-store" entry catches where the decoy can lie over it (real_clients_test.cpp).
const std::vector<std::string> curl_with_resolve{"curl", "-sS", "--max-time", "10", "--cacert", "{ca}", "--capath", "/dev/null",
                                                 "--resolve", "{host}:{port}:127.0.0.1", "{url}"};

TEST(CliCheckClientTest, CurlWithItsCaAndResolvePasses) {
  if (!test::have_program("curl")) GTEST_SKIP() << "curl not installed";
  auto r = tlsfix_verb(check_client({}, curl_with_resolve));
  EXPECT_EQ(r.exit_status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("PASS: 0 of "));
}

TEST(CliCheckClientTest, CurlInsecureIsCaughtInTheTableAndTheJson) {
  if (!test::have_program("curl")) GTEST_SKIP() << "curl not installed";
  auto insecure = curl_with_resolve;
  insecure.insert(insecure.begin() + 1, "-k");
  auto table = tlsfix_verb(check_client({}, insecure));
  EXPECT_EQ(table.exit_status, 2) << table.output;
  for (const char* entry : {"expired", "wrong-host", "self-signed"})
    EXPECT_THAT(table.output, ::testing::ContainsRegex(std::string("\n") + entry + " +reject +accepted +fail ")) << table.output;

  auto json = tlsfix_verb(check_client({"--json"}, insecure));
  EXPECT_EQ(json.exit_status, 2);
  auto report = json_of(json.output);
  EXPECT_EQ(report["passed"], false);
  EXPECT_THAT(failed_entries(report), ::testing::IsSupersetOf({"expired", "wrong-host", "self-signed", "untrusted-root", "system-store"}));
  EXPECT_EQ(report["failures"], failed_entries(report).size());
  // The same word for each verdict in both: check_row::verdict().
  for (const auto& row : report["rows"])
    EXPECT_THAT(table.output, ::testing::ContainsRegex(std::string("\n").append(row["entry"].get<std::string>()) + " +[a-z]+ +[a-z-]+ +" +
                                                       row["verdict"].get<std::string>() + " "));
}

TEST(CliCheckClientTest, JsonHasOneRowPerCatalogEntry) {
  if (!test::have_program("curl")) GTEST_SKIP() << "curl not installed";
  auto r = tlsfix_verb(check_client({"--json"}, curl_with_resolve));
  ASSERT_EQ(r.exit_status, 0) << r.output;
  auto report = json_of(r.output);  // throws, failing the test, on anything but JSON
  std::vector<std::string> rows;
  for (const auto& row : report["rows"]) {
    for (const char* key : {"entry", "description", "tier", "expected", "actual", "verdict", "counted", "detail", "output",
                            "known_accepted_by"})
      EXPECT_TRUE(row.contains(key)) << key << " missing in " << row.dump();
    rows.push_back(row["entry"]);
  }
  std::vector<std::string> entries;
  auto catalog = harness::impostor_catalog::start();  // the same catalog, so the same entries
  for (const auto& e : catalog.entries()) entries.push_back(e.name);
  EXPECT_EQ(rows, entries);
  EXPECT_EQ(report["passed"], true);
  EXPECT_EQ(report["failures"], 0);
}

TEST(CliCheckClientTest, PythonWithoutHostnameCheckIsCaughtOnNameEntriesOnly) {
  if (!test::have_program("python3")) GTEST_SKIP() << "python3 not installed";
  auto strict = tlsfix_verb(check_client({"--json"}, {"python3", "-c", python_client, "{ca}", "{host}", "{port}", "strict"}));
  EXPECT_EQ(strict.exit_status, 0) << strict.output;
  auto careless =
      tlsfix_verb(check_client({"--json"}, {"python3", "-c", python_client, "{ca}", "{host}", "{port}", "no-hostname-check"}));
  EXPECT_EQ(careless.exit_status, 2) << careless.output;
  EXPECT_THAT(failed_entries(json_of(careless.output)),
              ::testing::UnorderedElementsAreArray({"wrong-host", "wildcard-too-deep", "ip-not-in-san"}));
}

// curl given no --resolve finds every name (a private /etc/hosts, or nss_wrapper), as an
// unmodified program would.
TEST(CliCheckClientTest, UnmodifiedCurlResolvesEveryName) {
  if (!test::have_program("curl")) GTEST_SKIP() << "curl not installed";
  if (auto missing = nss_wrapper_missing(); !missing.empty() && !private_mounts_missing().empty()) GTEST_SKIP() << missing;
  auto r = tlsfix_verb(check_client({}, {"curl", "-sS", "--max-time", "10", "--cacert", "{ca}", "--capath", "/dev/null", "{url}"}));
  EXPECT_EQ(r.exit_status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("PASS: 0 of "));
}

// Every placeholder is replaced, TLSFIX_* carry the same, and SSL_CERT_FILE is the decoy.
TEST(CliCheckClientTest, PlaceholdersAndEnvironment) {
  auto r = tlsfix_verb(check_client({"--json"}, {"sh", "-c",
                                                "echo \"$0 $1:$2 $TLSFIX_RESOLVE $([ \"$3\" = \"$TLSFIX_CA_FILE\" ] && echo ca-ok)"
                                                " $([ -f \"$4\" ] && [ \"$4\" = \"$TLSFIX_CRL_FILE\" ] && echo crl-ok)"
                                                " $([ \"$SSL_CERT_FILE\" != \"$3\" ] && echo decoy-ok)\"; exit 1",
                                                "{url}", "{host}", "{port}", "{ca}", "{crl}"}));
  ASSERT_EQ(r.exit_status, 2) << r.output;  // an always-failing client passes no positive control
  auto report = json_of(r.output);
  std::string detail;
  for (const auto& row : report["rows"])
    if (row["entry"] == "good") detail = row["detail"];
  std::smatch m;
  EXPECT_TRUE(std::regex_match(detail, m, std::regex(R"(exit 1: https://([^:/]+):([0-9]+)/ \1:\2 \1:\2:127\.0\.0\.1 ca-ok crl-ok decoy-ok)")))
      << detail;
  EXPECT_THAT(failed_entries(report), ::testing::Contains("good"));
}

// A client still running at --timeout is killed with what it started, and counts as rejecting.
TEST(CliCheckClientTest, HungClientIsKilledAtTheTimeout) {
  auto start = std::chrono::steady_clock::now();
  auto r = tlsfix_verb(check_client({"--json", "--timeout", "1s"}, {"sh", "-c", "case \"$0\" in expired.*) sleep 30; true;; esac; exit 1", "{host}"}));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20)) << "the shell's child was not killed";
  ASSERT_EQ(r.exit_status, 2) << r.output;
  auto report = json_of(r.output);
  auto rows = report["rows"];
  auto expired = std::find_if(rows.begin(), rows.end(), [](const nlohmann::json& row) { return row["entry"] == "expired"; });
  ASSERT_NE(expired, rows.end()) << "the catalog has an 'expired' entry, and the report a row for it";
  EXPECT_EQ((*expired)["actual"], "rejected");
  EXPECT_EQ((*expired)["detail"], "timed out after 1s (killed)");
}

// A program that cannot be started would "reject" every impostor: it is a usage error, not a pass.
TEST(CliCheckClientTest, MissingProgramIsAUsageError) {
  auto r = tlsfix_verb(check_client({}, {"no-such-client-tlsfix", "{url}"}));
  EXPECT_EQ(r.exit_status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("tlsfix check-client: cannot start no-such-client-tlsfix: not an executable file or not found on PATH"));
  auto bad_timeout = tlsfix_verb(check_client({"--timeout", "soon"}, {"true"}));
  EXPECT_EQ(bad_timeout.exit_status, 1);
  EXPECT_THAT(bad_timeout.output, HasSubstr("--timeout: 'soon' is not a duration"));
  auto help = tlsfix_verb({"check-client", "--help"});
  EXPECT_EQ(help.exit_status, 0);
  EXPECT_THAT(help.output, ::testing::AllOf(HasSubstr("tlsfix check-client -- curl -sS --cacert {ca} --capath /dev/null {url}"),
                                            HasSubstr("{crl}"), HasSubstr("NSS_WRAPPER_HOSTS"), HasSubstr("DECOY")));
}

}  // namespace
