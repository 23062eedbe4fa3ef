// The tlsfix binary itself, end to end: what only a real process shows. Its verbs are tested
// in-process (init_test, verbs_test, check_client_test); serve, proxy and run, which block or
// exec, in run_test and interop_test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <tlsfix/ca.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

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

namespace {

// A killed `init` leaves the old state or the new one, never one that blocks the next run, and
// the next run removes what a killed one staged (its keys included). Killed at spread-out moments,
// from before the CA exists to after the rename.
TEST(CliBinaryTest, AKilledInitLeavesNothingThatBlocksTheNextRun) {
  test::temp_dir tmp;
  auto dir = tmp / "tls";
  int interrupted = 0;
  for (int i = 0; i < 30; ++i) {
    auto child = tlsfix_child({"init", dir.string(), "--service", "a.test.local", "--service", "b.test.local", "--force"});
    std::this_thread::sleep_for(std::chrono::microseconds(500 * i));
    ::kill(child.pid(), SIGKILL);
    child.stop();
    interrupted += fs::exists(dir / "manifest.json") ? 0 : 1;
    // What a killed run may leave: DIR as it was or as it became, and its own staging.
    for (const auto& entry : fs::directory_iterator(tmp.path())) {
      std::string name = entry.path().filename().string();
      EXPECT_TRUE(name == "tls" || name.starts_with(".tls.tlsfix-")) << name;
    }
    auto next = tlsfix_cli({"init", dir.string(), "--service", "a.test.local", "--force"});
    ASSERT_EQ(next.exit_status, 0) << "after a kill at " << 500 * i << " us: " << next;
    for (const auto& entry : fs::directory_iterator(tmp.path()))
      EXPECT_EQ(entry.path().filename(), "tls") << "left behind after the next run";
  }
  RecordProperty("interrupted_before_install", interrupted);
}

// A killed run's staging of another, live process is not touched; a dead one's is.
TEST(CliBinaryTest, StaleStagingOfADeadRunIsRemovedAndALiveOnesIsNot) {
  test::temp_dir tmp;
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  auto stale = tmp / (".tls.tlsfix-" + std::to_string(dead) + "-abc123");
  auto live = tmp / (".tls.tlsfix-" + std::to_string(::getpid()) + "-def456");
  fs::create_directories(stale / "a.test.local");
  std::ofstream(stale / "a.test.local" / "key.pem") << "-----BEGIN PRIVATE KEY-----\n";
  fs::create_directories(live);
  auto r = tlsfix_cli({"init", (tmp / "tls").string(), "--service", "a.test.local"});
  ASSERT_EQ(r.exit_status, 0) << r;
  EXPECT_FALSE(fs::exists(stale)) << "a dead run's staging, with its key, stayed";
  EXPECT_TRUE(fs::exists(live)) << "a live process's staging was removed";
}

}  // namespace
