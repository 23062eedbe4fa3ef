// `tlsfix init` (a fresh CA and a directory of certificates) and `tlsfix issue` (one more service
// in a directory whose CA key was kept).
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <iostream>
#include <optional>

#include "cli.hpp"
#include "directory.hpp"
#include "durations.hpp"
#include "names.hpp"
#include "outputs.hpp"
#include "spec.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

struct service_flags {
  std::vector<std::string> services, ips, clients;
  std::string key_type = "ecdsa-p256";
  std::string validity = "90d";
  std::optional<std::string> p12_password;
};

void add_service_flags(CLI::App* cmd, service_flags& f) {
  cmd->add_option("--service", f.services, "A service to issue a server certificate for (repeatable)");
  cmd->add_option("--ip", f.ips, "An IP address added to every --service certificate (repeatable)");
  cmd->add_option("--client", f.clients, "An mTLS client identity (clientAuth only), trusted by every service (repeatable)");
  cmd->add_option("--key-type", f.key_type, "ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072 or rsa-4096")
      ->capture_default_str();
  cmd->add_option("--validity", f.validity, "How long certificates from flags last: 90d, 12h, P30D")->capture_default_str();
  cmd->add_option("--p12-password", f.p12_password, "Also write <service>/service.p12 encrypted with this password");
}

// Services from flags; --client identities become mTLS clients of every server in `t`.
void add_flag_services(topology& t, const service_flags& f) {
  auto key = [&] {
    try {
      return ca::parse_key_type(f.key_type);
    } catch (const tlsfix::error& e) {
      throw e.within("--key-type");
    }
  }();
  auto validity = parse_duration(f.validity, "--validity");
  for (const auto& ip : f.ips)
    if (!ca::is_ip_address(ip)) throw tlsfix::error("--ip", "'" + ip + "' is not an IP address");
  for (const auto& name : f.services)
    t.services.push_back({.name = name, .ips = f.ips, .key = key, .validity = validity,
                          .p12_password = f.p12_password, .where = "--service " + name});
  for (const auto& name : f.clients) {
    t.services.push_back({.name = name, .key = key, .validity = validity, .usage = ca::usage::client,
                          .p12_password = f.p12_password, .where = "--client " + name});
  }
  for (auto& s : t.services)
    if (s.usage != ca::usage::client)
      for (const auto& c : f.clients)
        if (std::find(s.clients.begin(), s.clients.end(), c) == s.clients.end()) s.clients.push_back(c);
}

ca::issued_cert issue_one(const ca::certificate_authority& ca, const service_spec& s) {
  try {
    return ca.issue({.names = s.all_names(), .validity = ca::validity::lasting(s.validity), .key = s.key, .usage = s.usage});
  } catch (const tlsfix::error& e) {
    throw e.within(s.where);
  }
}

// Refuses to replace anything but an earlier tlsfix directory, and that only with --force.
bool check_target(const fs::path& dir, const std::string& shown, bool force) {
  std::error_code ec;
  auto status = fs::symlink_status(dir, ec);
  if (status.type() == fs::file_type::not_found) return false;
  if (status.type() != fs::file_type::directory) throw tlsfix::error(shown, "exists and is not a directory");
  if (fs::is_empty(dir)) return false;  // rename() replaces an empty directory by itself
  if (!force) throw tlsfix::error(shown, "already exists; pass --force to replace an earlier tlsfix directory");
  if (!fs::exists(dir / manifest_name))
    throw tlsfix::error(shown, "exists and holds no " + std::string(manifest_name) +
                    "; --force replaces only a directory made by tlsfix");
  tlsfix_dir::open(dir);  // throws unless the manifest really is ours
  return true;
}

// The whole directory is built beside its final place and renamed into it, so a reader never sees
// half of it and a failure leaves nothing behind.
void install_directory(const fs::path& dir, const std::vector<ca::file_entry>& files, bool replace) {
  fs::path parent = dir.parent_path();
  fs::create_directories(parent);
  std::string pattern = (parent / ".").string();  // appended: GCC bug 105329, see ca/src/files.cpp
  pattern.append(dir.filename().string()).append(".tlsfix-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) throw tlsfix::error(parent.string(), std::string("cannot create a directory: ") + std::strerror(errno));
  fs::path staging = pattern;
  fs::path old = pattern + ".old";
  try {
    write_under(staging, files);
    if (replace) fs::rename(dir, old);
    try {
      fs::rename(staging, dir);
    } catch (...) {
      if (replace) fs::rename(old, dir);
      throw;
    }
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(staging);
    throw tlsfix::error(dir.string(), "cannot install the new directory: " + e.code().message());
  } catch (...) {
    fs::remove_all(staging);
    throw;
  }
  if (replace) fs::remove_all(old);
}

void print_summary(const fs::path& dir, const json& services, bool key_kept) {
  std::cout << "tlsfix: wrote " << dir.string() << "\n  ca.crt  trust this root (env: source " << (dir / "env").string()
            << ")\n";
  for (const auto& s : services)
    std::cout << "  " << s["name"].get<std::string>() << "/  " << s["usage"].get<std::string>() << ", expires "
              << s["not_after"].get<std::string>() << "\n";
  std::cout << (key_kept ? "  ca.key  kept (0600): `tlsfix issue` can add services\n"
                         : "  the CA key was not kept: this root can sign nothing more\n");
}

}  // namespace

