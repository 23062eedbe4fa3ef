// The tlsfix binary itself, end to end: what only a real process shows. Its verbs are tested
// in-process (init_test, verbs_test, check_client_test); serve, proxy and run, which block or
// exec, in run_test and interop_test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <tlsfix/ca.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "cli_support.hpp"
#include "outputs.hpp"

namespace {

using namespace tlsfix;
using namespace tlsfix::cli_test;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
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

namespace {

// The names of the services a manifest lists.
std::set<std::string> listed_services(const nlohmann::json& manifest) {
  std::set<std::string> out;
  for (const auto& s : manifest["services"]) out.insert(s["name"].get<std::string>());
  return out;
}

// Everything in DIR that its manifest does not account for: a file it does not list or whose
// content is not what it recorded, a directory no listed file is in, anything not a regular file.
// Staging and temporary files of a run, and a service's directory without its manifest entry, are
// all found here.
std::vector<std::string> unaccounted(const fs::path& dir, const nlohmann::json& manifest) {
  std::map<std::string, std::string> files;  // path -> sha256 ("" for the manifest itself)
  std::set<std::string> dirs;
  for (const auto& f : manifest["files"]) {
    std::string path = f["path"];
    files[path] = f.value("sha256", "");
    for (fs::path p = fs::path(path).parent_path(); !p.empty(); p = p.parent_path()) dirs.insert(p.string());
  }
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    std::string rel = entry.path().lexically_relative(dir).string();
    if (entry.is_symlink()) out.push_back(rel + " (a link)");
    else if (entry.is_directory()) {
      if (!dirs.count(rel)) out.push_back(rel + "/");
    } else if (!files.count(rel)) out.push_back(rel);
    else if (!files[rel].empty() && cli::sha256_hex(slurp(entry.path())) != files[rel]) out.push_back(rel + " (not as recorded)");
  }
  for (const auto& [path, sha] : files)
    if (!fs::exists(dir / path)) out.push_back(path + " (listed, missing)");
  return out;
}

// Files in `dir` holding a PEM private key, outside the service directories its manifest lists
// and its CA key.
std::vector<std::string> keys_outside_the_manifest(const fs::path& dir) {
  auto manifest = read_json(dir / "manifest.json");
  std::set<fs::path> allowed_dirs;
  for (const auto& name : listed_services(manifest)) allowed_dirs.insert(dir / name);
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || slurp(entry.path()).find("PRIVATE KEY") == std::string::npos) continue;
    if (entry.path() == dir / "ca.key" || allowed_dirs.count(entry.path().parent_path())) continue;
    out.push_back(entry.path().string());
  }
  return out;
}

