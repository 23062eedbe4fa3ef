#include "directory.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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

// change_directory's staging inside the directory, and what it holds besides the new files.
constexpr const char* change_staging = "issue";
constexpr const char* staged_top = ".top";        // the top files, manifest.json among them
constexpr const char* staged_plan = ".plan.json";  // the manifest to be, which stays for recovery

[[noreturn]] void fail(const fs::path& path, const std::string& what, int err) {
  throw tlsfix::error(path.string(), what + ": " + std::strerror(err));
}

// Holds a directory for one run that changes it: flock on the directory itself, released when the
// process ends, killed or not. Where the filesystem has no locks, runs go unguarded; the pid in a
// staging's name still keeps each run off a live one's staging.
class directory_hold {
 public:
  explicit directory_hold(const fs::path& dir) : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_ < 0) return;
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~directory_hold() {
    if (fd_ >= 0) ::close(fd_);
  }
  directory_hold(const directory_hold&) = delete;
  directory_hold& operator=(const directory_hold&) = delete;

 private:
  int fd_;
};

void sync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(dir, "cannot open the directory", errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) fail(dir, "cannot flush the directory", err);
}

// Renames `from` to `to`, a file or a directory, unless `to` exists: atomically where the
// filesystem has RENAME_NOREPLACE, else checked just before.
void move_to_new_name(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return;
  int err = errno;
  if (err == EINVAL) {
    std::error_code ec;
    if (fs::symlink_status(to, ec).type() != fs::file_type::not_found) err = EEXIST;
    else if (::rename(from.c_str(), to.c_str()) == 0) return;
    else err = errno;
  }
  if (err == EEXIST || err == ENOTEMPTY) throw tlsfix::error(to.string(), "appeared while tlsfix was writing it, and was left alone");
  fail(to, "cannot move into place", err);
}

// The files a manifest lists (path -> SHA-256, empty for the manifest itself), and the directories
// they are in.
std::map<std::string, std::string> listed_files(const json& manifest) {
  std::map<std::string, std::string> out;
  if (manifest.contains("files") && manifest["files"].is_array())
    for (const auto& f : manifest["files"])
      if (f.is_object() && f.contains("path") && f["path"].is_string()) out[f["path"].get<std::string>()] = f.value("sha256", "");
  return out;
}
std::set<std::string> listed_directories(const json& manifest) {
  std::set<std::string> out;
  for (const auto& [path, sha] : listed_files(manifest))
    for (fs::path p = fs::path(path).parent_path(); !p.empty(); p = p.parent_path()) out.insert(p.string());
  return out;
}

// What putting `paths` (new files, relative) into a directory moves there, each to a name that must
// be new: the top directory a file is in, whole (a service's), unless `listed` (the manifest's
// directories) has it already (kubernetes/): then the file alone.
std::vector<fs::path> moves_for(const std::vector<fs::path>& paths, const std::set<std::string>& listed) {
  std::vector<fs::path> out;
  for (const auto& p : paths) {
    fs::path top = *p.begin();
    fs::path move = p == top || listed.count(top.string()) ? p : top;
    if (std::find(out.begin(), out.end(), move) == out.end()) out.push_back(move);
  }
  return out;
}

// Whether `dir / moved` is exactly what a run planned to put there: every file in it a regular file
// the plan lists (path -> SHA-256) with that content, every directory one that planned files are in.
bool as_planned(const fs::path& dir, const fs::path& moved, const std::map<std::string, std::string>& planned) {
  std::set<std::string> planned_dirs;
  for (const auto& [path, sha] : planned)
    for (fs::path p = fs::path(path).parent_path(); !p.empty(); p = p.parent_path()) planned_dirs.insert(p.string());
  auto matches = [&](const fs::path& file) {
    auto found = planned.find(file.lexically_relative(dir).string());
    if (found == planned.end() || found->second.empty()) return false;
    try {
      return sha256_hex(ca::read_file(file)) == found->second;
    } catch (const tlsfix::error&) {
      return false;
    }
  };
  std::error_code ec;
  fs::path target = dir / moved;
  auto type = fs::symlink_status(target, ec).type();
  if (type == fs::file_type::regular) return matches(target);
  if (type != fs::file_type::directory || !planned_dirs.count(moved.string())) return false;
  for (auto it = fs::recursive_directory_iterator(target, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    auto kind = it->symlink_status(ec).type();
    if (kind == fs::file_type::directory && planned_dirs.count(it->path().lexically_relative(dir).string())) continue;
    if (kind != fs::file_type::regular || !matches(it->path())) return false;
  }
  return !ec;
}

// Takes back what a run that did not get its manifest in place moved into `dir`: by its plan (the
// manifest it was about to install), each name the current manifest does not list, when it is
// exactly as planned; anything else there is left alone.
void undo_moves(const fs::path& dir, const json& plan, const json& current) {
  auto planned = listed_files(plan);
  auto now = listed_files(current);
  std::vector<fs::path> added;
  for (const auto& [path, sha] : planned)
    if (!now.count(path)) added.push_back(path);
  for (const auto& moved : moves_for(added, listed_directories(current))) {
    std::error_code ec;
    if (as_planned(dir, moved, planned)) fs::remove_all(dir / moved, ec);
  }
}

// Step 5 of change_directory: the top files besides the manifest, over the old ones.
void install_top(const fs::path& dir, const fs::path& staging) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(staging / staged_top, ec)) {
    auto name = entry.path().filename();
    if (name == manifest_name) continue;
    if (::rename(entry.path().c_str(), (dir / name).c_str()) != 0) fail(dir / name, "cannot replace", errno);
  }
  sync_directory(dir);
}

