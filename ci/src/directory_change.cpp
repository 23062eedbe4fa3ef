#include "directory_change.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "outputs.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// change_directory's staging inside the directory, and what it holds besides the new files.
constexpr const char* change_staging = "issue";
constexpr const char* staged_top = ".top";        // the top files, manifest.json among them
constexpr const char* staged_plan = ".plan.json";  // the manifest to be, which stays for recovery

[[noreturn]] void fail(const fs::path& path, const std::string& what, int err) {
  throw tlsfix::error(path.string(), what + ": " + std::strerror(err));
}

// Renames `moved` in `staging` to the same name in `dir`, unless that exists: atomically where the
// filesystem has RENAME_NOREPLACE, else checked just before. Both ends are reached without
// following a link, so a link put in the way sends nothing (keys) out of `dir`.
void move_to_new_name(const fs::path& staging, const fs::path& dir, const fs::path& moved) {
  fs::path to = dir / moved;
  directory_fd from_dir(staging, moved.parent_path());
  if (from_dir.fd() < 0) fail(staging / moved.parent_path(), "cannot open the directory", errno);
  directory_fd to_dir(dir, moved.parent_path());
  if (to_dir.fd() < 0) fail(dir / moved.parent_path(), "cannot open the directory without following a link", errno);
  std::string leaf = moved.filename().string();
  const char* name = leaf.c_str();
  if (::renameat2(from_dir.fd(), name, to_dir.fd(), name, RENAME_NOREPLACE) == 0) return;
  int err = errno;
  if (err == EINVAL) {
    struct stat info {};
    if (::fstatat(to_dir.fd(), name, &info, AT_SYMLINK_NOFOLLOW) == 0) err = EEXIST;
    else if (::renameat(from_dir.fd(), name, to_dir.fd(), name) == 0) return;
    else err = errno;
  }
  if (err == EEXIST || err == ENOTEMPTY) throw tlsfix::error(to.string(), "appeared while tlsfix was writing it, and was left alone");
  fail(to, "cannot move into place", err);
}

