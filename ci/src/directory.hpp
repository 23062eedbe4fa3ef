// A tlsfix directory on disk: its layout, its manifest, and writing it safely.
//
//   DIR/                         0700 (0710 or 0711 when a service's key is for another user)
//     ca.crt                     the root clients trust
//     ca.key                     0600, only with --keep-ca-key (needed by `issue`)
//     env github.env hosts       shell exports, $GITHUB_ENV lines, /etc/hosts lines
//     manifest.json              every file (mode, sha256), every service (SANs, serial,
//                                fingerprint, validity, mTLS clients)
//     kubernetes/                a kubernetes.io/tls Secret per service, the CA as Secret and ConfigMap
//     <service>/                 cert.pem key.pem fullchain.pem service.pem [service.p12]; with
//                                key_owner/key_group the key files and the directory are theirs
//     .issue.tlsfix-PID-XXXXXX/  0700, only while `issue` runs (or after it was killed, until the
//                                next one): its staging, see change_directory (directory_change.hpp)
//
//   auto dir = tlsfix_dir::open("tls");                  // errors name the file at fault
//   auto ca = dir.load_ca();                             // needs ca.key
//   for (const auto& s : dir.services()) std::cout << s["name"] << '\n';
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "spec.hpp"
#include "tlsfix/ca/certificate.hpp"
#include "tlsfix/ca/certificate_authority.hpp"
#include "tlsfix/ca/files.hpp"
#include "tlsfix/ca/issued_cert.hpp"

namespace tlsfix::cli {

inline constexpr const char* manifest_name = "manifest.json";
// The files at the top that render_top writes besides the manifest, and all that a change installs
// there from its staging.
inline constexpr const char* top_files[] = {"env", "github.env", "hosts"};

class tlsfix_dir {
 public:
  // Reads manifest.json and ca.crt; throws naming the file when either is missing or malformed.
  static tlsfix_dir open(const std::filesystem::path& dir);

  const std::filesystem::path& path() const noexcept { return path_; }
  const nlohmann::json& manifest() const noexcept { return manifest_; }
  const nlohmann::json& services() const { return manifest_.at("services"); }
  // The service's manifest entry; throws listing the known services.
  const nlohmann::json& service(const std::string& name) const;
  const ca::certificate& root() const noexcept { return root_; }
  std::filesystem::path ca_file() const { return path_ / "ca.crt"; }
  bool has_ca_key() const;
  // The CA from ca.crt and ca.key; throws saying how to get a directory with a key.
  ca::certificate_authority load_ca() const;
  std::vector<std::string> allow_names() const;

 private:
  tlsfix_dir(std::filesystem::path p, nlohmann::json m, ca::certificate root)
      : path_(std::move(p)), manifest_(std::move(m)), root_(std::move(root)) {}
  std::filesystem::path path_;
  nlohmann::json manifest_;
  ca::certificate root_;
};

// The files of one service (paths relative to the directory) and its manifest entry.
struct service_output {
  std::vector<ca::file_entry> files;
  nlohmann::json record;
};
service_output render_service(const service_spec& spec, const ca::issued_cert& cert);

// The files at the top (env, github.env, hosts, manifest.json) for `dir` holding `services`
// (manifest entries) beside `files` (every other file, relative paths, for the manifest's list).
std::vector<ca::file_entry> render_top(const std::filesystem::path& dir, const ca::certificate& root, bool key_kept,
                                       const std::vector<std::string>& allow_names, const nlohmann::json& services,
                                       const std::vector<ca::file_entry>& files, const nlohmann::json& previous_files = {});

// Writes `files` (relative paths) under `dir`, creating subdirectories 0700; a subdirectory
// holding a file given to another user (file_entry.owner) goes to them too: 0700 for a user,
// 0750 with a group. All or nothing.
void write_under(const std::filesystem::path& dir, std::vector<ca::file_entry> files);

// Lets the users and groups that `services` (manifest entries) give keys to pass through `dir`,
// never list it: 0710 with the group when they are one group alone, else 0711. Leaves `dir` as it
// is (0700) when no service's key is for someone else.
void let_key_owners_through(const std::filesystem::path& dir, const nlohmann::json& services);

// The directory as an absolute path without "." or ".." or a trailing slash.
std::filesystem::path absolute_dir(const std::filesystem::path& dir);

// Staging: a run builds what it installs in a directory of its own, ".NAME.tlsfix-PID-XXXXXX" in
// `parent` (0700; NAME what it is for, PID the run's), and renames it, or what it holds, into
// place. A killed run leaves it behind, keys and all; a later run knows it by its name, and that
// its maker is gone by the pid, which no longer exists.
std::filesystem::path make_staging(const std::filesystem::path& parent, const std::string& name);
std::vector<std::filesystem::path> dead_stagings(const std::filesystem::path& parent, const std::string& name);

// Holds a directory for one run that changes (`issue`) or replaces (`init --force`) it: flock on
// the directory itself, released when the process ends, killed or not. A directory replaced while
// a run waited is not the one it holds: the hold then takes the new one. Where the filesystem has
// no locks, runs go unguarded; the pid in a staging's name still keeps each run off a live one's.
class directory_hold {
 public:
  explicit directory_hold(const std::filesystem::path& dir);
  ~directory_hold();
  directory_hold(const directory_hold&) = delete;
  directory_hold& operator=(const directory_hold&) = delete;

 private:
  int fd_ = -1;
};

// A directory open for the *at() calls, reached from `dir` through `rel` with O_NOFOLLOW at every
// step, so that a link put on the way, even while tlsfix works, is never followed out of `dir`.
// fd() is -1 (errno set: ELOOP or ENOTDIR for a link) when it cannot be opened so.
class directory_fd {
 public:
  explicit directory_fd(const std::filesystem::path& dir, const std::filesystem::path& rel = {});
  ~directory_fd();
  directory_fd(const directory_fd&) = delete;
  directory_fd& operator=(const directory_fd&) = delete;
  int fd() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

// Removes `rel` under `dir` and all it holds without following a link: a link goes, never its
// target, and a directory swapped for a link meanwhile is not entered. Never throws; what cannot
// be removed stays.
void remove_inside(const std::filesystem::path& dir, const std::filesystem::path& rel) noexcept;
// The same for a path of its own (a staging).
void remove_tree(const std::filesystem::path& path) noexcept;

// fsync of a directory (its entries), and of every directory under `dir` and then `dir` itself:
// a rename or a link is on disk only once the directory holding it is.
void sync_directory(const std::filesystem::path& dir);
void sync_tree(const std::filesystem::path& dir);

// A path read back from disk (a manifest's or a staging's plan's file list), which may have been
// written by someone else: accepted only as a relative, lexically normal path with no "." or ".."
// and no link among the directories on its way inside `dir`. Throws naming `file` and `field`.
std::filesystem::path inside_directory(const std::filesystem::path& dir, const nlohmann::json& value,
                                       const std::filesystem::path& file, const std::string& field);

// The files the manifest (or plan) `file` lists for `dir`: path -> SHA-256, "" only for
// manifest.json itself, which cannot hold its own. Every path through inside_directory; a field of
// the wrong type or a missing SHA-256 is an error naming `file` and the field.
std::map<std::string, std::string> listed_files(const std::filesystem::path& dir, const nlohmann::json& manifest,
                                                const std::filesystem::path& file);

}  // namespace tlsfix::cli
