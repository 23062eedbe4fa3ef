// `tlsfix init DIR`: a fresh CA and a directory of certificates, from flags, a spec, or both.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "directory_change.hpp"
#include "durations.hpp"
#include "issuing.hpp"
#include "outputs.hpp"
#include "spec.hpp"
#include "tlsfix/error.hpp"
#include "verbs.hpp"

namespace tlsfix::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// What in an earlier tlsfix directory tlsfix did not write: files the manifest does not list,
// files whose content differs from what it recorded (edited since), directories no listed file
// needs, and anything that is not a regular file. --force deletes the directory whole, so
// anything here would be lost.
std::vector<std::string> not_written_by_tlsfix(const fs::path& dir, const json& manifest) {
  auto listed = listed_files(dir, manifest, dir / manifest_name);  // path -> sha256; empty for the manifest itself
  std::set<std::string> dirs;
  for (const auto& entry : listed)
    for (fs::path p = fs::path(entry.first).parent_path(); !p.empty(); p = p.parent_path()) dirs.insert(p.string());
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string rel = it->path().lexically_relative(dir).string();
    auto type = it->symlink_status(ec).type();
    if (type == fs::file_type::directory) {
      if (dirs.count(rel) == 0) {
        out.push_back(rel + "/");
        it.disable_recursion_pending();
      }
    } else if (type != fs::file_type::regular) {
      out.push_back(rel + " (not a regular file)");
    } else if (auto found = listed.find(rel); found == listed.end()) {
      out.push_back(rel);
    } else if (!found->second.empty()) {
      std::string now;
      try {
        now = sha256_hex(ca::read_file(it->path()));
      } catch (const tlsfix::error&) {
      }
      if (now != found->second) out.push_back(rel + " (changed since tlsfix wrote it)");
    }
  }
  if (ec) out.push_back("(cannot read the whole directory: " + ec.message() + ")");
  return out;
}

// Refuses to replace anything but an earlier tlsfix directory, and that only with --force. What a
// killed `issue` left in it is finished or undone first, so that the check sees only what tlsfix
// wrote; but only once the manifest is known to be tlsfix's, so that nothing in another program's
// directory is touched. The caller holds the directory.
bool check_target(const fs::path& dir, const std::string& shown, bool force) {
  std::error_code ec;
  auto status = fs::symlink_status(dir, ec);
  if (status.type() == fs::file_type::not_found) return false;
  if (status.type() != fs::file_type::directory) throw tlsfix::error(shown, "exists and is not a directory");
  if (fs::is_empty(dir)) return false;  // rename() replaces an empty directory by itself
  if (!force) throw tlsfix::error(shown, "already exists; pass --force to replace an earlier tlsfix directory");
  if (!fs::exists(dir / manifest_name))
    throw tlsfix::error(shown, "exists and holds no " + std::string(manifest_name) +
                                   "; --force replaces only a directory made by tlsfix");
  tlsfix_dir::open(dir);  // throws unless the manifest really is ours
  finish_interrupted_changes(dir);
  auto earlier = tlsfix_dir::open(dir);
  if (auto foreign = not_written_by_tlsfix(dir, earlier.manifest()); !foreign.empty()) {
    std::string list;
    for (std::size_t i = 0; i < foreign.size() && i < 10; ++i) list += (i ? ", " : "") + foreign[i];
    if (foreign.size() > 10) list += ", and " + std::to_string(foreign.size() - 10) + " more";
    throw tlsfix::error(shown, "holds what tlsfix did not write: " + list +
                                   "; --force replaces only the files its manifest lists, unchanged (move these away first)");
  }
  return true;
}

// A run that was killed leaves its staging directory (keys and all) beside DIR, and if it was
// killed between its two renames, the earlier directory under its ".old" name. The next run
// cleans up after such a run of its own: staging names carry the pid that made them, and only a
// pid that no longer exists gives its leftovers away. An earlier directory is put back where it
// was when nothing replaced it, and removed otherwise.
void clean_stale_staging(const fs::path& dir) {
  std::error_code ec;
  for (const auto& staging : dead_stagings(dir.parent_path(), dir.filename().string())) {
    if (staging.string().ends_with(".old") && !fs::exists(fs::symlink_status(dir, ec))) fs::rename(staging, dir, ec);
    else remove_tree(staging);
  }
}

