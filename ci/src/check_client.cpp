// `tlsfix check-client -- CMD ARGS...`: holds any TLS client to the impostor catalog.
//
// The catalog (harness::impostor_catalog) starts one server per way of being wrong plus positive
// controls; the command runs once per entry, with placeholders replaced and its exit status read
// as "connected" (0) or not. The client passes only if it rejects every impostor and accepts every
// control (harness::check_client decides; this file only runs the command).
//
// The client sees a *decoy* system store, never the real root: a client that trusts its default
// store instead of the CA it was given is then caught by the "system-store" entry. The real root
// is {ca} and TLSFIX_CA_FILE. Where a private mount namespace is available (private_mounts.hpp),
// the client runs in one: the decoy lies over the system's stores (/etc/ssl/certs and its kind),
// and its own /etc/hosts, nsswitch.conf and resolv.conf give it the catalog's names and no DNS off
// the machine, whatever resolver it uses. Otherwise the decoy is SSL_CERT_FILE/SSL_CERT_DIR only,
// names come from nss_wrapper, and the run says what that leaves out.
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "durations.hpp"
#include "private_mounts.hpp"
#include "process.hpp"
#include "tlsfix/harness/nss_wrapper.hpp"
#include "verbs.hpp"
#include "tlsfix/ca/names.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/ca/files.hpp"
#include "tlsfix/harness/impostor.hpp"

namespace tlsfix::cli {

namespace {

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) text.replace(at, from.size(), to);
}

namespace fs = std::filesystem;

// /etc/hosts lines: every catalog name on 127.0.0.1 (addresses need no entry).
std::string hosts_file_for(const harness::impostor_catalog& catalog) {
  std::string names;
  for (const auto& [host, port] : catalog.hosts())
    if (!ca::is_ip_address(host) && (" " + names + " ").find(" " + host + " ") == std::string::npos) names += " " + host;
  return names.empty() ? "" : "127.0.0.1" + names + "\n";
}

// "exit 60: " (or "signal 9: ", or the timeout), then everything the client said: the report's
// table shows the line that carries the error, the JSON's "output" all of it.
std::string detail_of(const captured_run& r, std::chrono::milliseconds timeout) {
  if (r.timed_out) return "timed out after " + std::to_string(timeout.count() / 1000) + "s (killed)";
  std::string status = r.exit_status > 128 ? "signal " + std::to_string(r.exit_status - 128) : "exit " + std::to_string(r.exit_status);
  return r.output.empty() ? status : status + ": " + r.output;
}

// What the client sees instead of the machine's files, and what that covers, for the report.
struct client_view {
  std::vector<overlay> overlays;             // empty: no private mount namespace
  std::vector<std::string> decoy_stores;     // every store the decoy stands in for
  std::string names;                         // how the catalog's names resolve
  env_list environment;                      // the decoy's variables, nss_wrapper's when used
  std::vector<ca::temp_file> files;          // the overlays' sources
};

// System trust stores that clients read when given no CA: OpenSSL's and GnuTLS's defaults, curl's
// compiled-in paths and the update-ca-certificates bundle are all in /etc/ssl/certs on Debian;
// the others are where other distributions keep theirs.
constexpr const char* store_directories[] = {"/etc/ssl/certs", "/etc/pki/tls/certs"};
constexpr const char* store_files[] = {"/etc/ssl/cert.pem", "/etc/pki/tls/cert.pem",
                                       "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
                                       "/etc/ca-certificates/extracted/tls-ca-bundle.pem"};

client_view view_for(const harness::impostor_catalog& catalog, std::string& warning) {
  client_view view;
  env_list decoy = catalog.environment();
  view.environment = decoy;
  for (const auto& [name, value] : decoy) view.decoy_stores.push_back(name);
  std::string hosts = hosts_file_for(catalog);
  if (auto why = private_mounts_unavailable(); !why.empty()) {
    try {
      view.files.emplace_back(hosts, "hosts");
      for (auto& v : harness::nss_wrapper_environment(view.files.back().path())) view.environment.push_back(std::move(v));
      view.names = "nss_wrapper";
      warning = "tlsfix check-client: " + why + ": " + nss_wrapper_misses +
                ", and the decoy covers only SSL_CERT_FILE and SSL_CERT_DIR, not /etc/ssl/certs (curl's and GnuTLS's defaults)\n";
    } catch (const tlsfix::error& e) {
      // Still useful for clients told --resolve; say what unmodified programs will miss.
      view.names = "none";
      warning = "tlsfix check-client: " + why + "; " + e.what() + "; names resolve only for clients given {host}:{port}:127.0.0.1\n";
    }
    return view;
  }
  view.overlays = name_overlays(hosts, view.files);
  view.names = "a private /etc/hosts, DNS on loopback only";
  std::error_code ec;

  // The decoy as a store directory: the bundle file Debian's tools read, and its hash link.
  fs::path decoy_file = decoy.front().second;
  std::string decoy_pem = ca::read_file(decoy_file);
  view.files.emplace_back(decoy_pem, "ca-certificates.crt");
  fs::path decoy_dir = view.files.back().path().parent_path();
  ca::write_file(decoy_dir / decoy_file.filename(), decoy_pem, ca::file_mode::public_read);
  // The bundle names other distributions and tools read in such a directory, so that a client
  // finds the decoy there rather than nothing (which would make it "reject" for the wrong reason).
  for (const char* name : {"ca-bundle.crt", "ca-bundle.trust.crt", "tls-ca-bundle.pem", "cert.pem"})
    ca::write_file(decoy_dir / name, decoy_pem, ca::file_mode::public_read);
  fs::permissions(decoy_dir, fs::perms::others_read | fs::perms::others_exec | fs::perms::group_read | fs::perms::group_exec,
                  fs::perm_options::add);
  std::vector<fs::path> covered;
  for (const char* dir : store_directories) {
    if (!fs::is_directory(dir, ec)) continue;
    view.overlays.push_back({decoy_dir, dir});
    view.decoy_stores.push_back(dir);
    covered.push_back(fs::canonical(dir, ec));
  }
  for (const char* file : store_files) {
    if (!fs::is_regular_file(file, ec)) continue;
    // A link into a directory already covered needs nothing more.
    auto real = fs::canonical(file, ec).string();
    if (std::any_of(covered.begin(), covered.end(), [&](const fs::path& d) { return real.rfind(d.string() + "/", 0) == 0; })) continue;
    view.files.emplace_back(decoy_pem, "bundle.pem");
    view.overlays.push_back({view.files.back().path(), file});
    view.decoy_stores.push_back(file);
  }
  return view;
}

