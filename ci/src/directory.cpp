#include "directory.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <sys/file.h>
#include <dirent.h>
#include <sys/stat.h>
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

[[noreturn]] void fail(const fs::path& path, const std::string& what, int err) {
  throw tlsfix::error(path.string(), what + ": " + std::strerror(err));
}

// Removes `name` in the directory open as `parent`, depth first, without following any link.
void remove_at(int parent, const std::string& name) noexcept {
  struct stat info {};
  if (::fstatat(parent, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) return;
  if (!S_ISDIR(info.st_mode)) {
    ::unlinkat(parent, name.c_str(), 0);
    return;
  }
  int fd = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    // Swapped for a link (or a file) since fstatat: that goes, and nothing behind it.
    if (errno == ELOOP || errno == ENOTDIR) ::unlinkat(parent, name.c_str(), 0);
    return;
  }
  DIR* listing = ::fdopendir(fd);  // owns fd from here on
  if (listing == nullptr) {
    ::close(fd);
    return;
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(listing))
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) names.emplace_back(entry->d_name);
  for (const auto& n : names) remove_at(fd, n);
  ::closedir(listing);
  ::unlinkat(parent, name.c_str(), AT_REMOVEDIR);
}

bool sha256_text(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The fields of a manifest's services that tlsfix reads back (issue, env, let_key_owners_through),
// each of the type it needs, so that a damaged one is named instead of failing somewhere inside.
void check_services(const json& services, const fs::path& file) {
  auto refuse = [&](const std::string& field, const std::string& what) { throw tlsfix::error(file.string(), field + ": " + what); };
  for (std::size_t i = 0; i < services.size(); ++i) {
    const json& s = services[i];
    std::string at = "services[" + std::to_string(i) + "]";
    if (!s.is_object()) refuse(at, std::string("must be an object, not ") + s.type_name());
    if (!s.contains("name") || !s["name"].is_string()) refuse(at + ".name", "must be a string");
    if (s.contains("usage") && !s["usage"].is_string()) refuse(at + ".usage", "must be a string");
    if (s.contains("clients") && !s["clients"].is_array()) refuse(at + ".clients", "must be an array of names");
    if (s.contains("files") && !s["files"].is_object()) refuse(at + ".files", "must be an object of paths");
    if (!s.contains("key_access")) continue;
    if (!s["key_access"].is_object()) refuse(at + ".key_access", "must be an object");
    for (const char* id : {"uid", "gid"})
      if (s["key_access"].contains(id) && !s["key_access"][id].is_number_unsigned())
        refuse(at + ".key_access." + id, "must be a number (a user or group id)");
  }
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
  // Everything downstream (issue, init --force, render_top) takes these as checked.
  check_services(manifest["services"], manifest_file);
  listed_files(path, manifest, manifest_file);
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
  std::vector<ca::file_entry> top{{top_files[0], format_env(vars, env_format::shell), ca::file_mode::public_read},
                                  {top_files[1], format_env(vars, env_format::github), ca::file_mode::public_read},
                                  {top_files[2], hosts_lines(services), ca::file_mode::public_read}};
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

directory_hold::directory_hold(const fs::path& dir) {
  for (;;) {
    fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) return;
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
    // `init --force` renames a new directory over the one it holds: a run that waited for that
    // one holds a directory that is gone, and takes the one now at the name instead.
    struct stat held {}, now {};
    if (::fstat(fd_, &held) != 0 || ::stat(dir.c_str(), &now) != 0 || (held.st_dev == now.st_dev && held.st_ino == now.st_ino))
      return;
    ::close(fd_);
  }
}

directory_hold::~directory_hold() {
  if (fd_ >= 0) ::close(fd_);
}

directory_fd::directory_fd(const fs::path& dir, const fs::path& rel) : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
  for (const auto& part : rel) {
    if (fd_ < 0) return;
    int next = ::openat(fd_, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int err = errno;
    ::close(fd_);
    fd_ = next;
    errno = err;
  }
}

directory_fd::~directory_fd() {
  if (fd_ >= 0) ::close(fd_);
}

void remove_inside(const fs::path& dir, const fs::path& rel) noexcept {
  try {
    if (!rel.has_filename()) return;
    directory_fd parent(dir, rel.parent_path());
    if (parent.fd() >= 0) remove_at(parent.fd(), rel.filename().string());
  } catch (...) {  // std::bad_alloc from a path: what cannot be removed stays
  }
}

void remove_tree(const fs::path& path) noexcept {
  try {
    remove_inside(path.parent_path(), path.filename());
  } catch (...) {
  }
}

void sync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(dir, "cannot open the directory", errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) fail(dir, "cannot flush the directory", err);
}

