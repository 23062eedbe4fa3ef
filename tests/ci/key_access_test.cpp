// Keys for servers that run as another user (`init` and `issue` with key_owner, key_group): who
// owns each file and directory, their modes, and what that user can really open.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <functional>

#include "cli_support.hpp"

namespace {

using namespace tlsfix;
using namespace tlsfix::cli_test;
using ::testing::AllOf;
using ::testing::HasSubstr;

// Giving a file away needs root, which the tests and CI have; what the server can open is checked
// for real, in a child process that has become that user.

struct stat stat_of(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(::lstat(path.c_str(), &info), 0) << path;
  return info;
}

std::string octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

struct child_result {
  int status = -1;  // what the function returned (0..254), or -1 when the child could not become the user
  std::string text;
};

// Runs `f` in a child process that has become `uid` and `gid`, with no supplementary groups.
child_result as_user(uid_t uid, gid_t gid, const std::function<child_result()>& f) {
  int fds[2];
  if (::pipe(fds) != 0) return {-1, "<pipe failed>"};
  pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    ::alarm(60);  // never a hung test
    if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(255);
    auto r = f();
    for (std::size_t done = 0; done < r.text.size();) {
      ssize_t n = ::write(fds[1], r.text.data() + done, r.text.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::_exit(r.status);
  }
  ::close(fds[1]);
  child_result out;
  char buffer[512];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) out.text.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  out.status = WIFEXITED(status) && WEXITSTATUS(status) != 255 ? WEXITSTATUS(status) : -1;
  return out;
}

// 0 when `uid`:`gid` may open `path` for reading, else the errno (EACCES).
int open_as(uid_t uid, gid_t gid, const fs::path& path) {
  return as_user(uid, gid, [&] {
           int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
           return child_result{fd >= 0 ? 0 : errno, ""};
         }).status;
}

// Every file as manifest.json lists it: its mode, and its owner and group (this process's unless
// the entry names others). No secret is readable by others, nothing writable by anyone but its
// owner, and no directory readable or writable by others.
void ExpectFilesAsTheManifestSays(const fs::path& dir) {
  auto m = read_json(dir / "manifest.json");
  for (const auto& f : m["files"]) {
    auto path = dir / f["path"].get<std::string>();
    auto info = stat_of(path);
    auto mode = f["mode"].get<std::string>();
    EXPECT_EQ(octal(info.st_mode), mode) << path;
    EXPECT_EQ(info.st_uid, f.value("uid", ::geteuid())) << path;
    EXPECT_EQ(info.st_gid, f.value("gid", ::getegid())) << path;
    if (mode != "0644") {
      EXPECT_EQ(info.st_mode & 07, 0u) << path << " is a secret";
    }
    EXPECT_EQ(info.st_mode & 022, 0u) << path;
  }
  EXPECT_EQ(stat_of(dir).st_mode & 06, 0u);
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_directory()) {
      EXPECT_EQ(stat_of(entry.path()).st_mode & 026, 0u) << entry.path();
    }
  }
}

// Needs root, and Debian's nobody, nogroup and daemon: the two users stand in for a database's.
class CliInitKeyAccessTest : public CliInitTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "giving a key to another user needs root";
    // getpwnam reuses one buffer: take each answer before the next call.
    const passwd* user = ::getpwnam("nobody");
    if (user == nullptr) GTEST_SKIP() << "no user nobody on this machine";
    nobody_ = user->pw_uid;
    user = ::getpwnam("daemon");
    if (user == nullptr) GTEST_SKIP() << "no user daemon on this machine";
    daemon_ = user->pw_uid, daemon_group_ = user->pw_gid;
    const group* g = ::getgrnam("nogroup");
    if (g == nullptr) GTEST_SKIP() << "no group nogroup on this machine";
    nogroup_ = g->gr_gid;
    // Where DIR lies is the user's business: here the test's own directory lets everyone pass.
    fs::permissions(tmp_.path(), fs::perms(0711));
  }
  fs::path service(const std::string& name, const std::string& file) const { return dir_ / name / file; }

  uid_t nobody_ = 0, daemon_ = 0;
  gid_t nogroup_ = 0, daemon_group_ = 0;
};

