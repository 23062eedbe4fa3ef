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
//                                next one): its staging, see change_directory
//
//   auto dir = tlsfix_dir::open("tls");                  // errors name the file at fault
//   auto ca = dir.load_ca();                             // needs ca.key
//   for (const auto& s : dir.services()) std::cout << s["name"] << '\n';
#pragma once

#include <filesystem>
#include <functional>
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

// What a change to an existing directory (`issue`) adds: `files` are new (paths relative to the
// directory: a new service's directory, its Secret in kubernetes/), `top` replaces the files at the
// top (render_top's: manifest.json among them), `services` is every service afterwards.
struct directory_change {
  std::vector<ca::file_entry> files;
  std::vector<ca::file_entry> top;
  nlohmann::json services;
};

// Changes the tlsfix directory `dir` so that a reader, or a run killed at any moment, sees it as it
// was or as it becomes, never a mix:
//   1. takes the directory (flock; a second `issue` waits), and finishes what a dead run left
//      (finish_interrupted_changes); opens it and asks `make` for the change;
//   2. writes everything into a staging directory inside it (make_staging(dir, "issue")): `files`,
//      `top` under .top/, and .plan.json, the manifest to be; each file fsynced, then the directories;
//   3. moves each new directory into place whole (a service's), and each new file of a directory
//      the manifest already lists files in (kubernetes/) on its own, never over anything: a name
//      that exists already, and that the manifest does not list, is refused, naming it;
//   4. renames the new manifest.json over the old one: the change has happened;
//   5. renames the other top files over theirs (env, github.env, hosts) and removes the staging.
// Any failure before 4 undoes 3; `make` throwing changes nothing.
void change_directory(const std::filesystem::path& dir, const std::function<directory_change(const tlsfix_dir&)>& make);

// What a dead run of change_directory left in `dir`: with its manifest in place, it is finished
// (step 5); without, whatever it moved in is removed, but only what is exactly as its plan
// recorded (same paths, same SHA-256): what has been changed or added to since is the user's now,
// and stays, for the next run to refuse by name. The staging goes either way, and any temporary
// file (".NAME.tmp-" and 12 hex digits, ca::write_file's) left in the directories tlsfix keeps.
// The caller holds the directory (change_directory does).
void finish_interrupted_changes(const std::filesystem::path& dir);

}  // namespace tlsfix::cli
