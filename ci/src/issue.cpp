// `tlsfix issue DIR`: more services in a directory whose CA key was kept (`init --keep-ca-key`).
#include <algorithm>

#include "directory.hpp"
#include "durations.hpp"
#include "issuing.hpp"
#include "spec.hpp"
#include "tlsfix/ca/files.hpp"
#include "tlsfix/error.hpp"
#include "verbs.hpp"

namespace tlsfix::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

verb_result issue(const issue_options& o) {
  auto dir = tlsfix_dir::open(o.dir);
  auto authority = dir.load_ca();
  topology t;
  t.allow_names = dir.allow_names();
  add_flag_services(t, o.flags);
  if (t.services.empty()) throw tlsfix::error("nothing to issue: give --service NAME or --client NAME");
  // The same rule as init's: no certificate outlasts the root that vouches for it.
  auto root_left = std::chrono::duration_cast<std::chrono::seconds>(dir.root().not_after() - ca::clock::now());
  for (auto& s : t.services) {
    if (s.validity <= root_left) continue;
    if (!s.validity_given) {
      s.validity = root_left;  // the default, shortened to what is left of the root
      continue;
    }
    throw tlsfix::error("--validity", format_duration(s.validity) + " would outlast the root, which expires in " + format_duration(root_left) +
                                            " (" + ca::to_iso8601(dir.root().not_after()) + ")");
  }
  std::vector<std::string> existing;
  json services = dir.services();
  for (const auto& s : services) existing.push_back(s.at("name").get<std::string>());
  resolve(t, existing);

  std::vector<ca::file_entry> files;
  json added = json::array();
  for (const auto& s : t.services) {
    auto out = render_service(s, issue_one(authority, s));
    files.insert(files.end(), out.files.begin(), out.files.end());
    added.push_back(out.record);
    services.push_back(std::move(out.record));
  }
  // A new client identity is trusted by the servers already there, and the manifest says so.
  for (auto& s : services)
    if (s.at("usage") != "client")
      for (const auto& c : o.flags.clients)
        if (std::find(s["clients"].begin(), s["clients"].end(), c) == s["clients"].end()) s["clients"].push_back(c);

  write_under(dir.path(), files);
  try {
    // A new service's key for another user may need a way in that the directory did not give yet.
    let_key_owners_through(dir.path(), services);
    for (const auto& f : render_top(dir.path(), dir.root(), true, t.allow_names, services, files, dir.manifest()["files"]))
      ca::replace_file(dir.path() / f.path, f.contents, f.mode);
  } catch (...) {
    for (const auto& s : t.services) fs::remove_all(dir.path() / s.name);
    for (const auto& f : files) fs::remove(dir.path() / f.path);
    throw;
  }
  return {.out = o.json ? added.dump(2) + "\n" : summary(dir.path(), added, true)};
}

}  // namespace tlsfix::cli