TEST_F(CliInitKeyAccessTest, KeyOwnerFlagGivesTheKeysAndTheirDirectoryToThatUserOnly) {
  init({"--service", "other.test.local", "--key-owner", "service.test.local=nobody", "--p12-password", "changeit"});
  for (const char* f : {"key.pem", "service.pem", "service.p12"}) {
    auto info = stat_of(service("service.test.local", f));
    EXPECT_EQ(info.st_uid, nobody_) << f;
    EXPECT_EQ(info.st_gid, ::getegid()) << f;
    EXPECT_EQ(octal(info.st_mode), "0600") << f;
  }
  auto home = stat_of(dir_ / "service.test.local");
  EXPECT_EQ(home.st_uid, nobody_);
  EXPECT_EQ(octal(home.st_mode), "0700");
  EXPECT_EQ(octal(stat_of(dir_).st_mode), "0711") << "the user passes through the top, never lists it";
  // Everything else as it is without the flag: this user's, 0600 and 0700.
  for (const char* f : {"other.test.local/key.pem", "kubernetes/service-test-local-tls.yaml"}) {
    auto info = stat_of(dir_ / f);
    EXPECT_EQ(info.st_uid, ::geteuid()) << f;
    EXPECT_EQ(octal(info.st_mode), "0600") << f;
  }
  EXPECT_EQ(stat_of(service("service.test.local", "cert.pem")).st_uid, ::geteuid());
  EXPECT_EQ(octal(stat_of(dir_ / "other.test.local").st_mode), "0700");
  ExpectFilesAsTheManifestSays(dir_);

  // The server's user opens its own keys, and nothing else that is secret.
  EXPECT_EQ(open_as(nobody_, nogroup_, service("service.test.local", "key.pem")), 0);
  EXPECT_EQ(open_as(nobody_, nogroup_, service("service.test.local", "service.pem")), 0);
  EXPECT_EQ(open_as(nobody_, nogroup_, service("other.test.local", "key.pem")), EACCES);
  EXPECT_EQ(open_as(nobody_, nogroup_, dir_ / "kubernetes/service-test-local-tls.yaml"), EACCES);
  EXPECT_EQ(open_as(daemon_, daemon_group_, service("service.test.local", "key.pem")), EACCES) << "another user";

  auto m = read_json(dir_ / "manifest.json");
  EXPECT_EQ(m["services"][0]["key_access"], nlohmann::json({{"owner", "nobody"}, {"uid", nobody_}, {"mode", "0600"}}));
  EXPECT_FALSE(m["services"][1].contains("key_access"));
}

TEST_F(CliInitKeyAccessTest, KeyGroupInASpecOpensTheKeysToThatGroupOnly) {
  auto spec = write("db.yaml", "services:\n  - name: db.test.local\n    key_group: nogroup\n  - name: web.test.local\n");
  auto r = tlsfix_verb({"init", dir_.string(), "--spec", spec});
  ASSERT_EQ(r.exit_status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("db.test.local/  server, expires "));
  EXPECT_THAT(r.output, HasSubstr(", key files 0640, group nogroup\n"));
  for (const char* f : {"key.pem", "service.pem"}) {
    auto info = stat_of(service("db.test.local", f));
    EXPECT_EQ(info.st_uid, ::geteuid()) << f << ": the owner stays who ran tlsfix";
    EXPECT_EQ(info.st_gid, nogroup_) << f;
    EXPECT_EQ(octal(info.st_mode), "0640") << f;
  }
  auto home = stat_of(dir_ / "db.test.local");
  EXPECT_EQ(home.st_gid, nogroup_);
  EXPECT_EQ(octal(home.st_mode), "0750");
  auto top = stat_of(dir_);
  EXPECT_EQ(top.st_gid, nogroup_) << "one group alone: only it passes the top";
  EXPECT_EQ(octal(top.st_mode), "0710");
  EXPECT_EQ(octal(stat_of(service("web.test.local", "key.pem")).st_mode), "0600");
  ExpectFilesAsTheManifestSays(dir_);

  // A member of the group reads the key; the same user outside the group cannot even pass the top.
  EXPECT_EQ(open_as(daemon_, nogroup_, service("db.test.local", "key.pem")), 0);
  EXPECT_EQ(open_as(daemon_, nogroup_, service("web.test.local", "key.pem")), EACCES);
  EXPECT_EQ(open_as(daemon_, daemon_group_, service("db.test.local", "key.pem")), EACCES);
  EXPECT_EQ(open_as(daemon_, daemon_group_, dir_ / "ca.crt"), EACCES);
  EXPECT_EQ(read_json(dir_ / "manifest.json")["services"][0]["key_access"],
            nlohmann::json({{"group", "nogroup"}, {"gid", nogroup_}, {"mode", "0640"}}));
}

