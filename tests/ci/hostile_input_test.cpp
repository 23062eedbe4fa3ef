// Input an attacker (or an accident) would give the CLI: specs that expand without bound or refer
// to themselves, repeated keys, devices and directories where a file belongs, durations and times
// out of range, and names carrying control characters into the files tlsfix writes. Each gets
// exit 1 and a message that names the problem, and nothing is written.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include <tlsfix/ca.hpp>

#include "cli_support.hpp"
#include "outputs.hpp"

namespace {

using namespace tlsfix;
using namespace tlsfix::cli_test;
using ::testing::HasSubstr;

class CliHostileInputTest : public ::testing::Test {
 protected:
  test::temp_dir tmp_;
  fs::path dir_ = tmp_ / "tls";

  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(tmp_ / name, std::ios::binary) << text;
    return (tmp_ / name).string();
  }
  // `init` with this spec: refused with `message`, and no directory left behind.
  void ExpectRefusedSpec(const std::string& file, const std::string& text, const std::string& message) {
    auto r = tlsfix_verb({"init", dir_.string(), "--spec", write(file, text)});
    EXPECT_EQ(r.exit_status, 1) << file << ": " << r;
    EXPECT_THAT(r.output, HasSubstr(message)) << file;
    EXPECT_FALSE(fs::exists(dir_)) << file;
  }
};

TEST_F(CliHostileInputTest, NestedAliasesAreRefusedBeforeTheyExpand) {
  // Nine levels of nine: 387 million values if expanded.
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n";
  for (char level = 'b'; level <= 'i'; ++level) {
    std::string previous(1, static_cast<char>(level - 1));
    bomb += std::string(1, level) + ": &" + level + " [";
    for (int i = 0; i < 9; ++i) bomb += (i ? ", *" : "*") + previous;
    bomb += "]\n";
  }
  bomb += "services: [{name: a.test.local}]\n";
  ExpectRefusedSpec("laughs.yaml", bomb, "expands to more than 20000 values (aliases that repeat each other?)");
}

TEST_F(CliHostileInputTest, AnAliasThatContainsItselfIsRefused) {
  ExpectRefusedSpec("cycle.yaml", "services: &a [*a]\n", "nested more than 16 levels deep (an alias that contains itself?)");
  std::string deep(200, '[');
  ExpectRefusedSpec("deep.json", "{\"services\": " + deep + std::string(200, ']') + "}", "deep.json: nested more than 16 levels deep");
}

TEST_F(CliHostileInputTest, RepeatedKeysAndSecondDocumentsAreRefused) {
  ExpectRefusedSpec("twice.yaml", "services:\n  - name: a.test.local\n    name: b.test.local\n",
                    "twice.yaml:3:5: services[0].name: repeated key (first at 2:5)");
  ExpectRefusedSpec("twice.json", R"({"services": [{"name": "a.test.local", "name": "b.test.local"}]})", "twice.json: repeated key \"name\"");
  ExpectRefusedSpec("two.yaml", "services: [{name: a.test.local}]\n---\nservices: [{name: b.test.local}]\n",
                    "two.yaml:2:1: a second YAML document ('---'): a spec is one document");
  // Positive control: the same spec without the repetition is taken.
  auto r = tlsfix_verb({"init", dir_.string(), "--spec", write("once.yaml", "services:\n  - name: a.test.local\n")});
  EXPECT_EQ(r.exit_status, 0) << r;
}

TEST_F(CliHostileInputTest, DevicesAndDirectoriesWhereAFileBelongs) {
  auto zero = tlsfix_verb({"init", dir_.string(), "--spec", "/dev/zero"});
  EXPECT_EQ(zero.exit_status, 1) << zero;
  EXPECT_THAT(zero.output, HasSubstr("/dev/zero: is not a regular file (a device, pipe or socket): give a file"));
  auto verify = tlsfix_verb({"verify", "--ca", "/dev/zero", "--name", "a.test.local", "/dev/zero"});
  EXPECT_EQ(verify.exit_status, 1) << verify;
  EXPECT_THAT(verify.output, HasSubstr("/dev/zero: is not a regular file"));
  fs::create_directory(tmp_ / "spec.yaml");
  auto directory = tlsfix_verb({"init", dir_.string(), "--spec", (tmp_ / "spec.yaml").string()});
  EXPECT_EQ(directory.exit_status, 1) << directory;
  EXPECT_THAT(directory.output, HasSubstr("spec.yaml: is a directory, not a file"));
  EXPECT_FALSE(fs::exists(dir_));
}

