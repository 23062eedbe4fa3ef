// `tlsfix check-expiry DIR --within 7d`: lists every certificate in the directory (the root, each
// service's chain) that expires within the window, and exits 2 if there is any.
//
// It reads the certificate files themselves, not the manifest's dates, so a file replaced by hand
// is judged by what it really holds.
#include "directory.hpp"
#include "durations.hpp"
#include "tlsfix/ca/files.hpp"
#include "verbs.hpp"

namespace tlsfix::cli {

verb_result check_expiry(const check_expiry_options& o) {
  auto window = parse_duration(o.within, "--within");
  auto dir = tlsfix_dir::open(o.dir);
  auto now = ca::clock::now();
  auto deadline = now + window;

  struct entry {
    std::string file;
    ca::certificate cert;
  };
  std::vector<entry> certs{{"ca.crt", dir.root()}};
  for (const auto& s : dir.services()) {
    std::string file = s.at("files").at("fullchain").get<std::string>();
    for (auto& c : ca::certificate::chain_from_pem(ca::read_file(dir.path() / file), (dir.path() / file).string()))
      certs.push_back({file, std::move(c)});
  }
  nlohmann::json list = nlohmann::json::array();
  std::size_t expiring = 0;
  verb_result out;
  for (const auto& [file, cert] : certs) {
    bool soon = cert.not_after() <= deadline;
    expiring += soon ? 1 : 0;
    auto left = std::chrono::duration_cast<std::chrono::seconds>(cert.not_after() - now);
    list.push_back({{"file", file}, {"subject", cert.subject()}, {"not_after", ca::to_iso8601(cert.not_after())},
                    {"seconds_left", left.count()}, {"expiring", soon}});
    if (soon && !o.json)
      out.out += std::string(left.count() <= 0 ? "EXPIRED  " : "EXPIRING ") + file + "  " + cert.subject() +
                 "  not after " + ca::to_iso8601(cert.not_after()) + " (" + format_duration(left) + ")\n";
  }
  if (o.json)
    out.out = nlohmann::json{{"within_seconds", window.count()}, {"expiring", expiring}, {"certificates", list}}.dump(2) + "\n";
  else if (expiring == 0)
    out.out = "ok: " + std::to_string(certs.size()) + " certificates, none expires within " + o.within + "\n";
  out.status = expiring == 0 ? success : check_failed;
  return out;
}

}  // namespace tlsfix::cli
