// `tlsfix issue DIR`: more services in a directory whose CA key was kept (`init --keep-ca-key`).
#include <algorithm>

#include "directory_change.hpp"
#include "durations.hpp"
#include "issuing.hpp"
#include "spec.hpp"
#include "tlsfix/error.hpp"
#include "verbs.hpp"

namespace tlsfix::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The new services' files, and the top files that list them beside the others; `added` gets the
// new services' manifest entries.
directory_change new_services(const issue_options& o, const tlsfix_dir& dir, json& added) {
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

  directory_change change;
  for (const auto& s : t.services) {
    auto out = render_service(s, issue_one(authority, s));
    change.files.insert(change.files.end(), out.files.begin(), out.files.end());
    added.push_back(out.record);
    services.push_back(std::move(out.record));
  }
  // A new client identity is trusted by the servers already there, and the manifest says so.
  for (auto& s : services)
    if (s.at("usage") != "client")
      for (const auto& c : o.flags.clients)
        if (std::find(s["clients"].begin(), s["clients"].end(), c) == s["clients"].end()) s["clients"].push_back(c);
  change.top = render_top(dir.path(), dir.root(), true, t.allow_names, services, change.files, dir.manifest()["files"]);
  // Every service afterwards: a new one's key for another user may need a way in through the top
  // that the directory did not give yet.
  change.services = std::move(services);
  return change;
}

}  // namespace

// The directory changes as a whole (change_directory): a reader, or the run after one that was
// killed, sees it without the new services or with all of them.
verb_result issue(const issue_options& o) {
  fs::path where;
  json added = json::array();
  change_directory(o.dir, [&](const tlsfix_dir& dir) {
    where = dir.path();
    return new_services(o, dir, added);
  });
  return {.out = o.json ? added.dump(2) + "\n" : summary(where, added, true)};
}

}  // namespace tlsfix::cli
