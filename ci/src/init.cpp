// `tlsfix init DIR`: a fresh CA and a directory of certificates, from flags, a spec, or both.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "directory.hpp"
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

// Refuses to replace anything but an earlier tlsfix directory, and that only with --force.
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
  return true;
}

// The whole directory is built beside its final place and renamed into it, so a reader never sees
// half of it and a failure leaves nothing behind. Until then it is 0700, whoever its keys are for.
void install_directory(const fs::path& dir, const std::vector<ca::file_entry>& files, const json& services, bool replace) {
  fs::path parent = dir.parent_path();
  fs::create_directories(parent);
  std::string pattern = (parent / ".").string();  // appended: GCC bug 105329, see ca/src/files.cpp
  pattern.append(dir.filename().string()).append(".tlsfix-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr)
    throw tlsfix::error(parent.string(), std::string("cannot create a directory: ") + std::strerror(errno));
  fs::path staging = pattern;
  fs::path old = pattern + ".old";
  try {
    write_under(staging, files);
    let_key_owners_through(staging, services);
    if (replace) fs::rename(dir, old);
    try {
      fs::rename(staging, dir);
    } catch (...) {
      if (replace) fs::rename(old, dir);
      throw;
    }
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(staging);
    throw tlsfix::error(dir.string(), "cannot install the new directory: " + e.code().message());
  } catch (...) {
    fs::remove_all(staging);
    throw;
  }
  if (replace) fs::remove_all(old);
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
  resolve(t);
  fs::path dir = absolute_dir(o.dir);
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
