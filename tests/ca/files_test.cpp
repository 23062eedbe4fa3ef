// Files on disk: exact modes whatever the umask, no overwriting, no following links, nothing left
// half-written, and temporary files that clean up after themselves.
#include "tlsfix/ca/files.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>

#include "tlsfix/error.hpp"
#include "error_text.hpp"

namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using tlsfix::ca::file_mode;

using tlsfix::test::error_from;

mode_t mode_of(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(::lstat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The process umask for one scope; tests run one at a time, so nothing else sees it.
class scoped_umask {
 public:
  explicit scoped_umask(mode_t mask) : old_(::umask(mask)) {}
  ~scoped_umask() { ::umask(old_); }
  scoped_umask(const scoped_umask&) = delete;
  scoped_umask& operator=(const scoped_umask&) = delete;

 private:
  mode_t old_;
};

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tlsfix-files-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ignored);
    fs::remove_all(dir_, ignored);
  }

  // Every name in the directory, hidden temporary files included.
  std::set<std::string> entries(const fs::path& dir) const {
    std::set<std::string> out;
    for (const auto& entry : fs::directory_iterator(dir)) out.insert(entry.path().filename().string());
    return out;
  }
  std::set<std::string> entries() const { return entries(dir_); }

  fs::path dir_;
};

TEST_F(FilesTest, WriteFileModesIgnoreTheUmask) {
  for (mode_t mask : {mode_t{0}, mode_t{022}, mode_t{077}, mode_t{0277}}) {
    scoped_umask umask_guard(mask);
    auto name = std::to_string(mask);
    tlsfix::ca::write_file(dir_ / (name + ".key"), "secret", file_mode::secret);
    tlsfix::ca::write_file(dir_ / (name + ".pem"), "public", file_mode::public_read);
    EXPECT_EQ(mode_of(dir_ / (name + ".key")), 0600u) << "umask " << std::oct << mask;
    EXPECT_EQ(mode_of(dir_ / (name + ".pem")), 0644u) << "umask " << std::oct << mask;
    EXPECT_EQ(slurp(dir_ / (name + ".key")), "secret");
  }
}

TEST_F(FilesTest, WriteFileRefusesAnExistingFileAndKeepsIt) {
  auto path = dir_ / "key.pem";
  tlsfix::ca::write_file(path, "original", file_mode::secret);
  EXPECT_THAT(error_from([&] { tlsfix::ca::write_file(path, "replacement", file_mode::secret); }),
              AllOf(HasSubstr(path.string()), HasSubstr("already exists")));
  EXPECT_EQ(slurp(path), "original");
  EXPECT_THAT(entries(), UnorderedElementsAre("key.pem")) << "no temporary file left behind";
}

TEST_F(FilesTest, WriteFileRefusesASymlinkAndNeverWritesThroughIt) {
  auto target = dir_ / "target.txt";
  auto link = dir_ / "link.pem";
  fs::create_symlink(target, link);  // dangling: following it would create the target
  EXPECT_THAT(error_from([&] { tlsfix::ca::write_file(link, "data", file_mode::public_read); }),
              AllOf(HasSubstr(link.string()), HasSubstr("already exists")));
  EXPECT_FALSE(fs::exists(target));
  EXPECT_TRUE(fs::is_symlink(link));

  std::ofstream(target) << "untouched";
  EXPECT_THROW(tlsfix::ca::write_file(link, "data", file_mode::public_read), tlsfix::error);
  EXPECT_EQ(slurp(target), "untouched");
  EXPECT_THAT(entries(), UnorderedElementsAre("target.txt", "link.pem"));
}

TEST_F(FilesTest, WriteFileErrorNamesTheMissingDirectory) {
  auto path = dir_ / "missing" / "key.pem";
  EXPECT_THAT(error_from([&] { tlsfix::ca::write_file(path, "x", file_mode::secret); }),
              AllOf(HasSubstr(path.string()), HasSubstr("No such file or directory")));
  EXPECT_THAT(entries(), IsEmpty());
}

// Runs `f` where directory permissions apply: in this process, or, since root ignores them, in a
// child process that has dropped to user and group 65534 (nobody). Returns what `f` returned.
std::string where_permissions_apply(const std::function<std::string()>& f) {
  if (::geteuid() != 0) return f();
  int fds[2];
  if (::pipe(fds) != 0) return "<pipe failed>";
  pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    std::string text = ::setgid(65534) == 0 && ::setuid(65534) == 0 ? f() : "<cannot drop privileges>";
    ssize_t ignored = ::write(fds[1], text.data(), text.size());
    (void)ignored;
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buffer[512];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  return text;
}