TEST_F(CliInitKeyAccessTest, OwnerFromTheSpecAndGroupFromAFlagTogether) {
  auto spec = write("db.yaml", "services:\n  - name: db.test.local\n    key_owner: nobody\n    p12_password: pw\n");
  auto r = tlsfix_verb({"init", dir_.string(), "--spec", spec, "--key-group", "db.test.local=nogroup"});
  ASSERT_EQ(r.exit_status, 0) << r.output;
  for (const char* f : {"key.pem", "service.pem", "service.p12"}) {
    auto info = stat_of(service("db.test.local", f));
    EXPECT_EQ(info.st_uid, nobody_) << f;
    EXPECT_EQ(info.st_gid, nogroup_) << f;
    EXPECT_EQ(octal(info.st_mode), "0640") << f;
  }
  auto home = stat_of(dir_ / "db.test.local");
  EXPECT_EQ(home.st_uid, nobody_);
  EXPECT_EQ(home.st_gid, nogroup_);
  EXPECT_EQ(octal(home.st_mode), "0750");
  EXPECT_EQ(octal(stat_of(dir_).st_mode), "0711") << "a user, who need not be in the group, must pass too";
  ExpectFilesAsTheManifestSays(dir_);
  EXPECT_EQ(open_as(nobody_, daemon_group_, service("db.test.local", "key.pem")), 0) << "the owner, outside the group";
  EXPECT_EQ(open_as(daemon_, nogroup_, service("db.test.local", "key.pem")), 0) << "the group";
  EXPECT_EQ(open_as(daemon_, daemon_group_, service("db.test.local", "key.pem")), EACCES);
  EXPECT_EQ(read_json(dir_ / "manifest.json")["services"][0]["key_access"],
            nlohmann::json({{"owner", "nobody"}, {"uid", nobody_}, {"group", "nogroup"}, {"gid", nogroup_}, {"mode", "0640"}}));
}

TEST_F(CliInitKeyAccessTest, IssueGivesANewServicesKeyAndOpensTheTop) {
  init({"--keep-ca-key"});
  EXPECT_EQ(octal(stat_of(dir_).st_mode), "0700") << "no key for anyone else yet";
  auto r = tlsfix_verb({"issue", dir_.string(), "--service", "db.test.local", "--key-owner", "db.test.local=nobody"});
  ASSERT_EQ(r.exit_status, 0) << r.output;
  auto key = stat_of(service("db.test.local", "key.pem"));
  EXPECT_EQ(key.st_uid, nobody_);
  EXPECT_EQ(octal(key.st_mode), "0600");
  EXPECT_EQ(octal(stat_of(dir_).st_mode), "0711");
  ExpectFilesAsTheManifestSays(dir_);
  EXPECT_EQ(open_as(nobody_, nogroup_, service("db.test.local", "key.pem")), 0);
  EXPECT_EQ(open_as(nobody_, nogroup_, service("service.test.local", "key.pem")), EACCES);
  EXPECT_EQ(open_as(nobody_, nogroup_, dir_ / "ca.key"), EACCES);
  EXPECT_EQ(read_json(dir_ / "manifest.json")["services"][1]["key_access"]["owner"], "nobody");
}

