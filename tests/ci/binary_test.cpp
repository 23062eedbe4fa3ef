// The tlsfix binary itself, end to end: what only a real process shows. Its verbs are tested
// in-process (init_test, verbs_test, check_client_test); serve, proxy and run, which block or
// exec, in run_test and interop_test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <tlsfix/ca.hpp>

#include <fstream>

#include "cli_support.hpp"

namespace {

using namespace tlsfix;
using namespace tlsfix::cli_test;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Every verb's --help ends with a runnable example.
TEST(CliBinaryTest, EveryHelpShowsAnExample) {
  for (const auto& verb : std::vector<std::vector<std::string>>{
           {}, {"init"}, {"issue"}, {"env"}, {"run"}, {"probe"}, {"verify"}, {"check-expiry"}, {"serve"}, {"proxy"},
           {"trust"}, {"trust", "install"}, {"trust", "uninstall"}, {"check-client"}}) {
    auto args = verb;
    args.push_back("--help");
    auto r = tlsfix_cli(args);
    std::string shown = verb.empty() ? "tlsfix" : verb.back();
    EXPECT_EQ(r.exit_status, 0) << shown << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr("Example")) << shown;
    EXPECT_THAT(r.output, HasSubstr("tlsfix " + (verb.empty() ? std::string("init") : verb.front()))) << shown;
  }
}

// One version, from project(VERSION): the binary says the library's, which the package also carries.
TEST(CliBinaryTest, VersionIsTheProjectVersion) {
  auto r = tlsfix_cli({"--version"});
  EXPECT_EQ(r.exit_status, 0) << r.output;
  EXPECT_EQ(r.output, "tlsfix " TLSFIX_PROJECT_VERSION "\n");
  EXPECT_EQ(tlsfix::version(), TLSFIX_PROJECT_VERSION);
}

// The exit statuses and the error's structure as a shell sees them: "tlsfix VERB: FIELD: PROBLEM",
// then OpenSSL's queue on lines of its own.
TEST(CliBinaryTest, ErrorsNameTheVerbAndTheFieldAndKeepOpensslsQueue) {
  test::temp_dir tmp;
  auto bad_flag = tlsfix_cli({"init", (tmp / "tls").string(), "--service", "a.test.local", "--validity", "soon"});
  EXPECT_EQ(bad_flag.exit_status, 1);
  EXPECT_EQ(bad_flag.output, "tlsfix init: --validity: 'soon' is not a duration like 7d, 12h, 30m, 45s, 2w or P7D, PT12H\n");

  {
    std::ofstream(tmp / "broken.pem") << "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
  }
  auto damaged = tlsfix_cli({"verify", "--ca", (tmp / "broken.pem").string(), "--name", "a.test", (tmp / "broken.pem").string()});
  EXPECT_EQ(damaged.exit_status, 1);
  EXPECT_THAT(damaged.output, StartsWith("tlsfix verify: " + (tmp / "broken.pem").string() + ": certificate 1 is damaged\n"));
  EXPECT_THAT(damaged.output, HasSubstr("\n  OpenSSL: PEM_read_bio_X509 failed\n  OpenSSL: error:"));

  auto unknown = tlsfix_cli({"frobnicate"});
  EXPECT_EQ(unknown.exit_status, 1) << "one documented status for every usage error";
}

}  // namespace