TEST_F(FilesTest, WriteFileErrorNamesTheUnwritableDirectory) {
  auto locked = dir_ / "locked";
  fs::create_directory(locked);
  // Others may pass through the test directory but nobody may write into `locked`.
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::others_exec);
  fs::permissions(locked,
                  fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read | fs::perms::others_exec);
  auto path = locked / "key.pem";
  EXPECT_THAT(where_permissions_apply(
                  [&] { return error_from([&] { tlsfix::ca::write_file(path, "x", file_mode::secret); }); }),
              AllOf(HasSubstr(path.string()), HasSubstr("Permission denied")));
  fs::permissions(locked, fs::perms::owner_all);
  EXPECT_THAT(entries(locked), IsEmpty());
}

// 65534 is nobody and nogroup on Debian; giving files away needs root, which the tests have.
TEST_F(FilesTest, WriteFileGivesASecretToItsUserOrItsGroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "giving a file to another user needs root";
  tlsfix::ca::write_file(dir_ / "user.key", "u", file_mode::secret, {.user = 65534});
  tlsfix::ca::write_file(dir_ / "group.key", "g", file_mode::group_secret, {.group = 65534});
  struct stat user {}, group {};
  ASSERT_EQ(::lstat((dir_ / "user.key").c_str(), &user), 0);
  ASSERT_EQ(::lstat((dir_ / "group.key").c_str(), &group), 0);
  EXPECT_EQ(user.st_uid, 65534u);
  EXPECT_EQ(user.st_gid, ::getegid());
  EXPECT_EQ(user.st_mode & 07777, 0600u);
  EXPECT_EQ(group.st_uid, ::geteuid());
  EXPECT_EQ(group.st_gid, 65534u);
  EXPECT_EQ(group.st_mode & 07777, 0640u);
  EXPECT_EQ(slurp(dir_ / "group.key"), "g");
  EXPECT_THAT(entries(), UnorderedElementsAre("user.key", "group.key")) << "no temporary file left behind";
}

TEST_F(FilesTest, WriteFileRefusesAGroupSecretWithoutAGroup) {
  auto path = dir_ / "key.pem";
  EXPECT_THAT(error_from([&] { tlsfix::ca::write_file(path, "x", file_mode::group_secret); }),
              AllOf(HasSubstr(path.string()), HasSubstr("group_secret needs a file_owner.group")));
  EXPECT_THAT(entries(), IsEmpty());
}

TEST_F(FilesTest, WriteFileThatCannotGiveTheFileAwaySaysWhyAndLeavesNothing) {
  auto open = dir_ / "open";
  fs::create_directory(open);
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(open.c_str(), 65534, 65534), 0);  // writable by the child below
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::others_exec);
  }
  auto path = open / "key.pem";
  EXPECT_THAT(where_permissions_apply([&] {
                return error_from([&] { tlsfix::ca::write_file(path, "x", file_mode::secret, {.user = 0}); });
              }),
              AllOf(HasSubstr(path.string()), HasSubstr("cannot give it to user 0 (that needs root)"),
                    HasSubstr("Operation not permitted")));
  EXPECT_THAT(entries(open), IsEmpty());
}

TEST_F(FilesTest, SetDirectoryAccessSetsTheModeExactlyAndNeverLetsOthersRead) {
  auto dir = dir_ / "service";
  tlsfix::ca::create_private_directory(dir);
  tlsfix::ca::set_directory_access(dir, {}, 0711);
  EXPECT_EQ(mode_of(dir), 0711u);
  for (mode_t wide : {mode_t{0755}, mode_t{0702}, mode_t{0770}, mode_t{04711}}) {
    EXPECT_THAT(error_from([&] { tlsfix::ca::set_directory_access(dir, {}, wide); }),
                AllOf(HasSubstr(dir.string()), HasSubstr("is refused: others may only pass through")))
        << std::oct << wide;
  }
  EXPECT_EQ(mode_of(dir), 0711u) << "unchanged";
  fs::create_directory_symlink(dir, dir_ / "link");
  EXPECT_THAT(error_from([&] { tlsfix::ca::set_directory_access(dir_ / "link", {}, 0700); }),
              HasSubstr((dir_ / "link").string()));
  EXPECT_EQ(mode_of(dir), 0711u) << "a link is never followed";
  if (::geteuid() == 0) {
    tlsfix::ca::set_directory_access(dir, {.user = 65534, .group = 65534}, 0750);
    struct stat info {};
    ASSERT_EQ(::lstat(dir.c_str(), &info), 0);
    EXPECT_EQ(info.st_uid, 65534u);
    EXPECT_EQ(info.st_gid, 65534u);
    EXPECT_EQ(info.st_mode & 07777, 0750u);
  }
}