// A killed `issue` leaves the old state or the new one. The manifest lists a service only when its
// directory is whole; a directory it does not list is there only while the killed run's own staging
// (its journal) says it put it there, and the next run removes both, or finishes the run when its
// manifest was already in place. The next `issue` of the same service then succeeds, and leaves
// nothing the manifest does not account for. The kills are spread over the length of one run,
// measured here first, from before the CA is loaded to after the manifest is replaced.
TEST(CliBinaryTest, AKilledIssueLeavesNothingThatBlocksTheNextRun) {
  test::temp_dir tmp;
  std::vector<std::string> issue_args{"--service", "db.test.local", "--client", "batch.test.local", "--p12-password", "pw"};
  auto init = [&](const fs::path& dir) {
    auto r = tlsfix_cli({"init", dir.string(), "--service", "api.test.local", "--keep-ca-key"});
    ASSERT_EQ(r.exit_status, 0) << r;
  };
  auto issue = [&](const fs::path& dir) {
    std::vector<std::string> args{"issue", dir.string()};
    args.insert(args.end(), issue_args.begin(), issue_args.end());
    return args;
  };
  init(tmp / "timed");
  auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(tlsfix_cli(issue(tmp / "timed")).exit_status, 0);
  auto one_run = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  auto step = std::max(one_run / 27, std::chrono::microseconds(200));

  int next_failed = 0, unlisted_after_kill = 0, completed_before_kill = 0, staged_at_kill = 0;
  for (int i = 0; i < 30; ++i) {
    auto dir = tmp / ("tls-" + std::to_string(i));
    init(dir);
    auto before = read_json(dir / "manifest.json");
    auto child = tlsfix_child(issue(dir));
    std::this_thread::sleep_for(step * i);
    ::kill(child.pid(), SIGKILL);
    child.stop();
    std::string when = "killed at " + std::to_string((step * i).count()) + " us of " + std::to_string(one_run.count());

    // Right after the kill: a manifest that parses, the old one or the new one.
    nlohmann::json manifest;
    ASSERT_NO_THROW(manifest = read_json(dir / "manifest.json")) << when;
    auto listed = listed_services(manifest);
    bool done = listed.count("db.test.local") == 1;
    completed_before_kill += done ? 1 : 0;
    EXPECT_TRUE(manifest == before || done) << when;
    for (const auto& s : manifest["services"])
      for (const auto& [kind, path] : s["files"].items()) EXPECT_TRUE(fs::is_regular_file(dir / path.get<std::string>())) << when << ": " << path;
    if (!done && fs::exists(dir / "db.test.local")) ++unlisted_after_kill;
    for (const auto& entry : fs::directory_iterator(dir))
      staged_at_kill += entry.path().filename().string().starts_with(".issue.tlsfix-") ? 1 : 0;

    // The next run: the same service when the killed one did not get it in, another when it did.
    auto next_args = issue(dir);
    if (done) next_args = {"issue", dir.string(), "--service", "later.test.local"};
    auto next = tlsfix_cli(next_args);
    if (next.exit_status != 0) ++next_failed;
    EXPECT_EQ(next.exit_status, 0) << when << ": " << next;
    auto after = read_json(dir / "manifest.json");
    EXPECT_EQ(listed_services(after).count("db.test.local"), 1u) << when;
    EXPECT_THAT(unaccounted(dir, after), ::testing::IsEmpty()) << when;
    EXPECT_THAT(keys_outside_the_manifest(dir), ::testing::IsEmpty()) << when;
    for (const auto& entry : fs::directory_iterator(tmp.path())) {  // and nothing beside it
      std::string name = entry.path().filename().string();
      EXPECT_TRUE(name == "timed" || name.starts_with("tls-")) << when << ": " << name;
    }
  }
  std::cout << "killed issue: the next run failed after " << next_failed << " of 30 kills; " << staged_at_kill
            << " left a staging, " << unlisted_after_kill << " of them a directory the manifest did not list yet; "
            << completed_before_kill << " had finished\n";
  RecordProperty("next_run_failed", next_failed);
  RecordProperty("unlisted_after_kill", unlisted_after_kill);
  RecordProperty("completed_before_kill", completed_before_kill);
  RecordProperty("staged_at_kill", staged_at_kill);
}

