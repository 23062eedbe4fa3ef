#include "directory.hpp"

#include <map>
#include <set>

#include "durations.hpp"
#include "names.hpp"
#include "outputs.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string mode_text(ca::file_mode mode) {
  switch (mode) {
    case ca::file_mode::public_read: return "0644";
    case ca::file_mode::secret: return "0600";
    case ca::file_mode::group_secret: return "0640";
  }
  return "0600";
}

json file_record(const ca::file_entry& f) {
  json out = {{"path", f.path.string()}, {"mode", mode_text(f.mode)}, {"sha256", sha256_hex(f.contents)}};
  if (f.owner.user) out["uid"] = *f.owner.user;
  if (f.owner.group) out["gid"] = *f.owner.group;
  return out;
}

}  // namespace

fs::path absolute_dir(const fs::path& dir) {
  auto out = fs::absolute(dir).lexically_normal();
  if (!out.has_filename() && out.has_parent_path() && out != out.root_path()) out = out.parent_path();
  return out;
}

tlsfix_dir tlsfix_dir::open(const fs::path& dir) {
  fs::path path = absolute_dir(dir);
  if (!fs::is_directory(path)) throw tlsfix::error(dir.string(), "not a directory (make one with `tlsfix init " + dir.string() + "`)");
  fs::path manifest_file = path / manifest_name;
  json manifest;
  try {
    manifest = json::parse(ca::read_file(manifest_file));
  } catch (const json::exception& e) {
    throw tlsfix::error(manifest_file.string(), std::string("not a tlsfix manifest: ") + e.what());
  }
  if (!manifest.is_object() || manifest.value("tool", "") != "tlsfix" || !manifest.contains("services") ||
      !manifest["services"].is_array())
    throw tlsfix::error(manifest_file.string(), "not a tlsfix manifest (no \"tool\": \"tlsfix\" or no services)");
  auto root = ca::certificate::from_pem(ca::read_file(path / "ca.crt"), (path / "ca.crt").string());
  return tlsfix_dir(path, std::move(manifest), std::move(root));
}

const json& tlsfix_dir::service(const std::string& name) const {
  std::string known;
  for (const auto& s : services()) {
    if (s.at("name") == name) return s;
    known += (known.empty() ? "" : ", ") + s.at("name").get<std::string>();
  }
  throw tlsfix::error("--service", "'" + name + "' is not in " + path_.string() + " (it has: " + known + ")");
}

bool tlsfix_dir::has_ca_key() const { return fs::exists(path_ / "ca.key"); }

ca::certificate_authority tlsfix_dir::load_ca() const {
  fs::path key_file = path_ / "ca.key";
  if (!has_ca_key())
    throw tlsfix::error(key_file.string(), "missing: this directory's CA key was not kept, so it can sign nothing more "
                    "(by design). Make a new directory with `tlsfix init --keep-ca-key` to issue later.");
  try {
    return ca::certificate_authority::load(ca::read_file(ca_file()), ca::read_file(key_file));
  } catch (const tlsfix::error& e) {
    throw e.within(key_file.string() + " with " + ca_file().string());
  }
}

std::vector<std::string> tlsfix_dir::allow_names() const {
  return manifest_.value("allow_names", std::vector<std::string>{});
}

service_output render_service(const service_spec& spec, const ca::issued_cert& cert) {
  fs::path dir = spec.name;
  service_output out;
  // The files holding the key, for the server that reads them; write_under gives it the directory.
  ca::file_owner owner;
  if (spec.key_owner) owner.user = spec.key_owner->id;
  if (spec.key_group) owner.group = spec.key_group->id;
  auto secret = spec.key_group ? ca::file_mode::group_secret : ca::file_mode::secret;
  out.files = {{dir / "cert.pem", cert.cert_pem(), ca::file_mode::public_read},
               {dir / "key.pem", cert.key_pem(), secret, owner},
               {dir / "fullchain.pem", cert.fullchain_pem(), ca::file_mode::public_read},
               {dir / "service.pem", cert.bundle_pem(), secret, owner}};
  json files = {{"cert", (dir / "cert.pem").string()},
                {"key", (dir / "key.pem").string()},
                {"fullchain", (dir / "fullchain.pem").string()},
                {"bundle", (dir / "service.pem").string()}};
  if (spec.p12_password) {
    out.files.push_back({dir / "service.p12", cert.pkcs12(*spec.p12_password, spec.name), secret, owner});
    files["p12"] = (dir / "service.p12").string();
  }
  fs::path k8s = fs::path("kubernetes") / (kubernetes_name(spec.name) + "-tls.yaml");
  out.files.push_back({k8s, kubernetes_tls_secret(spec.name, cert), ca::file_mode::secret});
  files["kubernetes"] = k8s.string();
  const auto& leaf = cert.cert();
  out.record = {{"name", spec.name},
                {"sans", leaf.subject_alt_names()},
                {"usage", usage_word(spec.usage)},
                {"key_type", std::string(ca::to_string(spec.key))},
                {"clients", spec.clients},
                {"serial", leaf.serial_hex()},
                {"sha256_fingerprint", leaf.sha256_fingerprint()},
                {"not_before", ca::to_iso8601(leaf.not_before())},
                {"not_after", ca::to_iso8601(leaf.not_after())},
                {"files", files}};
  if (spec.key_owner || spec.key_group) {
    json access = {{"mode", mode_text(secret)}};
    if (spec.key_owner) access.update({{"owner", spec.key_owner->name}, {"uid", spec.key_owner->id}});
    if (spec.key_group) access.update({{"group", spec.key_group->name}, {"gid", spec.key_group->id}});
    out.record["key_access"] = access;
  }
  return out;
}