// The directories that `files` (listed_files') are in.
std::set<std::string> directories_of(const std::map<std::string, std::string>& files) {
  std::set<std::string> out;
  for (const auto& entry : files)
    for (fs::path p = fs::path(entry.first).parent_path(); !p.empty(); p = p.parent_path()) out.insert(p.string());
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
// `moved` comes from planned paths, which inside_directory has confined to `dir`.
bool as_planned(const fs::path& dir, const fs::path& moved, const std::map<std::string, std::string>& planned) {
  auto planned_dirs = directories_of(planned);
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
  // The iterator never follows a link to a directory; a link is neither planned nor removed through.
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
void undo_moves(const fs::path& dir, const json& plan, const fs::path& plan_file, const json& current) {
  auto planned = listed_files(dir, plan, plan_file);
  auto now = listed_files(dir, current, dir / manifest_name);
  std::vector<fs::path> added;
  for (const auto& entry : planned)
    if (!now.count(entry.first)) added.push_back(entry.first);
  for (const auto& moved : moves_for(added, directories_of(now)))
    if (as_planned(dir, moved, planned)) remove_inside(dir, moved);
}

// Step 5 of change_directory: the top files besides the manifest, over the old ones. Only the
// names render_top writes, and only regular files: a staging left by a dead run may have been
// added to, and must not bring a link, or a ca.crt, to the top.
void install_top(const fs::path& dir, const fs::path& staging) {
  for (const char* name : top_files) {
    fs::path from = staging / staged_top / name;
    struct stat info {};
    if (::lstat(from.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) continue;
    if (::rename(from.c_str(), (dir / name).c_str()) != 0) fail(dir / name, "cannot replace", errno);
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

// Removes the regular files with temporary names in `dir / sub`, reached without following a link.
void remove_temporaries(const fs::path& dir, const fs::path& sub) {
  directory_fd at(dir, sub);
  if (at.fd() < 0) return;
  int listed = ::dup(at.fd());
  DIR* listing = listed < 0 ? nullptr : ::fdopendir(listed);  // owns `listed` from here on
  if (listing == nullptr) {
    if (listed >= 0) ::close(listed);
    return;
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(listing))
    if (temporary_name(entry->d_name)) names.emplace_back(entry->d_name);
  ::closedir(listing);
  for (const auto& name : names) {
    struct stat info {};
    if (::fstatat(at.fd(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(info.st_mode)) ::unlinkat(at.fd(), name.c_str(), 0);
  }
}

// One dead run's staging: finished (its manifest is in place) or taken back. Throws, naming the
// file and the field, when what it holds names a path outside `dir` or is not a manifest at all.
void finish_one(const fs::path& dir, const fs::path& staging) {
  fs::path plan_file = staging / staged_plan;
  struct stat info {};
  if (::lstat(plan_file.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return;  // killed before it planned: nothing moved
  std::string plan = ca::read_file(plan_file), now;
  try {
    now = ca::read_file(dir / manifest_name);
  } catch (const tlsfix::error&) {
  }
  if (plan == now) {
    install_top(dir, staging);  // its manifest is in place: the run is finished but for these
    return;
  }
  // ca::write_file links the plan into place whole, so a plan that does not parse was written by
  // someone else.
  json planned = json::parse(plan, nullptr, false), current = json::parse(now, nullptr, false);
  if (planned.is_discarded() || !planned.is_object() || planned.value("tool", json()) != "tlsfix")
    throw tlsfix::error(plan_file.string(), "is not a tlsfix manifest (tlsfix writes one there whole)");
  if (current.is_discarded()) current = json::object();
  undo_moves(dir, planned, plan_file, current);
}

}  // namespace

void finish_interrupted_changes(const fs::path& dir) {
  for (const auto& staging : dead_stagings(dir, change_staging)) {
    try {
      finish_one(dir, staging);
    } catch (const tlsfix::error& e) {
      throw tlsfix::error(e.field(), e.problem() + "; tlsfix left the staging " + staging.string() +
                                         " as it is: look at what is in it, then remove it");
    }
    remove_tree(staging);
  }
  // Temporary files that runs of tlsfix from before this staging left in place.
  json manifest = json::object();
  try {
    manifest = json::parse(ca::read_file(dir / manifest_name), nullptr, false);
  } catch (const tlsfix::error&) {
  }
  auto dirs = directories_of(listed_files(dir, manifest.is_discarded() ? json::object() : manifest, dir / manifest_name));
  dirs.insert("");
  for (const auto& sub : dirs) remove_temporaries(dir, sub);
}

void change_directory(const fs::path& where, const std::function<directory_change(const tlsfix_dir&)>& make) {
  fs::path path = tlsfix_dir::open(where).path();  // errors name the directory or the file at fault
  directory_hold hold(path);
  finish_interrupted_changes(path);
  auto dir = tlsfix_dir::open(where);
  auto change = make(dir);

  std::vector<fs::path> added;
  for (const auto& f : change.files) added.push_back(f.path);
  auto listed = listed_files(path, dir.manifest(), path / manifest_name);
  auto moves = moves_for(added, directories_of(listed));
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
    sync_tree(staging);
    sync_directory(path);  // the staging's own name: without it the plan may not outlive a crash

    // Every directory that receives an entry, and the parent of any made here.
    std::set<fs::path> touched{path};
    for (const auto& moved : moves) {
      if (moved.has_parent_path()) ca::create_private_directory(path / moved.parent_path());
      for (fs::path p = moved.parent_path(); !p.empty(); p = p.parent_path()) touched.insert(path / p);
      move_to_new_name(staging, path, moved);
    }
    for (const auto& d : touched) sync_directory(d);
    let_key_owners_through(path, change.services);
    // The moment of the change: a reader, or a run after a kill, sees the old manifest or this one.
    if (::rename((staging / staged_top / manifest_name).c_str(), (path / manifest_name).c_str()) != 0)
      fail(path / manifest_name, "cannot replace", errno);
  } catch (...) {
    try {
      undo_moves(path, plan, staging / staged_plan, dir.manifest());
    } catch (const tlsfix::error&) {  // the first failure is the one to report
    }
    remove_tree(staging);
    throw;
  }
  // From here on a failure leaves the staging for the next run to finish. The manifest goes to
  // disk before the top files follow it, so that a crash cannot keep them and lose it.
  sync_directory(path);
  install_top(path, staging);
  remove_tree(staging);
}

}  // namespace tlsfix::cli
