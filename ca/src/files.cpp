#include "tlsfix/ca/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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

mode_t mode_bits(file_mode mode) { return mode == file_mode::secret ? 0600 : 0644; }

// Closes the descriptor on every path out.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

// Writes `contents` to a fresh hidden file beside `path` (O_EXCL|O_NOFOLLOW, flushed) and returns
// its name; on failure nothing is left behind. write_file links it into place, replace_file renames
// it over the old file: either way a reader sees the whole old file or the whole new one.
fs::path write_beside(const fs::path& path, std::string_view contents, file_mode mode) {
  fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict (GCC bug 105329) for
  // "." + std::string.
  std::string temp_name = ".";
  temp_name.append(path.filename().string()).append(".tmp-").append(detail::random_hex(6));
  fs::path temp = dir / temp_name;
  fd_guard fd{::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_bits(mode))};
  if (fd.fd < 0) fail(path, "cannot create a file in " + dir.string(), errno);
  // fchmod, because the umask may have narrowed a public file; it never widens a secret.
  bool ok = ::fchmod(fd.fd, mode_bits(mode)) == 0;
  size_t written = 0;
  while (ok && written < contents.size()) {
    ssize_t n = ::write(fd.fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) written += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd.fd) == 0;
  if (!ok) {
    int err = errno;
    ::unlink(temp.c_str());
    fail(path, "cannot write", err);
  }
  return temp;
}

}  // namespace

void write_file(const fs::path& path, std::string_view contents, file_mode mode) {
  fs::path temp = write_beside(path, contents, mode);
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
      write_file(file.path, file.contents, file.mode);
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

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open", errno);
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) fail(path, "cannot read", errno);
  return out.str();
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