nlohmann::json report_json(const harness::check_report& report) {
  auto rows = nlohmann::json::array();
  for (const auto& row : report.rows) {
    std::ostringstream tier;
    tier << row.entry.tier;
    rows.push_back({{"entry", row.entry.name},
                    {"description", row.entry.description},
                    {"tier", tier.str()},
                    {"expected", row.entry.expected == harness::expectation::reject ? "reject" : "accept"},
                    // A skipped row was not run: it has no actual.
                    {"actual", row.skipped ? nlohmann::json(nullptr) : nlohmann::json(row.connected ? "accepted" : "rejected")},
                    {"verdict", row.verdict()},
                    {"counted", row.counted && !row.skipped},
                    {"detail", row.detail_line()},
                    {"output", row.detail},
                    {"known_accepted_by", row.entry.known_accepted_by}});
  }
  return {{"rows", rows}, {"passed", report.passed()}, {"failures", report.failures()}, {"weaknesses", report.weaknesses()}};
}

}  // namespace

verb_result check_client(const check_client_options& o) {
  if (o.command.empty()) throw tlsfix::error("CMD", "give the client to check after --");
  auto timeout = std::chrono::milliseconds(parse_duration(o.timeout, "--timeout"));
  if (timeout.count() <= 0) throw tlsfix::error("--timeout", "must be more than zero");
  // A missing program would "reject" every impostor and pass them all: refuse it up front.
  if (!can_execute(o.command.front()))
    throw tlsfix::error("cannot start " + o.command.front() + ": not an executable file or not found on PATH");

  verb_result out;
  if (o.protocol != "https" && o.protocol != "postgres")
    throw tlsfix::error("--protocol", "'" + o.protocol + "' is not one of https, postgres");
  auto catalog = harness::impostor_catalog::start(o.protocol == "postgres" ? harness::protocol::postgres : harness::protocol::tls);
  std::string ca_file = catalog.trust().ca_file().string(), crl_file = catalog.crl_file().string();
  auto view = view_for(catalog, out.err);
  env_list base = view.environment;
  base.emplace_back("TLSFIX_CA_FILE", ca_file);
  base.emplace_back("TLSFIX_CRL_FILE", crl_file);

  auto run_one = [&](const harness::impostor& entry) {
    std::string port = std::to_string(entry.port);
    std::vector<std::string> argv = o.command;
    for (auto& arg : argv) {
      replace_all(arg, "{url}", entry.url());
      replace_all(arg, "{host}", entry.host);
      replace_all(arg, "{port}", port);
      replace_all(arg, "{ca}", ca_file);
      replace_all(arg, "{crl}", crl_file);
    }
    env_list env = base;
    env.emplace_back("TLSFIX_RESOLVE", entry.host + ":" + port + ":127.0.0.1");
    auto r = run_captured(argv, env, timeout, {}, 64 * 1024, view.overlays);
    return harness::connect_outcome{!r.timed_out && r.exit_status == 0, detail_of(r, timeout)};
  };
  auto report = harness::check_client(catalog, run_one, {.policy = o.policy, .revocation = o.revocation, .strict = o.strict});
  catalog.close();
  if (o.json) {
    auto json = report_json(report);
    json["decoy_stores"] = view.decoy_stores;
    json["names"] = view.names;
    out.out = json.dump(2) + "\n";
  } else {
    std::string stores;
    for (const auto& store : view.decoy_stores) {
      if (!stores.empty()) stores += ", ";
      stores += store;
    }
    out.out = report.table() + "decoy trust store over: " + stores + "; names: " + view.names + "\n";
  }
  out.status = report.passed() ? success : check_failed;
  return out;
}

}  // namespace tlsfix::cli
