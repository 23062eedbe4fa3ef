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
//
//   auto dir = tlsfix_dir::open("tls");                  // errors name the file at fault
//   auto ca = dir.load_ca();                             // needs ca.key
//   for (const auto& s : dir.services()) std::cout << s["name"] << '\n';
#pragma once

#include <filesystem>
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

}  // namespace tlsfix::cli
