// `tlsfix check-client -- CMD ARGS...`: holds any TLS client to the impostor catalog.
//
// The catalog (harness::impostor_catalog) starts one server per way of being wrong plus positive
// controls; the command runs once per entry, with placeholders replaced and its exit status read
// as "connected" (0) or not. The client passes only if it rejects every impostor and accepts every
// control (harness::check_client decides; this file only runs the command).
//
// The environment carries the *decoy* system store (SSL_CERT_FILE/SSL_CERT_DIR from
// catalog.environment()), never the real root: a client that trusts its default store instead of
// the CA it was given is then caught by the "system-store" entry. The real root is {ca} and
// TLSFIX_CA_FILE.
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli.hpp"
#include "durations.hpp"
#include "process.hpp"
#include "tlsfix/ca/names.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/ca/files.hpp"
#include "tlsfix/harness/impostor.hpp"

namespace tlsfix::cli {

namespace {

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) text.replace(at, from.size(), to);
}

// /etc/hosts lines for nss_wrapper: every catalog name on 127.0.0.1 (addresses need no entry).
std::string hosts_file_for(const harness::impostor_catalog& catalog) {
  std::string names;
  for (const auto& [host, port] : catalog.hosts())
    if (!ca::is_ip_address(host) && (" " + names + " ").find(" " + host + " ") == std::string::npos) names += " " + host;
  return names.empty() ? "" : "127.0.0.1" + names + "\n";
}

// "exit 60: curl: (60) SSL certificate problem: ..." (the first non-empty line of output).
std::string detail_of(const captured_run& r, std::chrono::milliseconds timeout) {
  if (r.timed_out) return "timed out after " + std::to_string(timeout.count() / 1000) + "s (killed)";
  std::string first;
  for (std::size_t start = 0; start < r.output.size() && first.empty();) {
    auto end = r.output.find('\n', start);
    if (end == std::string::npos) end = r.output.size();
    first = r.output.substr(start, end - start);
    if (first.find_first_not_of(" \t\r") == std::string::npos) first.clear();
    start = end + 1;
  }
  if (first.size() > 160) first = first.substr(0, 157) + "...";
  std::string status = r.exit_status > 128 ? "signal " + std::to_string(r.exit_status - 128) : "exit " + std::to_string(r.exit_status);
  return first.empty() ? status : status + ": " + first;
}

nlohmann::json report_json(const harness::check_report& report) {
  auto rows = nlohmann::json::array();
  for (const auto& row : report.rows)
    rows.push_back({{"entry", row.entry.name},
                    {"description", row.entry.description},
                    {"expected", row.entry.expected == harness::expectation::reject ? "reject" : "accept"},
                    {"actual", row.connected ? "accepted" : "rejected"},
                    {"verdict", row.skipped ? "skipped" : row.passed ? "pass" : "fail"},
                    {"detail", row.detail}});
  return {{"rows", rows}, {"passed", report.passed()}, {"failures", report.failures()}};
}

}  // namespace