TEST_F(CliHostileInputTest, AFileLargerThanTheLimitIsRefused) {
  auto big = write("big.yaml", "services: [{name: a.test.local}]\n" + std::string(17 * 1024 * 1024, '#'));
  auto r = tlsfix_verb({"init", dir_.string(), "--spec", big});
  EXPECT_EQ(r.exit_status, 1) << r;
  EXPECT_THAT(r.output, HasSubstr("is larger than 16777216 bytes"));
}

TEST_F(CliHostileInputTest, DurationsAndTimesOutOfRangeNameTheValue) {
  auto huge = tlsfix_verb({"init", dir_.string(), "--service", "a.test.local", "--validity", "999999999w"});
  EXPECT_EQ(huge.exit_status, 1) << huge;
  EXPECT_THAT(huge.output, HasSubstr("--validity: '999999999w' is longer than 100 years"));
  auto sum = tlsfix_verb({"init", dir_.string(), "--service", "a.test.local", "--ca-validity", "P36000DT999999999H"});
  EXPECT_EQ(sum.exit_status, 1) << sum;
  EXPECT_THAT(sum.output, HasSubstr("--ca-validity: 'P36000DT999999999H' is longer than 100 years"));
  EXPECT_FALSE(fs::exists(dir_));

  ASSERT_EQ(tlsfix_verb({"init", dir_.string(), "--service", "a.test.local"}).exit_status, 0);
  auto cert = (dir_ / "a.test.local" / "cert.pem").string(), ca = (dir_ / "ca.crt").string();
  for (const auto& [at, message] : std::vector<std::pair<std::string, std::string>>{
           {"2030-01-01T00:00:00+99:99", "--at: '2030-01-01T00:00:00+99:99' is not an ISO-8601 time"},
           {"2030-02-31", "--at: '2030-02-31' is not a date that exists"},
           {"9999-01-01", "--at: '9999-01-01' is not a time between 1950 and 2200"}}) {
    auto r = tlsfix_verb({"verify", "--ca", ca, "--name", "a.test.local", "--at", at, cert});
    EXPECT_EQ(r.exit_status, 1) << at << ": " << r;
    EXPECT_THAT(r.output, HasSubstr(message)) << at;
  }
  // Positive control: an offset in range is taken. Tomorrow, written as local time at +05:30.
  std::string tomorrow = ca::to_iso8601(ca::clock::now() + std::chrono::hours(24) + std::chrono::minutes(330));
  tomorrow.replace(tomorrow.size() - 1, 1, "+05:30");
  auto in_range = tlsfix_verb({"verify", "--ca", ca, "--name", "a.test.local", "--at", tomorrow, cert});
  EXPECT_EQ(in_range.exit_status, 0) << tomorrow << ": " << in_range;
}

TEST_F(CliHostileInputTest, TheRootMustOutlastItsCertificates) {
  ExpectRefusedSpec("zero.yaml", "ca:\n  validity: 0s\nservices:\n  - name: a.test.local\n",
                    "ca.validity: must be longer than 0s: the root must outlast its certificates");
  ExpectRefusedSpec("outlast.yaml", "ca:\n  validity: 30d\nservices:\n  - name: a.test.local\n    validity: 90d\n",
                    "service a.test.local: validity 90d 0h outlasts the root (ca.validity 30d 0h)");
  auto flags = tlsfix_verb({"init", dir_.string(), "--service", "a.test.local", "--ca-validity", "1d", "--validity", "2d"});
  EXPECT_EQ(flags.exit_status, 1) << flags;
  EXPECT_THAT(flags.output, HasSubstr("outlasts the root (--ca-validity 1d 0h)"));
  // The default validity (90d) is never refused: it is shortened to the root's.
  auto shortened = tlsfix_verb({"init", dir_.string(), "--service", "a.test.local", "--ca-validity", "1d"});
  ASSERT_EQ(shortened.exit_status, 0) << shortened;
  auto root = ca::certificate::from_pem(slurp(dir_ / "ca.crt"));
  EXPECT_LE(ca::certificate::from_pem(slurp(dir_ / "a.test.local" / "cert.pem")).not_after(), root.not_after() + std::chrono::hours(1));
  fs::remove_all(dir_);
  ASSERT_EQ(tlsfix_verb({"init", dir_.string(), "--service", "a.test.local", "--ca-validity", "100d", "--keep-ca-key"}).exit_status, 0);
  auto later = tlsfix_verb({"issue", dir_.string(), "--service", "b.test.local", "--validity", "200d"});
  EXPECT_EQ(later.exit_status, 1) << later;
  EXPECT_THAT(later.output, HasSubstr("--validity: 200d 0h would outlast the root, which expires in 9"));
  EXPECT_FALSE(fs::exists(dir_ / "b.test.local"));
  EXPECT_EQ(tlsfix_verb({"issue", dir_.string(), "--service", "b.test.local", "--validity", "30d"}).exit_status, 0);
}