// The whole directory is built beside its final place and renamed into it, so a reader never sees
// half of it and a failure leaves nothing behind. Until then it is 0700, whoever its keys are for.
void install_directory(const fs::path& dir, const std::vector<ca::file_entry>& files, const json& services, bool replace) {
  fs::create_directories(dir.parent_path());
  fs::path staging = make_staging(dir.parent_path(), dir.filename().string());
  fs::path old = staging.string() + ".old";
  try {
    write_under(staging, files);
    let_key_owners_through(staging, services);
    sync_tree(staging);  // all of it on disk before its name can be DIR
    if (replace) fs::rename(dir, old);
    try {
      fs::rename(staging, dir);
    } catch (...) {
      if (replace) fs::rename(old, dir);
      throw;
    }
    sync_directory(dir.parent_path());
  } catch (const fs::filesystem_error& e) {
    remove_tree(staging);
    throw tlsfix::error(dir.string(), "cannot install the new directory: " + e.code().message());
  } catch (...) {
    remove_tree(staging);
    throw;
  }
  if (replace) remove_tree(old);
}

}  // namespace

verb_result init(const init_options& o) {
  if (o.spec && o.ca_validity)
    throw tlsfix::error("--ca-validity", "cannot be used with --spec: the spec's ca.validity says how long the root lasts");
  topology t = o.spec ? load_spec(*o.spec) : topology{};
  if (!o.spec) t.ca_validity = parse_duration(o.ca_validity.value_or("365d"), "--ca-validity");
  t.allow_names.insert(t.allow_names.end(), o.allow_names.begin(), o.allow_names.end());
  add_flag_services(t, o.flags);
  if (t.services.empty()) throw tlsfix::error("nothing to issue: give --service NAME (or --client NAME) or --spec FILE");
  // A root that ends before its certificates makes them fail on a day nobody chose.
  std::string root_field = o.spec ? "ca.validity" : "--ca-validity";
  if (t.ca_validity <= std::chrono::seconds(0)) throw tlsfix::error(root_field, "must be longer than 0s: the root must outlast its certificates");
  for (auto& s : t.services) {
    if (s.validity <= t.ca_validity) continue;
    if (!s.validity_given) {
      s.validity = t.ca_validity;  // the default, shortened to the root's
      continue;
    }
    throw tlsfix::error("service " + s.name, "validity " + format_duration(s.validity) + " outlasts the root (" + root_field + " " +
                                                   format_duration(t.ca_validity) + "); shorten it or lengthen the root's");
  }
  resolve(t);
  fs::path dir = absolute_dir(o.dir);
  clean_stale_staging(dir);
  // Held from the check to the rename, so that an `issue` cannot change DIR in between, nor one
  // that waited change the directory this run took away.
  std::optional<directory_hold> hold;
  std::error_code ec;
  if (fs::symlink_status(dir, ec).type() == fs::file_type::directory) hold.emplace(dir);
  bool replace = check_target(dir, o.dir, o.force);

  auto authority = ca::certificate_authority::create(
      {.key = t.ca_key, .permitted_names = t.allow_names, .validity = ca::validity::lasting(t.ca_validity)});
  const auto& root = authority.root();
  std::vector<ca::file_entry> files{
      {"ca.crt", root.to_pem(), ca::file_mode::public_read},
      {"kubernetes/tlsfix-ca-secret.yaml", kubernetes_ca_secret(root), ca::file_mode::public_read},
      {"kubernetes/tlsfix-ca-configmap.yaml", kubernetes_ca_config_map(root), ca::file_mode::public_read}};
  if (o.keep_ca_key) files.push_back({"ca.key", authority.key().to_pem(), ca::file_mode::secret});
  json services = json::array();
  for (const auto& s : t.services) {
    auto out = render_service(s, issue_one(authority, s));
    files.insert(files.end(), out.files.begin(), out.files.end());
    services.push_back(std::move(out.record));
  }
  auto top = render_top(dir, root, o.keep_ca_key, t.allow_names, services, files);
  files.insert(files.end(), top.begin(), top.end());
  install_directory(dir, files, services, replace);
  return {.out = o.json ? top.back().contents : summary(dir, services, o.keep_ca_key)};
}

}  // namespace tlsfix::cli