void add_check_client(CLI::App& app, int& status) {
  struct options {
    std::vector<std::string> command;
    std::string timeout = "10s";
    bool strict = false, revocation = false, json_out = false;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("check-client", "Hold a TLS client to the impostor catalog: it must reject every impostor");
  cmd->footer(
      "Example:\n"
      "  tlsfix check-client -- curl -sS --cacert {ca} --resolve {host}:{port}:127.0.0.1 {url}\n"
      "  tlsfix check-client --json -- python3 my_client.py {url}\n"
      "The command runs once per entry (expired, wrong-host, self-signed, ..., and positive controls such as\n"
      "good, ecdsa-p384 and ed25519); exit status 0 means it connected. It passes only if it rejects every\n"
      "impostor and accepts every control. Entries only strict verifiers or CRL-loading clients reject are\n"
      "skipped unless --strict or --revocation asks for them.\n"
      "Placeholders in its arguments:\n"
      "  {url}   https://HOST:PORT/ of the entry     {host}  the name (or IP address) to dial\n"
      "  {port}  the entry's port on 127.0.0.1       {ca}    the root to trust (PEM), and only it\n"
      "  {crl}   a CRL of that root (for --revocation)\n"
      "Environment of the command (besides ours):\n"
      "  SSL_CERT_FILE, SSL_CERT_DIR      a DECOY system store: trusting it instead of {ca} is caught\n"
      "  TLSFIX_CA_FILE, TLSFIX_CRL_FILE  {ca} and {crl}\n"
      "  TLSFIX_RESOLVE                   HOST:PORT:127.0.0.1 (curl --resolve form)\n"
      "  LD_PRELOAD, NSS_WRAPPER_HOSTS    nss_wrapper (libnss-wrapper): every catalog name resolves to\n"
      "                                   127.0.0.1 for programs that use the C library's resolver\n"
      "Exit status: 0 the client passed, 2 it failed an entry, 1 usage error or a command that cannot be started.");
  cmd->add_option("CMD", o->command, "The client and its arguments, after --")->required();
  cmd->add_option("--timeout", o->timeout, "Per entry, e.g. 10s; a command still running then is killed and counts as rejecting")
      ->capture_default_str();
  cmd->add_flag("--strict", o->strict, "Also require what only strict verifiers reject (e.g. a leaf that says CA:TRUE)");
  cmd->add_flag("--revocation", o->revocation, "Also require rejecting the revoked entry (the client must load {crl})");
  cmd->add_flag("--json", o->json_out, "Print the report as JSON (rows, passed, failures)");
  cmd->callback([o, &status] {
    auto timeout = std::chrono::milliseconds(parse_duration(o->timeout, "--timeout"));
    if (timeout.count() <= 0) throw tlsfix::error("--timeout", "must be more than zero");
    // A missing program would "reject" every impostor and pass them all: refuse it up front.
    if (!can_execute(o->command.front()))
      throw tlsfix::error("cannot start " + o->command.front() + ": not an executable file or not found on PATH");

    auto catalog = harness::impostor_catalog::start();
    std::string ca_file = catalog.trust().ca_file().string(), crl_file = catalog.crl_file().string();
    env_list base = catalog.environment();
    base.emplace_back("TLSFIX_CA_FILE", ca_file);
    base.emplace_back("TLSFIX_CRL_FILE", crl_file);
    std::optional<ca::temp_file> hosts;
    try {
      hosts.emplace(hosts_file_for(catalog), "hosts");
      for (auto& v : nss_wrapper_environment(hosts->path())) base.push_back(std::move(v));
    } catch (const tlsfix::error& e) {
      // Still useful for clients told --resolve; say what unmodified programs will miss.
      std::cerr << "tlsfix check-client: " << e.what() << "; names resolve only for clients given {host}:{port}:127.0.0.1\n";
    }

    auto run_one = [&](const harness::impostor& entry) {
      std::string port = std::to_string(entry.port);
      std::vector<std::string> argv = o->command;
      for (auto& arg : argv) {
        replace_all(arg, "{url}", entry.url());
        replace_all(arg, "{host}", entry.host);
        replace_all(arg, "{port}", port);
        replace_all(arg, "{ca}", ca_file);
        replace_all(arg, "{crl}", crl_file);
      }
      env_list env = base;
      env.emplace_back("TLSFIX_RESOLVE", entry.host + ":" + port + ":127.0.0.1");
      auto r = run_captured(argv, env, timeout);
      return harness::connect_outcome{!r.timed_out && r.exit_status == 0, detail_of(r, timeout)};
    };
    auto report = harness::check_client(catalog, run_one, {.revocation = o->revocation, .strict = o->strict});
    catalog.close();
    if (o->json_out) std::cout << report_json(report).dump(2) << "\n";
    else std::cout << report.table();
    status = report.passed() ? success : check_failed;
  });
}

}  // namespace tlsfix::cli