TEST_F(CliHostileInputTest, ControlCharactersInNamesAreRefusedAndShown) {
  // The attack: a line break in a name, so that github.env gets a line of the attacker's choosing.
  auto newline = tlsfix_verb({"init", dir_.string(), "--client", "ci\nPATH=/tmp/evil@test.local"});
  EXPECT_EQ(newline.exit_status, 1) << newline;
  EXPECT_THAT(newline.output, HasSubstr("'ci\\nPATH=/tmp/evil@test.local' holds a control character (\\n at position 3)"));
  ExpectRefusedSpec("nul.yaml", "services:\n  - name: \"a\\0b.test.local\"\n", "'a\\x00b.test.local' holds a control character (\\x00 at position 2)");
  EXPECT_FALSE(fs::exists(dir_));
}

TEST_F(CliHostileInputTest, EnvironmentFormatsNeverLetAValueStartALine) {
  cli::env_list vars{{"TLSFIX_CA_FILE", "/tmp/a\nPATH=/tmp/evil"}};
  try {
    cli::format_env(vars, cli::env_format::github);
    FAIL() << "github.env got a line break";
  } catch (const tlsfix::error& e) {
    EXPECT_THAT(e.what(), HasSubstr("TLSFIX_CA_FILE: the value holds a line break"));
  }
  EXPECT_EQ(cli::format_env(vars, cli::env_format::dotenv), "TLSFIX_CA_FILE=\"/tmp/a\\nPATH=/tmp/evil\"\n");
  EXPECT_EQ(cli::format_env(vars, cli::env_format::shell), "export TLSFIX_CA_FILE='/tmp/a\nPATH=/tmp/evil'\n");  // one quoted word
  EXPECT_EQ(cli::format_env({{"TLSFIX_CA_FILE", "/tmp/ok"}}, cli::env_format::github), "TLSFIX_CA_FILE=/tmp/ok\n");
}

TEST_F(CliHostileInputTest, ForceReplacesOnlyWhatTlsfixWrote) {
  ASSERT_EQ(tlsfix_verb({"init", dir_.string(), "--service", "a.test.local"}).exit_status, 0);
  std::ofstream(dir_ / "thesis.tex") << "\\documentclass{article} years of work";
  fs::create_directory(dir_ / "notes");
  auto refused = tlsfix_verb({"init", dir_.string(), "--service", "b.test.local", "--force"});
  EXPECT_EQ(refused.exit_status, 1) << refused;
  EXPECT_THAT(refused.output, HasSubstr("holds what tlsfix did not write: notes/, thesis.tex; --force replaces only the files"));
  EXPECT_EQ(slurp(dir_ / "thesis.tex"), "\\documentclass{article} years of work");
  EXPECT_TRUE(fs::exists(dir_ / "a.test.local" / "cert.pem"));  // nothing of the old directory went either

  // A file tlsfix wrote but the user edited is theirs now.
  fs::remove(dir_ / "thesis.tex");
  fs::remove(dir_ / "notes");
  std::ofstream(dir_ / "env", std::ios::app) << "export MY_SETTING=1\n";
  auto edited = tlsfix_verb({"init", dir_.string(), "--service", "b.test.local", "--force"});
  EXPECT_EQ(edited.exit_status, 1) << edited;
  EXPECT_THAT(edited.output, HasSubstr("env (changed since tlsfix wrote it)"));

  // Positive control: the directory exactly as tlsfix left it is replaced.
  fs::remove_all(dir_);
  ASSERT_EQ(tlsfix_verb({"init", dir_.string(), "--service", "a.test.local"}).exit_status, 0);
  auto replaced = tlsfix_verb({"init", dir_.string(), "--service", "b.test.local", "--force"});
  EXPECT_EQ(replaced.exit_status, 0) << replaced;
  EXPECT_TRUE(fs::exists(dir_ / "b.test.local" / "cert.pem"));

  // What a killed `issue` left (its staging, named for a pid above any pid_max) is tlsfix's own:
  // --force cleans it up instead of calling it foreign.
  fs::create_directory(dir_ / ".issue.tlsfix-999999999-abcdef");
  std::ofstream(dir_ / ".issue.tlsfix-999999999-abcdef" / "key.pem") << "-----BEGIN PRIVATE KEY-----\n";
  auto after_kill = tlsfix_verb({"init", dir_.string(), "--service", "c.test.local", "--force"});
  EXPECT_EQ(after_kill.exit_status, 0) << after_kill;
  EXPECT_FALSE(fs::exists(dir_ / ".issue.tlsfix-999999999-abcdef"));
}

