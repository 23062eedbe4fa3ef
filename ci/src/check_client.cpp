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
#include <nlohmann/json.hpp>
#include <optional>

#include "durations.hpp"
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
                    {"verdict", row.verdict()},
                    {"detail", row.detail}});
  return {{"rows", rows}, {"passed", report.passed()}, {"failures", report.failures()}};
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
  auto catalog = harness::impostor_catalog::start();
  std::string ca_file = catalog.trust().ca_file().string(), crl_file = catalog.crl_file().string();
  env_list base = catalog.environment();
  base.emplace_back("TLSFIX_CA_FILE", ca_file);
  base.emplace_back("TLSFIX_CRL_FILE", crl_file);
  std::optional<ca::temp_file> hosts;
  try {
    hosts.emplace(hosts_file_for(catalog), "hosts");
    for (auto& v : harness::nss_wrapper_environment(hosts->path())) base.push_back(std::move(v));
  } catch (const tlsfix::error& e) {
    // Still useful for clients told --resolve; say what unmodified programs will miss.
    out.err = "tlsfix check-client: " + std::string(e.what()) + "; names resolve only for clients given {host}:{port}:127.0.0.1\n";
  }

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
    auto r = run_captured(argv, env, timeout);
    return harness::connect_outcome{!r.timed_out && r.exit_status == 0, detail_of(r, timeout)};
  };
  auto report = harness::check_client(catalog, run_one, {.revocation = o.revocation, .strict = o.strict});
  catalog.close();
  out.out = o.json ? report_json(report).dump(2) + "\n" : report.table();
  out.status = report.passed() ? success : check_failed;
  return out;
}

}  // namespace tlsfix::cli