void sync_tree(const fs::path& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->symlink_status(ec).type() == fs::file_type::directory) sync_directory(it->path());
  if (ec) fail(dir, "cannot list the directory", ec.value());
  sync_directory(dir);
}

fs::path inside_directory(const fs::path& dir, const json& value, const fs::path& file, const std::string& field) {
  auto refuse = [&](const std::string& what) -> void { throw tlsfix::error(file.string(), field + ": " + what); };
  if (!value.is_string()) refuse(std::string("must be a string (a path inside ") + dir.string() + "), not " + value.type_name());
  const auto& text = value.get_ref<const std::string&>();
  std::string shown = "'" + text + "'";
  if (text.empty()) refuse("is empty: a path inside " + dir.string() + " was expected");
  if (text.find('\0') != std::string::npos) refuse("holds a NUL character");
  fs::path rel(text);
  if (rel.is_absolute() || rel.has_root_path())
    refuse(shown + " is an absolute path: tlsfix reads and removes only paths inside " + dir.string());
  for (const auto& part : rel)
    if (part == ".." || part == "." || part.empty())
      refuse(shown + " has a \"" + part.string() + "\" in it: tlsfix reads and removes only paths inside " + dir.string());
  if (rel.lexically_normal() != rel) refuse(shown + " is not a plain path (doubled or trailing '/')");
  // The directories on the way must be real ones: a link among them would take the path out.
  fs::path at = dir;
  for (auto part = rel.begin(); std::next(part) != rel.end(); ++part) {
    at /= *part;
    struct stat info {};
    if (::lstat(at.c_str(), &info) != 0) break;  // what does not exist leads nowhere
    if (S_ISLNK(info.st_mode)) refuse(shown + " goes through the link " + at.string() + ": tlsfix never follows one in " + dir.string());
    if (!S_ISDIR(info.st_mode)) break;
  }
  return rel;
}

std::map<std::string, std::string> listed_files(const fs::path& dir, const json& manifest, const fs::path& file) {
  auto refuse = [&](const std::string& field, const std::string& what) -> void { throw tlsfix::error(file.string(), field + ": " + what); };
  std::map<std::string, std::string> out;
  if (!manifest.is_object()) refuse("(the whole file)", std::string("must be a JSON object, a tlsfix manifest, not ") + manifest.type_name());
  auto files = manifest.find("files");
  if (files == manifest.end()) return out;
  if (!files->is_array()) refuse("files", std::string("must be an array of {\"path\", \"sha256\"}, not ") + files->type_name());
  for (std::size_t i = 0; i < files->size(); ++i) {
    const json& f = (*files)[i];
    std::string at = "files[" + std::to_string(i) + "]";
    if (!f.is_object()) refuse(at, std::string("must be an object with a path and a sha256, not ") + f.type_name());
    if (!f.contains("path")) refuse(at + ".path", "missing");
    std::string path = inside_directory(dir, f["path"], file, at + ".path").string();
    std::string sha;
    if (f.contains("sha256")) {
      if (!f["sha256"].is_string() || !sha256_text(f["sha256"].get<std::string>()))
        refuse(at + ".sha256", "must be a SHA-256 in 64 lowercase hex digits");
      sha = f["sha256"].get<std::string>();
    } else if (path != manifest_name) {
      // Without it a listed file would count as tlsfix's whatever it holds (init --force removes those).
      refuse(at + ".sha256", "missing: only " + std::string(manifest_name) + " is listed without one");
    }
    out[path] = sha;
  }
  return out;
}

}  // namespace tlsfix::cli