TEST_F(FilesTest, WriteFileErrorNamesAParentThatIsAFile) {
  // Unwritable for root as well, unlike a mode-0500 directory.
  std::ofstream(dir_ / "file") << "x";
  auto path = dir_ / "file" / "key.pem";
  EXPECT_THAT(error_from([&] { tlsfix::ca::write_file(path, "x", file_mode::secret); }),
              AllOf(HasSubstr(path.string()), HasSubstr("Not a directory")));
}

TEST_F(FilesTest, WriteFileOverADirectoryLeavesNoTemporaryFile) {
  // The temporary file is written, then linking it into place fails: it must be removed again.
  fs::create_directory(dir_ / "taken");
  EXPECT_THAT(error_from([&] { tlsfix::ca::write_file(dir_ / "taken", "x", file_mode::secret); }),
              AllOf(HasSubstr((dir_ / "taken").string()), HasSubstr("already exists")));
  EXPECT_THAT(entries(), UnorderedElementsAre("taken"));
}

TEST_F(FilesTest, ReplaceFileSwapsTheWholeFileAndSetsItsMode) {
  auto path = dir_ / "manifest.json";
  tlsfix::ca::replace_file(path, "first", file_mode::public_read);  // creates a missing file
  EXPECT_EQ(slurp(path), "first");
  {
    scoped_umask umask_guard(077);
    tlsfix::ca::replace_file(path, "second, longer", file_mode::secret);
  }
  EXPECT_EQ(slurp(path), "second, longer");
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_THAT(entries(), UnorderedElementsAre("manifest.json")) << "no temporary file left behind";
}

TEST_F(FilesTest, ReplaceFileReplacesASymlinkItselfNotItsTarget) {
  auto target = dir_ / "target.txt";
  std::ofstream(target) << "untouched";
  auto link = dir_ / "link.json";
  fs::create_symlink(target, link);
  tlsfix::ca::replace_file(link, "new", file_mode::public_read);
  EXPECT_EQ(slurp(target), "untouched");
  EXPECT_FALSE(fs::is_symlink(link));
  EXPECT_EQ(slurp(link), "new");
}

TEST_F(FilesTest, ReplaceFileErrorNamesThePathAndKeepsTheOldFile) {
  auto path = dir_ / "busy";
  fs::create_directory(path);  // rename(2) cannot put a file over a directory
  EXPECT_THAT(error_from([&] { tlsfix::ca::replace_file(path, "x", file_mode::public_read); }),
              AllOf(HasSubstr(path.string()), HasSubstr("cannot replace")));
  EXPECT_TRUE(fs::is_directory(path));
  EXPECT_THAT(entries(), UnorderedElementsAre("busy")) << "no temporary file left behind";
}

TEST_F(FilesTest, WriteFilesIsAllOrNothingWhenOneExists) {
  tlsfix::ca::write_file(dir_ / "c.pem", "existing", file_mode::public_read);
  EXPECT_THAT(error_from([&] {
                tlsfix::ca::write_files(
                    {{dir_ / "a.pem", "a"}, {dir_ / "b.key", "b", file_mode::secret}, {dir_ / "c.pem", "c"}});
              }),
              AllOf(HasSubstr((dir_ / "c.pem").string()), HasSubstr("already exists")));
  EXPECT_THAT(entries(), UnorderedElementsAre("c.pem"));
  EXPECT_EQ(slurp(dir_ / "c.pem"), "existing");
}

TEST_F(FilesTest, WriteFilesRemovesWhatItWroteWhenALaterWriteFails) {
  EXPECT_THAT(
      error_from([&] {
        tlsfix::ca::write_files(
            {{dir_ / "a.pem", "a"}, {dir_ / "b.key", "b", file_mode::secret}, {dir_ / "missing" / "c.pem", "c"}});
      }),
      HasSubstr((dir_ / "missing" / "c.pem").string()));
  EXPECT_THAT(entries(), IsEmpty());
}

TEST_F(FilesTest, WriteFilesWritesEveryFileWithItsMode) {
  tlsfix::ca::write_files({{dir_ / "a.pem", "a"}, {dir_ / "b.key", "b", file_mode::secret}});
  EXPECT_EQ(mode_of(dir_ / "a.pem"), 0644u);
  EXPECT_EQ(mode_of(dir_ / "b.key"), 0600u);
  EXPECT_EQ(slurp(dir_ / "b.key"), "b");
}