std::vector<ca::file_entry> render_top(const fs::path& dir, const ca::certificate& root, bool key_kept,
                                       const std::vector<std::string>& allow_names, const json& services,
                                       const std::vector<ca::file_entry>& files, const json& previous_files) {
  auto vars = environment(harness::trust{root}, dir, services);
  std::vector<ca::file_entry> top{{"env", format_env(vars, env_format::shell), ca::file_mode::public_read},
                                  {"github.env", format_env(vars, env_format::github), ca::file_mode::public_read},
                                  {"hosts", hosts_lines(services), ca::file_mode::public_read}};
  std::map<std::string, json> listed;
  if (previous_files.is_array())
    for (const auto& f : previous_files) listed[f.at("path").get<std::string>()] = f;
  const std::vector<ca::file_entry>* groups[] = {&files, &top};
  for (const auto* group : groups)
    for (const auto& f : *group) listed[f.path.string()] = file_record(f);
  // The manifest cannot hold its own hash.
  listed[manifest_name] = {{"path", manifest_name}, {"mode", "0644"}};
  json list = json::array();
  for (auto& [path, record] : listed) list.push_back(std::move(record));

  json manifest = {{"tool", "tlsfix"},
                   {"format", 1},
                   {"updated", ca::to_iso8601(ca::clock::now())},
                   {"ca",
                    {{"file", "ca.crt"},
                     {"key_file", key_kept ? json("ca.key") : json(nullptr)},
                     {"subject", root.subject()},
                     {"sha256_fingerprint", root.sha256_fingerprint()},
                     {"not_before", ca::to_iso8601(root.not_before())},
                     {"not_after", ca::to_iso8601(root.not_after())}}},
                   {"allow_names", allow_names},
                   {"services", services},
                   {"files", list}};
  top.push_back({manifest_name, manifest.dump(2) + "\n", ca::file_mode::public_read});
  return top;
}

void write_under(const fs::path& dir, std::vector<ca::file_entry> files) {
  // A file given to another user sits in a service's directory, which that user must be able to
  // enter: it gets the same owner, 0700, or the same group, 0750 (read and pass, never write).
  std::map<fs::path, ca::file_owner> shared;
  for (auto& f : files) {
    f.path = dir / f.path;
    ca::create_private_directory(f.path.parent_path());
    if (f.owner.user || f.owner.group) shared[f.path.parent_path()] = f.owner;
  }
  ca::write_files(files);
  try {
    for (const auto& [path, owner] : shared) ca::set_directory_access(path, owner, owner.group ? 0750 : 0700);
  } catch (...) {
    std::error_code ignored;
    for (const auto& f : files) fs::remove(f.path, ignored);
    throw;
  }
}

void let_key_owners_through(const fs::path& dir, const json& services) {
  std::set<unsigned> groups;
  bool users = false;
  for (const auto& s : services) {
    if (!s.contains("key_access")) continue;
    const auto& access = s["key_access"];
    users = users || access.contains("uid");
    if (access.contains("gid")) groups.insert(access["gid"].get<unsigned>());
  }
  if (!users && groups.empty()) return;  // no one else needs in: the directory stays 0700
  // Passing through (x) is all they need: a server that knows its path can open its own files,
  // and nothing here can be listed, read or changed by them.
  if (!users && groups.size() == 1) ca::set_directory_access(dir, {.group = *groups.begin()}, 0710);
  else ca::set_directory_access(dir, {}, 0711);
}

}  // namespace tlsfix::cli