TEST_F(CliHostileInputTest, TrustInstallTakesOnlyANameConstrainedTlsfixRoot) {
  ASSERT_EQ(tlsfix_verb({"init", dir_.string(), "--service", "a.test.local"}).exit_status, 0);
  auto unconstrained = ca::certificate_authority::create({.unconstrained = true});
  auto foreign = write("foreign.crt", unconstrained.root().to_pem());
  for (const auto& store : std::vector<std::vector<std::string>>{{"--nss-db", (tmp_ / "nssdb").string()}, {"--system"}}) {
    for (const auto& [file, message] : std::vector<std::pair<std::string, std::string>>{
             {(dir_ / "a.test.local" / "cert.pem").string(), "is not a CA certificate (no CA:TRUE): a leaf is never a trust anchor"},
             {foreign, "has no name constraints, so it could vouch for any site on the internet"}}) {
      std::vector<std::string> args{"trust", "install", "--ca", file, "--dry-run"};
      args.insert(args.end(), store.begin(), store.end());
      auto r = tlsfix_verb(args);
      EXPECT_EQ(r.exit_status, 1) << r;
      EXPECT_THAT(r.output, HasSubstr(message));
      EXPECT_THAT(r.output, HasSubstr("--dangerously-trust-any-root overrides"));
    }
    std::vector<std::string> ours{"trust", "install", "--ca", dir_.string(), "--dry-run"};
    ours.insert(ours.end(), store.begin(), store.end());
    auto r = tlsfix_verb(ours);
    EXPECT_EQ(r.exit_status, 0) << r;
    EXPECT_THAT(r.output, HasSubstr("may vouch for: DNS:test, DNS:test.local, DNS:localhost, IP:127.0.0.0/8, IP:::1/128"));
  }
  auto forced = tlsfix_verb({"trust", "install", "--ca", foreign, "--dry-run", "--system", "--dangerously-trust-any-root"});
  EXPECT_EQ(forced.exit_status, 0) << forced;
  EXPECT_THAT(forced.output, HasSubstr("may vouch for: ANY NAME: this root is not name-constrained"));
  EXPECT_THAT(forced.output, HasSubstr("WARNING: --dangerously-trust-any-root"));
  EXPECT_FALSE(fs::exists(tmp_ / "nssdb"));  // dry runs change nothing
}

TEST_F(CliHostileInputTest, AllowNameNeverWidensTheRootToTheInternet) {
  for (const auto& [name, message] : std::vector<std::pair<std::string, std::string>>{
           {"com", "'com' is a public suffix: a root that may vouch for every name under it can forge real sites"},
           {"CO.UK", "'CO.UK' is a public suffix"},
           {"github.io", "'github.io' is a public suffix"},  // the list's private section counts too
           {"0.0.0.0/0", "'0.0.0.0/0' spans public addresses wider than /24"},
           {"8.0.0.0/8", "'8.0.0.0/8' spans public addresses wider than /24"},
           {"::/0", "'::/0' spans public addresses wider than /48"}}) {
    auto r = tlsfix_verb({"init", dir_.string(), "--service", "a.test.local", "--allow-name", name});
    EXPECT_EQ(r.exit_status, 1) << name << ": " << r;
    EXPECT_THAT(r.output, HasSubstr("--allow-name: " + message)) << name;
    EXPECT_FALSE(fs::exists(dir_)) << name;
  }
  ExpectRefusedSpec("wide.yaml", "ca:\n  allow_names: [test.local, com]\nservices:\n  - name: a.test.local\n",
                    "wide.yaml:2:29: ca.allow_names[1]: 'com' is a public suffix");
  auto serve = tlsfix_verb({"proxy", "--service", "a.test.local", "--to", "127.0.0.1:9", "--allow-name", "com"});
  EXPECT_EQ(serve.exit_status, 1) << serve;
  EXPECT_THAT(serve.output, HasSubstr("'com' is a public suffix"));

  // Positive controls: a domain below a suffix, a name the list does not know (where private
  // networks live), private, documentation and narrow public ranges, at any width that stays inside.
  for (const std::string name : {"example.com", "corp", "10.0.0.0/8", "203.0.113.0/24", "8.8.8.0/24", "fd00::/8", "2001:4860:1::/48"}) {
    fs::remove_all(dir_);
    auto r = tlsfix_verb({"init", dir_.string(), "--service", "a.test.local", "--allow-name", name});
    EXPECT_EQ(r.exit_status, 0) << name << ": " << r;
  }
  auto constraints = ca::certificate::from_pem(slurp(dir_ / "ca.crt")).name_constraints();
  ASSERT_TRUE(constraints);
  EXPECT_THAT(constraints->permitted, ::testing::Contains("IP:2001:4860:1::/48"));
}