TEST_F(FilesTest, CreatePrivateDirectoryIs0700WithItsParents) {
  scoped_umask umask_guard(0);
  auto nested = dir_ / "a" / "b" / "c";
  tlsfix::ca::create_private_directory(nested);
  EXPECT_TRUE(fs::is_directory(nested));
  EXPECT_EQ(mode_of(nested), 0700u);
  EXPECT_EQ(mode_of(dir_ / "a"), 0700u);
  EXPECT_NO_THROW(tlsfix::ca::create_private_directory(nested)) << "an existing private directory is fine";
}

TEST_F(FilesTest, CreatePrivateDirectoryIs0700WhateverTheUmask) {
  scoped_umask umask_guard(0277);
  tlsfix::ca::create_private_directory(dir_ / "private");
  EXPECT_EQ(mode_of(dir_ / "private"), 0700u);
}

TEST_F(FilesTest, CreatePrivateDirectoryRejectsAFileInTheWay) {
  std::ofstream(dir_ / "file") << "x";
  EXPECT_THAT(error_from([&] { tlsfix::ca::create_private_directory(dir_ / "file"); }),
              AllOf(HasSubstr((dir_ / "file").string()), HasSubstr("not a directory")));
}

TEST_F(FilesTest, CreatePrivateDirectoryRejectsASymlinkToADirectory) {
  fs::create_directory(dir_ / "real");
  fs::create_directory_symlink(dir_ / "real", dir_ / "link");
  EXPECT_THAT(error_from([&] { tlsfix::ca::create_private_directory(dir_ / "link"); }),
              AllOf(HasSubstr((dir_ / "link").string()), HasSubstr("not a directory")));
}

TEST_F(FilesTest, ReadFileRoundTripsAndNamesAMissingPath) {
  std::string binary("a\0b\xff", 4);
  tlsfix::ca::write_file(dir_ / "blob", binary, file_mode::public_read);
  EXPECT_EQ(tlsfix::ca::read_file(dir_ / "blob"), binary);
  auto missing = dir_ / "missing.pem";
  EXPECT_THAT(error_from([&] { tlsfix::ca::read_file(missing); }),
              AllOf(HasSubstr(missing.string()), HasSubstr("cannot open")));
}

TEST(TempFileTest, HoldsTheContentsAndDeletesItselfAndItsDirectory) {
  fs::path path, dir;
  {
    tlsfix::ca::temp_file file{"contents", "ca.crt", file_mode::secret};
    path = file.path();
    dir = path.parent_path();
    EXPECT_EQ(path.filename(), "ca.crt");
    EXPECT_EQ(tlsfix::ca::read_file(path), "contents");
    EXPECT_EQ(mode_of(path), 0600u);
    EXPECT_EQ(mode_of(dir), 0700u);
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(dir));
}

TEST(TempFileTest, TwoTempFilesNeverShareADirectory) {
  tlsfix::ca::temp_file a{"a"}, b{"b"};
  EXPECT_NE(a.path().parent_path(), b.path().parent_path());
  EXPECT_EQ(tlsfix::ca::read_file(a.path()), "a");
  EXPECT_EQ(mode_of(a.path()), 0644u);
}

TEST(TempFileTest, MoveTransfersOwnership) {
  fs::path path;
  {
    tlsfix::ca::temp_file outer{"x"};
    path = outer.path();
    {
      tlsfix::ca::temp_file inner{std::move(outer)};
      EXPECT_EQ(inner.path(), path);
      EXPECT_TRUE(outer.path().empty());  // NOLINT(bugprone-use-after-move): documented moved-from state
    }
    EXPECT_FALSE(fs::exists(path)) << "the new owner deleted it";
    EXPECT_FALSE(fs::exists(path.parent_path()));
  }
}

TEST(TempFileTest, MoveAssignmentDeletesTheOverwrittenFile) {
  tlsfix::ca::temp_file first{"first"}, second{"second"};
  fs::path first_path = first.path(), second_path = second.path();
  first = std::move(second);
  EXPECT_FALSE(fs::exists(first_path));
  EXPECT_FALSE(fs::exists(first_path.parent_path()));
  EXPECT_EQ(first.path(), second_path);
  EXPECT_EQ(tlsfix::ca::read_file(first.path()), "second");
}

}  // namespace
