// `tlsfix trust install|uninstall`: puts the root into an NSS database (Firefox, Chrome, curl
// built with NSS) or the system store (update-ca-certificates, for containers). Only ever on
// explicit request; --dry-run prints what would be done.
//
// The root is name-constrained to test names, so even in the system store it cannot vouch for a
// real site. Its nickname and file name carry a fingerprint prefix, so uninstall removes exactly
// the root it is given and several directories can be trusted side by side.
#include <iostream>
#include <optional>

#include "cli.hpp"
#include "process.hpp"
#include "tlsfix/ca/certificate.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/ca/files.hpp"

namespace tlsfix::cli {

namespace fs = std::filesystem;

namespace {

struct options {
  std::string ca;
  std::optional<std::string> nss_db;
  bool system = false, dry_run = false;
};

const fs::path system_anchors = "/usr/local/share/ca-certificates";

std::string label(const ca::certificate& root) {
  std::string hex;
  for (char c : root.sha256_fingerprint())
    if (c != ':' && hex.size() < 16) hex += c;
  return "tlsfix-" + hex;
}

fs::path ca_path(const std::string& given) { return fs::is_directory(given) ? fs::path(given) / "ca.crt" : fs::path(given); }

void step(bool dry_run, const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
  std::cout << (dry_run ? "would run: " : "running: ") << line << "\n" << std::flush;
  if (dry_run) return;
  if (int rc = run_program(argv); rc != 0)
    throw tlsfix::error(argv[0] + " failed with status " + std::to_string(rc) + (rc == 127 ? " (is it installed?)" : ""));
}

void apply(const options& o, bool install) {
  fs::path file = ca_path(o.ca);
  auto root = ca::certificate::from_pem(ca::read_file(file), file.string());
  std::string name = label(root);
  if (o.nss_db) {
    std::string db = "sql:" + *o.nss_db;
    if (install && !fs::exists(fs::path(*o.nss_db) / "cert9.db")) {
      if (!o.dry_run) fs::create_directories(*o.nss_db);
      step(o.dry_run, {"certutil", "-N", "-d", db, "--empty-password"});
    }
    if (install) step(o.dry_run, {"certutil", "-A", "-d", db, "-n", name, "-t", "C,,", "-i", file.string()});
    else step(o.dry_run, {"certutil", "-D", "-d", db, "-n", name});
  } else {
    fs::path anchor = system_anchors / (name + ".crt");
    if (install) {
      std::cout << (o.dry_run ? "would copy " : "copying ") << file.string() << " to " << anchor.string() << "\n";
      if (!o.dry_run) {
        fs::create_directories(system_anchors);
        if (!fs::exists(anchor)) ca::write_file(anchor, root.to_pem(), ca::file_mode::public_read);
      }
    } else {
      std::cout << (o.dry_run ? "would remove " : "removing ") << anchor.string() << "\n";
      if (!o.dry_run && !fs::remove(anchor)) throw tlsfix::error(anchor.string(), "not installed (nothing to remove)");
    }
    step(o.dry_run, {"update-ca-certificates"});
  }
  if (!o.dry_run) std::cout << (install ? "installed " : "removed ") << name << " (" << root.subject() << ")\n";
}

void add_verb(CLI::App* trust, int& status, bool install) {
  auto o = std::make_shared<options>();
  auto* cmd = trust->add_subcommand(install ? "install" : "uninstall",
                                    install ? "Trust a tlsfix root in an NSS database or the system store"
                                            : "Remove a root that `trust install` added");
  cmd->footer(install ? "Example:\n  tlsfix trust install --ca tls/ca.crt --nss-db ~/.pki/nssdb\n"
                        "  tlsfix trust install --ca tls/ca.crt --system --dry-run"
                      : "Example:\n  tlsfix trust uninstall --ca tls/ca.crt --nss-db ~/.pki/nssdb");
  cmd->add_option("--ca", o->ca, "The root (PEM), or a tlsfix directory")->required();
  auto* nss = cmd->add_option("--nss-db", o->nss_db, "NSS database directory (certutil, libnss3-tools)");
  auto* system = cmd->add_flag("--system", o->system, "The system store: /usr/local/share/ca-certificates + update-ca-certificates");
  nss->excludes(system);
  cmd->add_flag("--dry-run", o->dry_run, "Print what would be done, change nothing");
  cmd->callback([o, &status, install] {
    if (!o->nss_db && !o->system) throw tlsfix::error("say where: --nss-db DIR or --system (tlsfix never picks a store by itself)");
    apply(*o, install);
    status = success;
  });
}

}  // namespace

void add_trust(CLI::App& app, int& status) {
  auto* trust = app.add_subcommand("trust", "Install or remove a tlsfix root in a trust store, explicitly");
  trust->footer("Example:\n  tlsfix trust install --ca tls/ca.crt --nss-db ~/.pki/nssdb\n"
                "  tlsfix trust uninstall --ca tls/ca.crt --nss-db ~/.pki/nssdb");
  trust->require_subcommand(1);
  add_verb(trust, status, true);
  add_verb(trust, status, false);
}

}  // namespace tlsfix::cli
