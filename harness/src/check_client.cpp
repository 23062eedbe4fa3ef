#include <algorithm>
#include <ostream>
#include <sstream>

#include "tlsfix/error.hpp"
#include "tlsfix/harness/impostor.hpp"
#include "tlsfix/harness/test_client.hpp"

namespace tlsfix::harness {

bool check_report::passed() const noexcept { return failures() == 0 && !rows.empty(); }

std::size_t check_report::failures() const noexcept {
  return static_cast<std::size_t>(std::count_if(rows.begin(), rows.end(), [](const check_row& r) { return !r.skipped && !r.passed; }));
}

std::string check_report::table() const {
  std::size_t width = 5;
  for (const auto& row : rows) width = std::max(width, row.entry.name.size());
  std::ostringstream out;
  auto pad = [](const std::string& text, std::size_t n) { return text + std::string(n > text.size() ? n - text.size() : 0, ' '); };
  out << pad("entry", width) << "  expected  actual     verdict  detail\n";
  for (const auto& row : rows) {
    std::string verdict(row.verdict());
    out << pad(row.entry.name, width) << "  " << pad(row.entry.expected == expectation::reject ? "reject" : "accept", 8)
        << "  " << pad(row.connected ? "accepted" : "rejected", 9) << "  " << pad(verdict, 7) << "  " << row.detail
        << '\n';
  }
  out << (passed() ? "PASS" : "FAIL") << ": " << failures() << " of " << rows.size() << " entries wrong\n";
  return out.str();
}

check_report check_client(const impostor_catalog& catalog, const client_under_test& connect, const check_options& options) {
  check_report report;
  for (const auto& entry : catalog.entries()) {
    check_row row{.entry = entry};
    row.skipped = (entry.tier == tier::revocation && !options.revocation) || (entry.tier == tier::strict && !options.strict);
    if (row.skipped) {
      row.detail = entry.tier == tier::revocation ? "not checked (revocation tier)" : "not checked (strict tier)";
      report.rows.push_back(std::move(row));
      continue;
    }
    try {
      auto outcome = connect(entry);
      row.connected = outcome.connected;
      row.detail = std::move(outcome.detail);
    } catch (const std::exception& e) {
      row.connected = false;
      row.detail = e.what();
    }
    // One line of what the client said is enough for a table.
    if (auto newline = row.detail.find('\n'); newline != std::string::npos) row.detail.resize(newline);
    row.passed = row.connected == (entry.expected == expectation::accept);
    report.rows.push_back(std::move(row));
  }
  return report;
}

client_under_test strict_test_client(const impostor_catalog& catalog) {
  return [roots = catalog.trust()](const impostor& entry) {
    test_client client{{.host = entry.host, .port = entry.port, .trust = roots,
                        .resolve = {{entry.host, {"127.0.0.1"}}}, .timeout = std::chrono::seconds(5)}};
    auto response = client.get("/");  // throws, naming the reason, when the server is not verified
    return connect_outcome{response.result_int() == 200, "HTTP " + std::to_string(response.result_int())};
  };
}

std::ostream& operator<<(std::ostream& out, expectation e) { return out << (e == expectation::reject ? "reject" : "accept"); }

std::ostream& operator<<(std::ostream& out, tier t) {
  switch (t) {
    case tier::baseline: return out << "baseline";
    case tier::revocation: return out << "revocation";
    case tier::strict: return out << "strict";
  }
  return out << "unknown";
}

std::ostream& operator<<(std::ostream& out, const impostor& entry) {
  out << "impostor '" << entry.name << "' at " << entry.url() << ": " << entry.expected;
  if (!entry.expected_error.empty()) out << " (" << entry.expected_error << ")";
  if (entry.tier != tier::baseline) out << ", " << entry.tier << " tier";
  return out;
}

std::ostream& operator<<(std::ostream& out, const connect_outcome& outcome) {
  return out << (outcome.connected ? "connected" : "did not connect") << (outcome.detail.empty() ? "" : ": ")
             << outcome.detail;
}

std::ostream& operator<<(std::ostream& out, const check_row& row) {
  return out << row.entry.name << ": " << row.verdict() << " (expected " << row.entry.expected << ", "
             << (row.skipped ? "not run" : row.connected ? "accepted" : "rejected") << ")"
             << (row.detail.empty() ? "" : ": ") << row.detail;
}

std::ostream& operator<<(std::ostream& out, const check_report& report) { return out << report.table(); }

}  // namespace tlsfix::harness