// ".NAME.tmp-" and 12 hex digits: the name ca::write_file gives a file before it has its own (see
// write_beside in ca/src/files.cpp).
bool temporary_name(const std::string& name) {
  auto at = name.rfind(".tmp-");
  return name.size() > 1 && name[0] == '.' && at != std::string::npos && at > 1 && name.size() == at + 5 + 12 &&
         name.find_first_not_of("0123456789abcdef", at + 5) == std::string::npos;
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

fs::path make_staging(const fs::path& parent, const std::string& name) {
  std::string pattern = (parent / ".").string();  // appended: GCC bug 105329, see ca/src/files.cpp
  pattern.append(name).append(".tlsfix-").append(std::to_string(::getpid())).append("-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) fail(parent, "cannot create a directory", errno);
  return pattern;
}

std::vector<fs::path> dead_stagings(const fs::path& parent, const std::string& name) {
  std::string prefix = ".";  // appended: GCC bug 105329, see ca/src/files.cpp
  prefix.append(name).append(".tlsfix-");
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    std::string found = entry.path().filename().string();
    if (!found.starts_with(prefix) || entry.symlink_status(ec).type() != fs::file_type::directory) continue;
    std::string rest = found.substr(prefix.size());
    auto dash = rest.find('-');
    if (dash == 0 || dash == std::string::npos || rest.find_first_not_of("0123456789") != dash || dash > 9) continue;
    auto pid = static_cast<pid_t>(std::stol(rest.substr(0, dash)));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // its maker may still be at work
    out.push_back(entry.path());
  }
  return out;
}

void finish_interrupted_changes(const fs::path& dir) {
  for (const auto& staging : dead_stagings(dir, change_staging)) {
    std::error_code ec;
    if (fs::is_regular_file(staging / staged_plan, ec)) {
      std::string plan, now;
      try {
        plan = ca::read_file(staging / staged_plan);
        now = ca::read_file(dir / manifest_name);
      } catch (const tlsfix::error&) {
      }
      if (!plan.empty() && plan == now) {
        install_top(dir, staging);  // its manifest is in place: the run is finished but for these
      } else if (!plan.empty()) {
        json planned = json::parse(plan, nullptr, false), current = json::parse(now, nullptr, false);
        if (!planned.is_discarded() && !current.is_discarded()) undo_moves(dir, planned, current);
      }
    }
    fs::remove_all(staging, ec);
  }
  // Temporary files that runs of tlsfix from before this staging left in place.
  json manifest = json::object();
  try {
    manifest = json::parse(ca::read_file(dir / manifest_name), nullptr, false);
  } catch (const tlsfix::error&) {
  }
  auto dirs = listed_directories(manifest.is_discarded() ? json::object() : manifest);
  dirs.insert("");
  for (const auto& sub : dirs) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir / sub, ec))
      if (temporary_name(entry.path().filename().string()) && entry.symlink_status(ec).type() == fs::file_type::regular)
        fs::remove(entry.path(), ec);
  }
}

void change_directory(const fs::path& where, const std::function<directory_change(const tlsfix_dir&)>& make) {
  fs::path path = tlsfix_dir::open(where).path();  // errors name the directory or the file at fault
  directory_hold hold(path);
  finish_interrupted_changes(path);
  auto dir = tlsfix_dir::open(where);
  auto change = make(dir);

  std::vector<fs::path> added;
  for (const auto& f : change.files) added.push_back(f.path);
  auto moves = moves_for(added, listed_directories(dir.manifest()));
  auto listed = listed_files(dir.manifest());
  for (const auto& moved : moves) {
    std::error_code ec;
    if (fs::symlink_status(path / moved, ec).type() == fs::file_type::not_found) continue;
    if (listed.count(moved.string())) throw tlsfix::error((path / moved).string(), "already exists: manifest.json lists it");
    throw tlsfix::error((path / moved).string(), "exists, and manifest.json does not list it: tlsfix removes only what an "
                                                 "interrupted run of its own left, unchanged. Move it away, or issue another name");
  }
  auto manifest = std::find_if(change.top.begin(), change.top.end(), [](const ca::file_entry& f) { return f.path == manifest_name; });
  if (manifest == change.top.end()) throw tlsfix::error(path.string(), "internal: a change without a manifest");
  json plan = json::parse(manifest->contents);

  fs::path staging = make_staging(path, change_staging);
  try {
    write_under(staging, change.files);
    write_under(staging / staged_top, change.top);
    ca::write_file(staging / staged_plan, manifest->contents, ca::file_mode::public_read);
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(staging, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      if (it->symlink_status(ec).type() == fs::file_type::directory) sync_directory(it->path());
    sync_directory(staging);

    std::set<fs::path> touched{path};
    for (const auto& moved : moves) {
      if (moved.has_parent_path()) {
        ca::create_private_directory(path / moved.parent_path());
        touched.insert(path / moved.parent_path());
      }
      move_to_new_name(staging / moved, path / moved);
    }
    for (const auto& d : touched) sync_directory(d);
    let_key_owners_through(path, change.services);
    // The moment of the change: a reader, or a run after a kill, sees the old manifest or this one.
    if (::rename((staging / staged_top / manifest_name).c_str(), (path / manifest_name).c_str()) != 0)
      fail(path / manifest_name, "cannot replace", errno);
  } catch (...) {
    undo_moves(path, plan, dir.manifest());
    std::error_code ec;
    fs::remove_all(staging, ec);
    throw;
  }
  // From here on a failure leaves the staging for the next run to finish.
  install_top(path, staging);
  std::error_code ec;
  fs::remove_all(staging, ec);
}

}  // namespace tlsfix::cli
