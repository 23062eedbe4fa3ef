// Files on disk, written so that nothing is ever half-written, overwritten or world-readable.
//
// Every write goes to a fresh temporary file in the same directory (O_EXCL|O_NOFOLLOW), is
// flushed, and is then linked into place, which fails if the name already exists: a reader never
// sees a partial file and an existing file is never replaced. Secrets get mode 0600, directories
// made here 0700. A secret for a server that runs as another user gets that user or group on the
// open file, before it has its name, so it is never seen with the wrong owner or mode.
//
//   tlsfix::ca::create_private_directory("ci-tls");
//   tlsfix::ca::write_file("ci-tls/key.pem", leaf.key_pem(), tlsfix::ca::file_mode::secret);
//   tlsfix::ca::write_file("ci-tls/pg.key", leaf.key_pem(), tlsfix::ca::file_mode::group_secret,
//                          {.group = postgres_gid});             // root:postgres 0640 (needs root)
//   tlsfix::ca::temp_file ca_file{root.to_pem()};   // deleted again when it goes out of scope
//   run("curl", "--cacert", ca_file.path());
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlsfix::ca {

// group_secret is for a file given to a group (file_owner.group), which it requires.
enum class file_mode { public_read, secret, group_secret };  // 0644, 0600, 0640

// Who a file or directory is for when not this process: a server running as another user takes
// its key only if the key is its own (PostgreSQL: 0600, owned by the database user) or its
// group's (0640). Unset fields keep this process's user or group. Giving a file to another user
// needs root; to another group, root or membership of it.
struct file_owner {
  std::optional<uid_t> user;
  std::optional<gid_t> group;
};

// Throws `error` naming the path if it exists already or cannot be written; leaves nothing behind.
void write_file(const std::filesystem::path& path, std::string_view contents, file_mode mode,
                const file_owner& owner = {});
// The one deliberate overwrite, for files a tool owns (a manifest it updates): the new contents go
// to a temporary file beside `path`, which is then renamed over it, so a reader sees the old file
// or the new one, never a mix. Creates `path` if it is missing.
void replace_file(const std::filesystem::path& path, std::string_view contents, file_mode mode);

struct file_entry {
  std::filesystem::path path;
  std::string contents;
  file_mode mode = file_mode::public_read;
  file_owner owner = {};
};

// Writes several files as one: if any of them exists or fails, none of them is left behind.
void write_files(const std::vector<file_entry>& files);

// Creates `path` (and missing parents) with mode 0700. An existing directory is accepted only if it
// is a real directory (not a link) owned by this user.
void create_private_directory(const std::filesystem::path& path);

// Gives a directory (never a link) to `owner` and sets its mode exactly, so that a server running
// as another user can reach its files: 0700 or 0750 for a service's directory, 0710 or 0711 to let
// a group, or anyone, pass through to names they know without listing them. Refuses any mode that
// would let others read or write, or the group write.
void set_directory_access(const std::filesystem::path& path, const file_owner& owner, mode_t mode);

// Reads a whole regular file of at most `limit` bytes; throws `error` naming the path for a
// directory, a device, pipe or socket (which may never end: /dev/zero), or a larger file.
inline constexpr std::size_t read_file_limit = 16 * 1024 * 1024;
std::string read_file(const std::filesystem::path& path, std::size_t limit = read_file_limit);

// A file in a fresh private temporary directory, removed with its directory on destruction.
class temp_file {
 public:
  explicit temp_file(std::string_view contents, std::string_view name = "tlsfix.pem",
                     file_mode mode = file_mode::public_read);
  temp_file(temp_file&& other) noexcept;
  temp_file& operator=(temp_file&& other) noexcept;
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  ~temp_file();

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  void remove() noexcept;
  std::filesystem::path dir_;
  std::filesystem::path path_;
};

}  // namespace tlsfix::ca