// The next `issue` removes only what a dead run of its own staged, and recognises it by the
// content its journal recorded: a directory the user made with a service's name is refused, named,
// and kept, and so is a dead run's leftover that the user has added to since; a live process's
// staging is not touched.
TEST(CliBinaryTest, IssueRemovesOnlyWhatADeadRunOfItsOwnLeft) {
  test::temp_dir tmp;
  auto dir = tmp / "tls";
  ASSERT_EQ(tlsfix_cli({"init", dir.string(), "--service", "api.test.local", "--keep-ca-key"}).exit_status, 0);
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  // What a run killed between putting db.test.local in place and replacing the manifest leaves: the
  // directory, and its staging holding the manifest it was about to install (.plan.json). A twin
  // directory's run makes both.
  auto twin = tmp / "twin";
  ASSERT_EQ(tlsfix_cli({"init", twin.string(), "--service", "api.test.local", "--keep-ca-key"}).exit_status, 0);
  ASSERT_EQ(tlsfix_cli({"issue", twin.string(), "--service", "db.test.local"}).exit_status, 0);
  auto leave_a_killed_run = [&](const std::string& suffix) {
    auto staging = dir / (".issue.tlsfix-" + std::to_string(dead) + "-" + suffix);
    fs::create_directories(staging);
    fs::copy_file(twin / "manifest.json", staging / ".plan.json");
    fs::copy(twin / "db.test.local", dir / "db.test.local");
    return staging;
  };

  auto staging = leave_a_killed_run("aaaaaa");
  std::ofstream(dir / "db.test.local" / "notes.txt") << "mine";
  auto refused = tlsfix_cli({"issue", dir.string(), "--service", "db.test.local"});
  EXPECT_EQ(refused.exit_status, 1);
  EXPECT_THAT(refused.output, HasSubstr((dir / "db.test.local").string() + ": exists, and manifest.json does not list it"));
  EXPECT_EQ(slurp(dir / "db.test.local" / "notes.txt"), "mine") << "a leftover the user added to is theirs now";
  EXPECT_FALSE(fs::exists(staging));
  fs::remove_all(dir / "db.test.local");

  fs::create_directories(dir / "db.test.local");
  std::ofstream(dir / "db.test.local" / "notes.txt") << "mine";
  refused = tlsfix_cli({"issue", dir.string(), "--service", "db.test.local"});
  EXPECT_EQ(refused.exit_status, 1);
  EXPECT_THAT(refused.output, HasSubstr((dir / "db.test.local").string() + ": exists, and manifest.json does not list it"));
  EXPECT_EQ(slurp(dir / "db.test.local" / "notes.txt"), "mine") << "a directory tlsfix did not write";
  fs::remove_all(dir / "db.test.local");

  staging = leave_a_killed_run("bbbbbb");
  auto live = dir / (".issue.tlsfix-" + std::to_string(::getpid()) + "-cccccc");
  fs::create_directories(live);
  auto without_plan = dir / (".issue.tlsfix-" + std::to_string(dead) + "-dddddd");
  fs::create_directories(without_plan / "web.test.local");
  std::ofstream(without_plan / "web.test.local" / "key.pem") << "-----BEGIN PRIVATE KEY-----\n";
  auto r = tlsfix_cli({"issue", dir.string(), "--service", "db.test.local"});
  ASSERT_EQ(r.exit_status, 0) << r;
  EXPECT_FALSE(fs::exists(staging));
  EXPECT_FALSE(fs::exists(without_plan)) << "a dead run's staging, with its key, stayed";
  EXPECT_TRUE(fs::exists(live)) << "a live process's staging was removed";
  EXPECT_NE(slurp(dir / "db.test.local" / "cert.pem"), slurp(twin / "db.test.local" / "cert.pem")) << "the leftover was replaced";
  fs::remove(live);
  auto after = read_json(dir / "manifest.json");
  EXPECT_THAT(unaccounted(dir, after), ::testing::IsEmpty());
}

// A run killed after its manifest was in place is finished by the next run (the top files it had
// not renamed yet), whatever that run then does; and the temporary files that runs before staging
// left in place (".NAME.tmp-" and 12 hex digits), keys among them, are removed.
TEST(CliBinaryTest, IssueFinishesARunKilledAfterItsManifestAndRemovesOrphanedTemporaries) {
  test::temp_dir tmp;
  auto dir = tmp / "tls";
  ASSERT_EQ(tlsfix_cli({"init", dir.string(), "--service", "api.test.local", "--keep-ca-key"}).exit_status, 0);
  auto old_hosts = slurp(dir / "hosts");
  ASSERT_EQ(tlsfix_cli({"issue", dir.string(), "--service", "db.test.local"}).exit_status, 0);
  auto new_hosts = slurp(dir / "hosts");
  ASSERT_NE(old_hosts, new_hosts);
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  auto staging = dir / (".issue.tlsfix-" + std::to_string(dead) + "-aaaaaa");
  fs::create_directories(staging / ".top");
  fs::copy_file(dir / "manifest.json", staging / ".plan.json");
  std::ofstream(staging / ".top" / "hosts") << new_hosts;
  fs::remove(dir / "hosts");
  std::ofstream(dir / "hosts") << old_hosts;
  std::ofstream(dir / ".env.tmp-0123456789ab") << "export TLSFIX_DIR=";
  std::ofstream(dir / "api.test.local" / ".key.pem.tmp-abcdefabcdef") << "-----BEGIN PRIVATE KEY-----\n";
  std::ofstream(dir / "kubernetes" / ".db-test-local-tls.yaml.tmp-000000000000") << "kind: Secret\n";

  // A run that issues nothing still finishes what the dead one left.
  auto r = tlsfix_cli({"issue", dir.string(), "--service", "under_score.test.local"});
  EXPECT_EQ(r.exit_status, 1) << r;
  EXPECT_EQ(slurp(dir / "hosts"), new_hosts);
  EXPECT_FALSE(fs::exists(staging));
  EXPECT_THAT(unaccounted(dir, read_json(dir / "manifest.json")), ::testing::IsEmpty());
}

}  // namespace