TEST_F(CliInitKeyAccessTest, UnknownUsersGroupsAndServicesNameTheFieldAndWriteNothing) {
  struct row {
    std::vector<std::string> args;
    std::string message;
  };
  auto spec = [&](const std::string& name, const std::string& field) {
    return write(name, "services:\n  - name: a.test.local\n  - name: db.test.local\n    " + field + "\n");
  };
  for (const auto& [args, message] : std::vector<row>{
           {{"--service", "db.test.local", "--key-owner", "db.test.local=postgress"},
            "--key-owner db.test.local=postgress: no user 'postgress' on this machine"},
           {{"--service", "db.test.local", "--key-group", "db.test.local=postgress"},
            "--key-group db.test.local=postgress: no group 'postgress' on this machine"},
           {{"--service", "db.test.local", "--key-owner", "ghost.test.local=nobody"},
            "--key-owner ghost.test.local=nobody: 'ghost.test.local' is not a service this command issues (db.test.local)"},
           {{"--service", "db.test.local", "--key-group", "nogroup"}, "--key-group nogroup: expected SERVICE=GROUP"},
           {{"--spec", spec("user.yaml", "key_owner: postgress")},
            "user.yaml:4:5: services[1].key_owner: no user 'postgress' on this machine"},
           {{"--spec", spec("group.yaml", "key_group: postgress")},
            "group.yaml:4:5: services[1].key_group: no group 'postgress' on this machine"},
           {{"--spec", spec("twice.yaml", "key_owner: nobody"), "--key-owner", "db.test.local=daemon"},
            "--key-owner db.test.local=daemon: 'db.test.local' already has key_owner 'nobody' (" + (tmp_ / "twice.yaml").string() +
                ":4:5: services[1].key_owner)"},
       }) {
    std::vector<std::string> all{"init", dir_.string()};
    all.insert(all.end(), args.begin(), args.end());
    auto r = tlsfix_verb(all);
    EXPECT_EQ(r.exit_status, 1) << message;
    EXPECT_THAT(r.output, HasSubstr(message));
    EXPECT_FALSE(fs::exists(dir_)) << message;
  }
}

TEST_F(CliInitKeyAccessTest, WithoutRootAKeyGoesOnlyToOnesOwnGroup) {
  auto home = tmp_ / "home";
  fs::create_directory(home);
  ASSERT_EQ(::chown(home.c_str(), nobody_, nogroup_), 0);
  auto init_as_nobody = [&](const std::vector<std::string>& args) {
    return as_user(nobody_, nogroup_, [&] {
      auto r = tlsfix_verb(args);
      return child_result{r.exit_status, r.output};
    });
  };
  auto dir = home / "tls";
  auto r = init_as_nobody({"init", dir.string(), "--service", "db.test.local", "--key-owner", "db.test.local=daemon"});
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.text, HasSubstr("--key-owner db.test.local=daemon: giving the key of 'db.test.local' to user 'daemon' needs root "
                                "(tlsfix runs as uid " + std::to_string(nobody_) + ")"));
  EXPECT_FALSE(fs::exists(dir));
  r = init_as_nobody({"init", dir.string(), "--service", "db.test.local", "--key-group", "db.test.local=daemon"});
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.text, HasSubstr("--key-group db.test.local=daemon: giving the key of 'db.test.local' to group 'daemon' needs root, "
                                "or a user in that group"));
  EXPECT_FALSE(fs::exists(dir));

  // A group one is in needs no root.
  r = init_as_nobody({"init", dir.string(), "--service", "db.test.local", "--key-group", "db.test.local=nogroup"});
  ASSERT_EQ(r.status, 0) << r.text;
  auto key = stat_of(dir / "db.test.local/key.pem");
  EXPECT_EQ(key.st_uid, nobody_);
  EXPECT_EQ(key.st_gid, nogroup_);
  EXPECT_EQ(octal(key.st_mode), "0640");
}

}  // namespace
