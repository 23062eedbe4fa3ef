#include "tlsfix/ca/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "tlsfix/ca/internal/x509_builder.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::ca {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const fs::path& path, const std::string& what, int err) {
  throw error(path.string(), what + ": " + std::strerror(err));
}

mode_t mode_bits(file_mode mode) {
  switch (mode) {
    case file_mode::public_read: return 0644;
    case file_mode::secret: return 0600;
    case file_mode::group_secret: return 0640;
  }
  return 0600;
}

std::string octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
  return text;
}

// Closes the descriptor on every path out.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

// Gives the open file or directory to `owner` (nothing to do when it names no one); returns 0 or
// the errno, with `what` saying what failed, and why when it is the missing privilege.
int give(int fd, const file_owner& owner, std::string& what) {
  if (!owner.user && !owner.group) return 0;
  // -1 leaves that id as it is (chown(2)).
  if (::fchown(fd, owner.user.value_or(static_cast<uid_t>(-1)), owner.group.value_or(static_cast<gid_t>(-1))) == 0) return 0;
  int err = errno;
  std::string to = owner.user ? "user " + std::to_string(*owner.user) : "";
  if (owner.group) to += (to.empty() ? "group " : " and group ") + std::to_string(*owner.group);
  what = "cannot give it to " + to;
  if (err == EPERM) what += " (that needs root" + std::string(owner.user ? "" : ", or membership of the group") + ")";
  return err;
}

// Writes `contents` to a fresh hidden file beside `path` (O_EXCL|O_NOFOLLOW, flushed) and returns
// its name; on failure nothing is left behind. write_file links it into place, replace_file renames
// it over the old file: either way a reader sees the whole old file or the whole new one.
fs::path write_beside(const fs::path& path, std::string_view contents, file_mode mode, const file_owner& owner = {}) {
  if (mode == file_mode::group_secret && !owner.group)
    throw error(path.string(), "file_mode::group_secret needs a file_owner.group: a 0640 file is for one named group");
  fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict (GCC bug 105329) for
  // "." + std::string.
  std::string temp_name = ".";
  temp_name.append(path.filename().string()).append(".tmp-").append(detail::random_hex(6));
  fs::path temp = dir / temp_name;
  // A group's secret starts as 0600 and gains the group's read bit only once the group is right.
  mode_t first = mode == file_mode::group_secret ? 0600 : mode_bits(mode);
  fd_guard fd{::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, first)};
  if (fd.fd < 0) fail(path, "cannot create a file in " + dir.string(), errno);
  std::string what = "cannot write";
  int err = give(fd.fd, owner, what);
  // fchmod, because the umask may have narrowed a public file; it never widens a secret.
  bool ok = err == 0 && ::fchmod(fd.fd, mode_bits(mode)) == 0;
  size_t written = 0;
  while (ok && written < contents.size()) {
    ssize_t n = ::write(fd.fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) written += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd.fd) == 0;
  if (!ok) {
    if (err == 0) err = errno;
    ::unlink(temp.c_str());
    fail(path, what, err);
  }
  return temp;
}

}  // namespace

void write_file(const fs::path& path, std::string_view contents, file_mode mode, const file_owner& owner) {
  fs::path temp = write_beside(path, contents, mode, owner);
  // link() refuses an existing name, so an existing file is never replaced, even in a race.
  if (::link(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    if (err == EEXIST) throw error(path.string(), "already exists; tlsfix never overwrites a file");
    fail(path, "cannot create", err);
  }
  ::unlink(temp.c_str());
}

void replace_file(const fs::path& path, std::string_view contents, file_mode mode) {
  fs::path temp = write_beside(path, contents, mode);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    fail(path, "cannot replace", err);
  }
}

void write_files(const std::vector<file_entry>& files) {
  for (const auto& file : files) {
    std::error_code ec;
    if (fs::symlink_status(file.path, ec).type() != fs::file_type::not_found)
      throw error(file.path.string(), "already exists; tlsfix never overwrites a file");
  }
  std::vector<fs::path> written;
  try {
    for (const auto& file : files) {
      write_file(file.path, file.contents, file.mode, file.owner);
      written.push_back(file.path);
    }
  } catch (...) {
    for (const auto& path : written) ::unlink(path.c_str());
    throw;
  }
}

void create_private_directory(const fs::path& path) {
  if (path.has_parent_path() && !fs::exists(path.parent_path())) create_private_directory(path.parent_path());
  if (::mkdir(path.c_str(), 0700) == 0) {
    // mkdir applies the umask, which may even take the owner's own bits away; set the mode exactly.
    if (::chmod(path.c_str(), 0700) != 0) fail(path, "cannot set mode 0700", errno);
    return;
  }
  int err = errno;
  if (err != EEXIST) fail(path, "cannot create directory", err);
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) fail(path, "cannot inspect", errno);
  if (!S_ISDIR(info.st_mode)) throw error(path.string(), "exists and is not a directory");
  if (info.st_uid != ::geteuid()) throw error(path.string(), "is owned by another user");
}

void set_directory_access(const fs::path& path, const file_owner& owner, mode_t mode) {
  if ((mode & ~mode_t{0751}) != 0)
    throw error(path.string(), "mode " + octal(mode) + " is refused: others may only pass through a directory (--x), its "
                               "group read and pass (r-x)");
  fd_guard fd{::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (fd.fd < 0) fail(path, "cannot open the directory", errno);
  std::string what;
  if (int err = give(fd.fd, owner, what); err != 0) fail(path, what, err);
  if (::fchmod(fd.fd, mode) != 0) fail(path, "cannot set mode " + octal(mode), errno);
}

std::string read_file(const fs::path& path, std::size_t limit) {
  // O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever before fstat can
  // refuse it. A regular file ignores the flag.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail(path, "cannot open", errno);
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } close_on_exit{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(path, "cannot read", errno);
  if (S_ISDIR(st.st_mode)) throw error(path.string(), "is a directory, not a file");
  // A device (/dev/zero), pipe or socket has no end to wait for, or none it promises.
  if (!S_ISREG(st.st_mode)) throw error(path.string(), "is not a regular file (a device, pipe or socket): give a file");
  auto too_big = [&] {
    throw error(path.string(), "is larger than " + std::to_string(limit) + " bytes, more than tlsfix reads from one file");
  };
  if (static_cast<std::uintmax_t>(st.st_size) > limit) too_big();
  std::string out;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, "cannot read", errno);
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
    if (out.size() > limit) too_big();  // it grew while we read
  }
  return out;
}

temp_file::temp_file(std::string_view contents, std::string_view name, file_mode mode) {
  std::string pattern = (fs::temp_directory_path() / "tlsfix-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) fail(pattern, "cannot create a temporary directory", errno);
  dir_ = pattern;
  path_ = dir_ / std::string(name);
  try {
    write_file(path_, contents, mode);
  } catch (...) {
    remove();
    throw;
  }
}

temp_file::temp_file(temp_file&& other) noexcept
    : dir_(std::exchange(other.dir_, {})), path_(std::exchange(other.path_, {})) {}

temp_file& temp_file::operator=(temp_file&& other) noexcept {
  if (this != &other) {
    remove();
    dir_ = std::exchange(other.dir_, {});
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

temp_file::~temp_file() { remove(); }

void temp_file::remove() noexcept {
  if (dir_.empty()) return;
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
  dir_.clear();
  path_.clear();
}

}  // namespace tlsfix::ca