namespace {

// What a dead run left is read back as hostile: DIR may be writable by someone less trusted than
// the user running tlsfix (root, often). A staging named for a pid above any pid_max is a dead
// run's; what it, or the manifest, names outside DIR or through a link is never removed.
constexpr const char* dead_staging = ".issue.tlsfix-4194304-aaaaaa";

struct outside_file {
  fs::path path;
  std::string text = "not tlsfix's";
  explicit outside_file(const fs::path& dir) : path(dir / "file") {
    fs::create_directories(dir);
    std::ofstream(path) << text;
  }
  std::string sha256() const { return cli::sha256_hex(text); }
  bool intact() const { return fs::is_regular_file(fs::symlink_status(path)) && slurp(path) == text; }
};

void write_json(const fs::path& path, const nlohmann::json& value) { std::ofstream(path) << value.dump(2); }

TEST(CliBinaryTest, ADeadRunsPlanThatNamesAPathOutsideTheDirectoryRemovesNothingThere) {
  test::temp_dir tmp;
  auto dir = tmp / "tls";
  ASSERT_EQ(tlsfix_cli({"init", dir.string(), "--service", "api.test.local", "--keep-ca-key"}).exit_status, 0);
  outside_file outside(tmp / "outside");
  auto manifest = read_json(dir / "manifest.json");
  for (const auto& [path, why] : std::vector<std::pair<std::string, std::string>>{
           {"kubernetes/../../outside/file", "has a \"..\" in it"},
           {"../outside/file", "has a \"..\" in it"},
           {outside.path.string(), "is an absolute path"}}) {
    auto staging = dir / dead_staging;
    fs::create_directories(staging);
    auto plan = manifest;
    plan["files"].push_back({{"path", path}, {"sha256", outside.sha256()}});
    write_json(staging / ".plan.json", plan);
    auto r = tlsfix_cli({"issue", dir.string(), "--service", "db.test.local"});
    EXPECT_EQ(r.exit_status, 1) << path << ": " << r;
    std::string field = "files[" + std::to_string(plan["files"].size() - 1) + "].path";
    EXPECT_THAT(r.output, HasSubstr((staging / ".plan.json").string() + ": " + field + ": '" + path + "' " + why)) << r;
    EXPECT_THAT(r.output, HasSubstr("tlsfix left the staging " + staging.string() + " as it is")) << r;
    EXPECT_TRUE(outside.intact()) << path;
    EXPECT_TRUE(fs::exists(staging)) << path << ": a plan that names what is not tlsfix's stays for the user to look at";
    EXPECT_EQ(read_json(dir / "manifest.json"), manifest) << path;
    fs::remove_all(staging);
  }

  // A field of the wrong type is named, in tlsfix's words.
  auto staging = dir / dead_staging;
  fs::create_directories(staging);
  auto plan = manifest;
  plan["files"][0]["path"] = 7;
  write_json(staging / ".plan.json", plan);
  auto r = tlsfix_cli({"issue", dir.string(), "--service", "db.test.local"});
  EXPECT_EQ(r.exit_status, 1) << r;
  EXPECT_THAT(r.output, HasSubstr(".plan.json: files[0].path: must be a string (a path inside " + dir.string() + "), not number"));
  EXPECT_THAT(r.output, Not(HasSubstr("json.exception")));
}

TEST(CliBinaryTest, AManifestThatNamesAPathOutsideOrThroughALinkIsRefusedAndNothingThereIsRemoved) {
  test::temp_dir tmp;
  auto dir = tmp / "tls";
  ASSERT_EQ(tlsfix_cli({"init", dir.string(), "--service", "api.test.local", "--keep-ca-key"}).exit_status, 0);
  outside_file outside(tmp / "outside");
  auto manifest = read_json(dir / "manifest.json");

  // Listing a file in "..", the manifest would make ".." one of its directories.
  auto tampered = manifest;
  tampered["files"].push_back({{"path", "../outside/other"}, {"sha256", outside.sha256()}});
  write_json(dir / "manifest.json", tampered);
  fs::create_directories(dir / dead_staging);
  auto plan = tampered;
  plan["files"].push_back({{"path", "../outside/file"}, {"sha256", outside.sha256()}});
  write_json(dir / dead_staging / ".plan.json", plan);
  auto r = tlsfix_cli({"issue", dir.string(), "--service", "db.test.local"});
  EXPECT_EQ(r.exit_status, 1) << r;
  EXPECT_THAT(r.output, HasSubstr((dir / "manifest.json").string() + ": files[" + std::to_string(tampered["files"].size() - 1) +
                                  "].path: '../outside/other' has a \"..\" in it"));
  EXPECT_TRUE(outside.intact());
  fs::remove_all(dir / dead_staging);
  write_json(dir / "manifest.json", manifest);

  // kubernetes/ swapped for a link out of DIR: neither a plan's file nor a temporary file behind it goes.
  fs::rename(dir / "kubernetes", tmp / "kubernetes.moved");
  fs::create_directory_symlink(outside.path.parent_path(), dir / "kubernetes");
  std::ofstream(outside.path.parent_path() / ".notes.tmp-0123456789ab") << "a file with a temporary's name";
  fs::create_directories(dir / dead_staging);
  plan = manifest;
  plan["files"].push_back({{"path", "kubernetes/file"}, {"sha256", outside.sha256()}});
  write_json(dir / dead_staging / ".plan.json", plan);
  r = tlsfix_cli({"issue", dir.string(), "--service", "db.test.local"});
  EXPECT_EQ(r.exit_status, 1) << r;
  EXPECT_THAT(r.output, HasSubstr("' goes through the link " + (dir / "kubernetes").string() + ": tlsfix never follows one"));
  EXPECT_TRUE(outside.intact());
  EXPECT_TRUE(fs::exists(outside.path.parent_path() / ".notes.tmp-0123456789ab"));
  EXPECT_TRUE(fs::is_symlink(dir / "kubernetes"));
}

// A dead run whose manifest is in place is finished with the top files render_top writes, regular
// files only: its staging cannot bring a link, or a ca.crt, to the top. A link in a staging goes
// as a link; what it points to stays.
TEST(CliBinaryTest, FinishingADeadRunTakesOnlyItsOwnTopFilesAndRemovesLinksNotTheirTargets) {
  test::temp_dir tmp;
  auto dir = tmp / "tls";
  ASSERT_EQ(tlsfix_cli({"init", dir.string(), "--service", "api.test.local", "--keep-ca-key"}).exit_status, 0);
  outside_file outside(tmp / "outside");
  auto ca = slurp(dir / "ca.crt");
  auto staging = dir / dead_staging;
  fs::create_directories(staging / ".top");
  fs::copy_file(dir / "manifest.json", staging / ".plan.json");
  fs::create_symlink(outside.path, staging / ".top" / "hosts");
  std::ofstream(staging / ".top" / "ca.crt") << "-----BEGIN CERTIFICATE-----\nsomeone else's\n";
  auto without_plan = dir / ".issue.tlsfix-4194304-bbbbbb";
  fs::create_directories(without_plan / "db.test.local");
  fs::create_directory_symlink(outside.path.parent_path(), without_plan / "escape");
  fs::create_symlink(outside.path, without_plan / "db.test.local" / "key.pem");

  auto r = tlsfix_cli({"issue", dir.string(), "--service", "db.test.local"});
  ASSERT_EQ(r.exit_status, 0) << r;
  EXPECT_FALSE(fs::is_symlink(dir / "hosts")) << "a link in .top/ came to the top";
  EXPECT_THAT(slurp(dir / "hosts"), HasSubstr("db.test.local"));
  EXPECT_EQ(slurp(dir / "ca.crt"), ca) << "a staging's ca.crt replaced the root";
  EXPECT_FALSE(fs::exists(fs::symlink_status(staging)));
  EXPECT_FALSE(fs::exists(fs::symlink_status(without_plan)));
  EXPECT_TRUE(outside.intact());
  EXPECT_EQ(std::distance(fs::directory_iterator(outside.path.parent_path()), fs::directory_iterator()), 1);
}

// --force replaces only a directory whose manifest is tlsfix's, and touches nothing in another: a
// staging with tlsfix's name, or a file with a temporary's, in another program's directory stay.
TEST(CliBinaryTest, InitTouchesNothingInADirectoryWhoseManifestIsNotTlsfixs) {
  test::temp_dir tmp;
  auto dir = tmp / "app";
  fs::create_directories(dir / "src");
  std::ofstream(dir / "manifest.json") << R"({"name": "my web app", "files": [{"path": "src/app.js"}]})";
  std::ofstream(dir / "src" / "app.js") << "main();";
  std::ofstream(dir / "src" / ".app.js.tmp-0123456789ab") << "an editor's";
  fs::create_directories(dir / dead_staging);
  std::ofstream(dir / dead_staging / "notes.txt") << "mine";
  for (bool force : {false, true}) {
    std::vector<std::string> args{"init", dir.string(), "--service", "a.test.local"};
    if (force) args.push_back("--force");
    auto r = tlsfix_cli(args);
    EXPECT_EQ(r.exit_status, 1) << r;
    EXPECT_THAT(r.output, HasSubstr(force ? (dir / "manifest.json").string() + ": not a tlsfix manifest" : "already exists; pass --force"));
    EXPECT_TRUE(fs::exists(dir / "src" / ".app.js.tmp-0123456789ab")) << force;
    EXPECT_EQ(slurp(dir / dead_staging / "notes.txt"), "mine") << force;
    EXPECT_EQ(slurp(dir / "src" / "app.js"), "main();") << force;
  }
}

// A manifest entry without its SHA-256 would make any file tlsfix's, for --force to remove.
TEST(CliBinaryTest, InitForceRefusesAManifestThatListsAFileWithoutItsHash) {
  test::temp_dir tmp;
  auto dir = tmp / "tls";
  ASSERT_EQ(tlsfix_cli({"init", dir.string(), "--service", "a.test.local"}).exit_status, 0);
  std::ofstream(dir / "thesis.tex") << "years of work";
  auto manifest = read_json(dir / "manifest.json");
  manifest["files"].push_back({{"path", "thesis.tex"}});
  write_json(dir / "manifest.json", manifest);
  auto r = tlsfix_cli({"init", dir.string(), "--service", "b.test.local", "--force"});
  EXPECT_EQ(r.exit_status, 1) << r;
  EXPECT_THAT(r.output, HasSubstr((dir / "manifest.json").string() + ": files[" + std::to_string(manifest["files"].size() - 1) +
                                  "].sha256: missing: only manifest.json is listed without one"));
  EXPECT_EQ(slurp(dir / "thesis.tex"), "years of work");
}

// The lock `issue` takes on DIR, held by this test.
struct held_directory {
  int fd;
  explicit held_directory(const fs::path& dir) : fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    EXPECT_GE(fd, 0) << dir;
    EXPECT_EQ(::flock(fd, LOCK_EX), 0) << dir;
  }
  ~held_directory() { release(); }
  void release() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

bool finishes(test::child& c, std::chrono::seconds within) {
  auto deadline = std::chrono::steady_clock::now() + within;
  while (c.running() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return !c.running();
}

TEST(CliBinaryTest, InitForceWaitsWhileIssueHoldsTheDirectory) {
  test::temp_dir tmp;
  auto dir = tmp / "tls";
  ASSERT_EQ(tlsfix_cli({"init", dir.string(), "--service", "a.test.local", "--keep-ca-key"}).exit_status, 0);
  auto before = slurp(dir / "manifest.json");
  held_directory held(dir);
  auto child = tlsfix_child({"init", dir.string(), "--service", "b.test.local", "--force"});
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_TRUE(child.running()) << "init --force did not wait for the directory's lock";
  EXPECT_EQ(slurp(dir / "manifest.json"), before);
  held.release();
  EXPECT_TRUE(finishes(child, std::chrono::seconds(20)));
  auto output = child.stop();
  EXPECT_EQ(listed_services(read_json(dir / "manifest.json")), std::set<std::string>{"b.test.local"}) << output;
}

// A run that waited for a directory that was then replaced (as init --force does) holds one that
// is gone: it takes the new one's lock before it changes anything.
TEST(CliBinaryTest, IssueThatWaitedForAReplacedDirectoryWaitsForTheNewOne) {
  test::temp_dir tmp;
  auto dir = tmp / "tls";
  for (const auto& d : {dir, tmp / "next"})
    ASSERT_EQ(tlsfix_cli({"init", d.string(), "--service", "a.test.local", "--keep-ca-key"}).exit_status, 0);
  held_directory old_one(dir);
  auto child = tlsfix_child({"issue", dir.string(), "--service", "db.test.local"});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_TRUE(child.running());
  fs::rename(dir, tmp / "replaced");
  fs::rename(tmp / "next", dir);
  held_directory new_one(dir);
  auto before = slurp(dir / "manifest.json");
  old_one.release();
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_TRUE(child.running()) << "issue went on without the new directory's lock";
  EXPECT_EQ(slurp(dir / "manifest.json"), before);
  new_one.release();
  EXPECT_TRUE(finishes(child, std::chrono::seconds(20)));
  auto output = child.stop();
  EXPECT_EQ(listed_services(read_json(dir / "manifest.json")).count("db.test.local"), 1u) << output;
  EXPECT_EQ(listed_services(read_json(tmp / "replaced" / "manifest.json")).count("db.test.local"), 0u);
}

// The system calls of a run, under strace -y (file descriptors shown with their paths).
std::vector<std::string> traced(const fs::path& log, std::vector<std::string> args, std::string& skip) {
  if (!test::have_program("strace")) {
    skip = "strace is not installed";
    return {};
  }
  args.insert(args.begin(), {"strace", "-f", "-y", "-qq", "-e", "trace=fsync,rename,renameat,renameat2", "-o", log.string(), TLSFIX_EXE});
  auto r = test::run(args);
  if (r.exit_status != 0 || !fs::exists(log)) {
    skip = "strace cannot trace here: " + r.output;
    return {};
  }
  std::vector<std::string> lines;
  std::istringstream in(slurp(log));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The first line from `from` on holding every one of `words`, or lines.size().
std::size_t find_line(const std::vector<std::string>& lines, std::size_t from, const std::vector<std::string>& words) {
  for (; from < lines.size(); ++from)
    if (std::all_of(words.begin(), words.end(), [&](const std::string& w) { return lines[from].find(w) != std::string::npos; })) break;
  return from;
}

// A rename is on disk only once the directory holding it is: each run flushes a directory before
// the rename that depends on it — issue DIR before the manifest and again before the top files
// follow it, init the new directory before it takes DIR's name and DIR's parent after.
TEST(CliBinaryTest, IssueAndInitFlushEachDirectoryBeforeTheRenameThatDependsOnIt) {
  test::temp_dir tmp;
  auto dir = tmp / "tls";
  std::string skip;
  auto init = traced(tmp / "init.log", {"init", dir.string(), "--service", "a.test.local", "--keep-ca-key"}, skip);
  if (!skip.empty()) GTEST_SKIP() << skip;
  std::string dir_fd = "<" + dir.string() + ">)";
  auto rename_dir = find_line(init, 0, {"rename(\"" + (tmp / ".tls.tlsfix-").string(), "\"" + dir.string() + "\")"});
  ASSERT_LT(rename_dir, init.size()) << "init's rename into place not seen";
  std::string staging = init[rename_dir].substr(init[rename_dir].find('"') + 1);
  staging = staging.substr(0, staging.find('"'));
  EXPECT_LT(find_line(init, 0, {"fsync(", "<" + staging + ">)"}), rename_dir) << "the new directory was not flushed before its rename";
  EXPECT_LT(find_line(init, 0, {"fsync(", "<" + staging + "/a.test.local>)"}), rename_dir);
  EXPECT_LT(find_line(init, rename_dir, {"fsync(", "<" + tmp.path().string() + ">)"}), init.size()) << "DIR's parent not flushed";

  auto issue = traced(tmp / "issue.log", {"issue", dir.string(), "--service", "db.test.local"}, skip);
  ASSERT_TRUE(skip.empty()) << skip;
  auto manifest = find_line(issue, 0, {"rename(", "/.top/manifest.json\", \"" + (dir / "manifest.json").string() + "\""});
  ASSERT_LT(manifest, issue.size()) << "the manifest's rename not seen";
  auto hosts = find_line(issue, manifest, {"rename(", "/.top/hosts\", \"" + (dir / "hosts").string() + "\""});
  ASSERT_LT(hosts, issue.size());
  auto moved = find_line(issue, 0, {"renameat2(", "\"db.test.local\""});
  ASSERT_LT(moved, manifest) << "the new service's directory was not moved in before the manifest";
  auto moved_k8s = find_line(issue, 0, {"renameat2(", "db-test-local-tls.yaml"});
  ASSERT_LT(moved_k8s, manifest);
  EXPECT_LT(find_line(issue, std::max(moved, moved_k8s), {"fsync(", dir_fd}), manifest) << "DIR not flushed after the moves";
  EXPECT_LT(find_line(issue, moved_k8s, {"fsync(", "<" + (dir / "kubernetes").string() + ">)"}), manifest);
  EXPECT_LT(find_line(issue, manifest, {"fsync(", dir_fd}), hosts) << "the manifest's rename not flushed before the top files";
}

}  // namespace
