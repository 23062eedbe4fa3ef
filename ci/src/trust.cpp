// `tlsfix trust install|uninstall`: puts the root into an NSS database (Firefox, Chrome, curl
// built with NSS) or the system store (update-ca-certificates, for containers). Only ever on
// explicit request; --dry-run prints what would be done.
//
// The root is name-constrained to test names, so even in the system store it cannot vouch for a
// real site. Its nickname and file name carry a fingerprint prefix, so uninstall removes exactly
// the root it is given and several directories can be trusted side by side.
#include <optional>

#include "process.hpp"
#include "verbs.hpp"
#include "tlsfix/ca/certificate.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/ca/files.hpp"

namespace tlsfix::cli {

namespace fs = std::filesystem;

namespace {

const fs::path system_anchors = "/usr/local/share/ca-certificates";

std::string label(const ca::certificate& root) {
  std::string hex;
  for (char c : root.sha256_fingerprint())
    if (c != ':' && hex.size() < 16) hex += c;
  return "tlsfix-" + hex;
}

fs::path ca_path(const std::string& given) { return fs::is_directory(given) ? fs::path(given) / "ca.crt" : fs::path(given); }

void step(bool dry_run, const std::vector<std::string>& argv, std::string& said) {
  std::string line;
  for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
  said += (dry_run ? "would run: " : "running: ") + line + "\n";
  if (dry_run) return;
  if (!can_execute(argv[0])) throw tlsfix::error("cannot start " + argv[0] + ": not found on PATH (is it installed?)");
  auto r = run_captured(argv, {}, std::chrono::minutes(2));
  said += r.output;
  if (r.exit_status != 0)
    throw tlsfix::error(argv[0] + (r.timed_out ? " did not finish in 2 minutes" : " failed with status " + std::to_string(r.exit_status)) +
                        (r.output.empty() ? "" : ": " + r.output));
}

// What the root may vouch for, as the user will see it before it is trusted.
std::string scope_of(const ca::certificate& root) {
  auto nc = root.name_constraints();
  if (!nc || nc->permitted.empty()) return "ANY NAME: this root is not name-constrained";
  std::string out;
  for (const auto& p : nc->permitted) out += (out.empty() ? "" : ", ") + p;
  return out;
}

// A store trusts an anchor for everything it signs: only a tlsfix root (self-signed, CA:TRUE,
// critical name constraints that permit something narrower than everything) goes in, unless the
// user says, in so many words, that they mean a root that could vouch for any site.
void check_anchor(const ca::certificate& root, const fs::path& file, bool any_root) {
  std::string problem;
  auto nc = root.name_constraints();
  if (!root.is_ca()) problem = "is not a CA certificate (no CA:TRUE): a leaf is never a trust anchor";
  else if (!root.is_self_signed()) problem = "is not self-signed: give the root, not an intermediate";
  else if (!nc || nc->permitted.empty()) problem = "has no name constraints, so it could vouch for any site on the internet";
  else if (!nc->critical) problem = "has name constraints that are not critical, which a client may ignore";
  else
    for (const auto& p : nc->permitted)
      if (p == "DNS:" || p.ends_with("/0")) problem = "permits " + p + ", which is every name of its kind";
  if (problem.empty()) return;
  if (any_root) return;
  throw tlsfix::error(file.string(), problem + "; `trust install` takes tlsfix roots only (--dangerously-trust-any-root overrides)");
}

verb_result apply(const trust_options& o, bool install) {
  if (!o.nss_db && !o.system) throw tlsfix::error("say where: --nss-db DIR or --system (tlsfix never picks a store by itself)");
  if (o.nss_db && o.system) throw tlsfix::error("--nss-db", "excludes --system: one store at a time");
  fs::path file = ca_path(o.ca);
  auto root = ca::certificate::from_pem(ca::read_file(file), file.string());
  std::string name = label(root);
  verb_result out;
  if (install) {
    check_anchor(root, file, o.any_root);
    out.out += root.subject() + " may vouch for: " + scope_of(root) + "\n";
    if (o.any_root) out.err += "tlsfix trust: WARNING: --dangerously-trust-any-root: trusting a root tlsfix did not constrain\n";
  }
  if (o.nss_db) {
    std::string db = "sql:" + *o.nss_db;
    if (install && !fs::exists(fs::path(*o.nss_db) / "cert9.db")) {
      if (!o.dry_run) fs::create_directories(*o.nss_db);
      step(o.dry_run, {"certutil", "-N", "-d", db, "--empty-password"}, out.out);
    }
    if (install) step(o.dry_run, {"certutil", "-A", "-d", db, "-n", name, "-t", "C,,", "-i", file.string()}, out.out);
    else step(o.dry_run, {"certutil", "-D", "-d", db, "-n", name}, out.out);
  } else {
    fs::path anchor = system_anchors / (name + ".crt");
    if (install) {
      out.out += (o.dry_run ? "would copy " : "copying ") + file.string() + " to " + anchor.string() + "\n";
      if (!o.dry_run) {
        fs::create_directories(system_anchors);
        if (!fs::exists(anchor)) ca::write_file(anchor, root.to_pem(), ca::file_mode::public_read);
      }
    } else {
      out.out += (o.dry_run ? "would remove " : "removing ") + anchor.string() + "\n";
      if (!o.dry_run && !fs::remove(anchor)) throw tlsfix::error(anchor.string(), "not installed (nothing to remove)");
    }
    step(o.dry_run, {"update-ca-certificates"}, out.out);
  }
  if (!o.dry_run) out.out += (install ? "installed " : "removed ") + name + " (" + root.subject() + ")\n";
  return out;
}

}  // namespace

verb_result trust_install(const trust_options& o) { return apply(o, true); }
verb_result trust_uninstall(const trust_options& o) { return apply(o, false); }

}  // namespace tlsfix::cli