TEST_F(CliHostileInputTest, ServicesMayNotShareANameInAnyCaseOrAnythingDerivedFromIt) {
  ExpectRefusedSpec("case.yaml", "services:\n  - name: api.test.local\n  - name: API.test.local\n",
                    "case.yaml:3:5: services[1].name: service 'API.test.local' and 'api.test.local' (");
  ExpectRefusedSpec("case.yaml", "services:\n  - name: api.test.local\n  - name: API.test.local\n",
                    "case.yaml:2:5: services[0].name) would share the same name (names are case-insensitive); rename one");
  ExpectRefusedSpec("env.yaml", "services:\n  - name: api.test.local\n  - name: api-test.local\n",
                    "env.yaml:2:5: services[0].name) would share the env prefix TLSFIX_API_TEST_LOCAL");
  ExpectRefusedSpec("k8s.yaml", "services:\n  - name: a-b.test.local\n  - name: a--b.test.local\n",
                    "would share the Kubernetes Secret a-b-test-local-tls");
  ExpectRefusedSpec("twice.yaml", "services:\n  - name: a.test.local\n  - name: a.test.local\n",
                    "services[1].name: service 'a.test.local' is listed twice (also at ");

  ASSERT_EQ(tlsfix_verb({"init", dir_.string(), "--service", "api.test.local", "--keep-ca-key"}).exit_status, 0);
  auto later = tlsfix_verb({"issue", dir_.string(), "--service", "Api.Test.Local"});
  EXPECT_EQ(later.exit_status, 1) << later;
  EXPECT_THAT(later.output, HasSubstr("service 'Api.Test.Local' and 'api.test.local' (this directory) would share the same name"));
  auto again = tlsfix_verb({"issue", dir_.string(), "--service", "api.test.local"});
  EXPECT_EQ(again.exit_status, 1) << again;
  EXPECT_THAT(again.output, HasSubstr("service 'api.test.local' already exists in this directory"));
  // Positive control: a name that shares nothing is issued.
  EXPECT_EQ(tlsfix_verb({"issue", dir_.string(), "--service", "web.test.local"}).exit_status, 0);
}

TEST_F(CliHostileInputTest, MessagesNameTheEntryTheUserWrote) {
  ExpectRefusedSpec("names.yaml", "services:\n  - name: api.test.local\n    names: [api.test.local, \"bad name!\"]\n",
                    "names.yaml:3:29: services[0].names[1]: 'bad name!' is not a valid DNS name or IP address");
  ExpectRefusedSpec("ip.yaml", "services:\n  - name: api.test.local\n    names: [256.1.1.1]\n",
                    "ip.yaml:3:13: services[0].names[0]: '256.1.1.1' is not a valid IPv4 address: four numbers 0-255");
  ExpectRefusedSpec("outside.yaml", "services:\n  - name: api.test.local\n    ips: [127.0.0.1, 10.1.2.3]\n",
                    "outside.yaml:3:22: services[0].ips[1]: '10.1.2.3' is outside the test names the CA may vouch for");
  // A wildcard over an address is no name at all: the hint is not an --allow-name that would not help.
  auto wildcard = tlsfix_verb({"init", dir_.string(), "--spec", write("w.yaml", "services:\n  - name: a.test.local\n    names: [\"*.256.1.1.1\"]\n")});
  EXPECT_EQ(wildcard.exit_status, 1) << wildcard;
  EXPECT_THAT(wildcard.output, HasSubstr("ends in the all-numeric label '1', which clients read as an IPv4 address"));
  EXPECT_THAT(wildcard.output, ::testing::Not(HasSubstr("--allow-name")));

  for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"init", "", "--service", "a.test.local"}, "DIR: is empty: give a path"},
           {{"init", dir_.string(), "--spec", ""}, "--spec: is empty: give a path"},
           {{"verify", "--ca", "", "--name", "a.test.local", "x.pem"}, "--ca: is empty: give a path"},
           {{"probe", "https://a.test.local/", "--ca", (tmp_ / "ca.crt").string(), "--timeout", "0"},
            "--timeout: 0 is not a number of seconds above 0"}}) {
    auto r = tlsfix_verb(args);
    EXPECT_EQ(r.exit_status, 1) << r;
    EXPECT_THAT(r.output, HasSubstr(message));
  }
  EXPECT_FALSE(fs::exists(dir_));
}

}  // namespace
