// Changing an existing tlsfix directory (`issue`) so that a reader, or a run killed at any moment,
// sees it as it was or as it becomes, and taking back or finishing what a killed run left. What a
// dead run left is read back as hostile: the directory may be writable by someone less trusted
// than the user running tlsfix (root, often), so every path it names is confined to the directory
// (inside_directory) and nothing is removed through a link.
//
//   change_directory("tls", [&](const tlsfix_dir& dir) {
//     directory_change change;
//     change.files = render_service(spec, cert).files;    // new: refused if the name exists
//     change.top = render_top(dir.path(), dir.root(), true, dir.allow_names(), services, change.files,
//                             dir.manifest()["files"]);
//     change.services = services;
//     return change;
//   });
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "directory.hpp"
#include "tlsfix/ca/files.hpp"

namespace tlsfix::cli {

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
//   1. takes the directory (directory_hold; a second `issue`, or `init --force`, waits), and
//      finishes what a dead run left (finish_interrupted_changes); opens it and asks `make` for the
//      change;
//   2. writes everything into a staging directory inside it (make_staging(dir, "issue")): `files`,
//      `top` under .top/, and .plan.json, the manifest to be; each file fsynced, then every
//      directory of the staging, then `dir`, so that the plan is on disk before anything moves;
//   3. moves each new directory into place whole (a service's), and each new file of a directory
//      the manifest already lists files in (kubernetes/) on its own, never over anything and never
//      through a link: a name that exists already, and that the manifest does not list, is
//      refused, naming it; then fsyncs every directory that received an entry, and their parents;
//   4. renames the new manifest.json over the old one, and fsyncs `dir`: the change has happened;
//   5. renames the other top files over theirs (env, github.env, hosts) and removes the staging.
// Any failure before 4 undoes 3; `make` throwing changes nothing.
void change_directory(const std::filesystem::path& dir, const std::function<directory_change(const tlsfix_dir&)>& make);

// What a dead run of change_directory left in `dir`: with its manifest in place, it is finished
// (step 5: only env, github.env and hosts, and only regular files); without, whatever it moved in
// is removed, but only what is exactly as its plan recorded (same paths, same SHA-256): what has
// been changed or added to since is the user's now, and stays, for the next run to refuse by name.
// The staging goes either way, and any temporary file (".NAME.tmp-" and 12 hex digits,
// ca::write_file's) left in the directories tlsfix keeps. A plan that names a path outside `dir`
// (see inside_directory) or is not a tlsfix manifest is refused, naming it, and its staging stays
// for the user to look at. The caller holds the directory (change_directory does, and init).
void finish_interrupted_changes(const std::filesystem::path& dir);

}  // namespace tlsfix::cli