void add_init(CLI::App& app, int& status) {
  struct options {
    std::string dir;
    std::optional<std::string> spec;
    service_flags flags;
    std::vector<std::string> allow_names;
    std::string ca_validity = "365d";
    bool keep_ca_key = false, force = false, json_out = false;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("init", "Make a fresh CA and certificates for services, with files for nginx, HAProxy, "
                                         "Kubernetes, shells and CI");
  cmd->footer("Example:\n  tlsfix init tls --service service.test.local --ip 127.0.0.1 --client worker.test.local\n"
              "  tlsfix init tls --spec topology.yaml --keep-ca-key");
  cmd->add_option("DIR", o->dir, "Directory to create (mode 0700)")->required();
  cmd->add_option("--spec", o->spec, "Topology file, YAML or JSON (services, names, IPs, mTLS clients, key types, validity)");
  add_service_flags(cmd, o->flags);
  cmd->add_option("--allow-name", o->allow_names, "Let the CA vouch for a name outside the test domains: a DNS suffix or CIDR");
  cmd->add_option("--ca-validity", o->ca_validity, "How long the root lasts")->capture_default_str();
  cmd->add_flag("--keep-ca-key", o->keep_ca_key, "Keep ca.key (0600) so that `issue` can sign later");
  cmd->add_flag("--force", o->force, "Replace an existing tlsfix directory");
  cmd->add_flag("--json", o->json_out, "Print manifest.json instead of a summary");
  cmd->callback([o, &status] {
    topology t = o->spec ? load_spec(*o->spec) : topology{};
    if (!o->spec) t.ca_validity = parse_duration(o->ca_validity, "--ca-validity");
    t.allow_names.insert(t.allow_names.end(), o->allow_names.begin(), o->allow_names.end());
    add_flag_services(t, o->flags);
    if (t.services.empty()) throw tlsfix::error("nothing to issue: give --service NAME (or --client NAME) or --spec FILE");
    resolve(t);
    fs::path dir = absolute_dir(o->dir);
    bool replace = check_target(dir, o->dir, o->force);

    auto authority = ca::certificate_authority::create(
        {.key = t.ca_key, .permitted_names = t.allow_names, .validity = ca::validity::lasting(t.ca_validity)});
    const auto& root = authority.root();
    std::vector<ca::file_entry> files{
        {"ca.crt", root.to_pem(), ca::file_mode::public_read},
        {"kubernetes/tlsfix-ca-secret.yaml", kubernetes_ca_secret(root), ca::file_mode::public_read},
        {"kubernetes/tlsfix-ca-configmap.yaml", kubernetes_ca_config_map(root), ca::file_mode::public_read}};
    if (o->keep_ca_key) files.push_back({"ca.key", authority.key().to_pem(), ca::file_mode::secret});
    json services = json::array();
    for (const auto& s : t.services) {
      auto out = render_service(s, issue_one(authority, s));
      files.insert(files.end(), out.files.begin(), out.files.end());
      services.push_back(std::move(out.record));
    }
    auto top = render_top(dir, root, o->keep_ca_key, t.allow_names, services, files);
    files.insert(files.end(), top.begin(), top.end());
    install_directory(dir, files, replace);
    if (o->json_out) std::cout << top.back().contents;
    else print_summary(dir, services, o->keep_ca_key);
    status = success;
  });
}

void add_issue(CLI::App& app, int& status) {
  struct options {
    std::string dir;
    service_flags flags;
    bool json_out = false;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("issue", "Add services to a directory made with `init --keep-ca-key`");
  cmd->footer("Example:\n  tlsfix init tls --service api.test.local --keep-ca-key\n"
              "  tlsfix issue tls --service db.test.local --ip 127.0.0.1");
  cmd->add_option("DIR", o->dir, "A tlsfix directory holding ca.key")->required();
  add_service_flags(cmd, o->flags);
  cmd->add_flag("--json", o->json_out, "Print the new manifest entries as JSON");
  cmd->callback([o, &status] {
    auto dir = tlsfix_dir::open(o->dir);
    auto authority = dir.load_ca();
    topology t;
    t.allow_names = dir.allow_names();
    add_flag_services(t, o->flags);
    if (t.services.empty()) throw tlsfix::error("nothing to issue: give --service NAME or --client NAME");
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
        for (const auto& c : o->flags.clients)
          if (std::find(s["clients"].begin(), s["clients"].end(), c) == s["clients"].end()) s["clients"].push_back(c);

    write_under(dir.path(), files);
    try {
      for (const auto& f : render_top(dir.path(), dir.root(), true, t.allow_names, services, files, dir.manifest()["files"]))
        ca::replace_file(dir.path() / f.path, f.contents, f.mode);
    } catch (...) {
      for (const auto& s : t.services) fs::remove_all(dir.path() / s.name);
      for (const auto& f : files) fs::remove(dir.path() / f.path);
      throw;
    }
    if (o->json_out) std::cout << added.dump(2) << "\n";
    else print_summary(dir.path(), added, true);
    status = success;
  });
}

}  // namespace tlsfix::cli
