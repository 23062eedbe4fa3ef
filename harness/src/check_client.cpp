#include <algorithm>
#include <cctype>
#include <ostream>
#include <sstream>

#include "tlsfix/error.hpp"
#include "tlsfix/harness/impostor.hpp"
#include "tlsfix/harness/test_client.hpp"

namespace tlsfix::harness {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Words that mark the line a client states its error on, in the clients tlsfix is run against:
// curl's "curl: (60) SSL certificate problem", wget's "ERROR: cannot verify", s_client's
// "verify error:num=10:certificate has expired", Python's "ssl.SSLCertVerificationError:", Go's
// "x509: certificate signed by unknown authority", Node's "Error: self-signed certificate",
// gnutls-cli's "*** PKI verification of server certificate failed". (No word that is also in an
// entry's host name, such as "expired": wget's "--DATE--  https://expired..." is not an error.)
constexpr std::string_view error_words[] = {"error", "fail", "unable", "certificate", "verify", "alert", "refused",
                                            "mismatch", "denied", "invalid", "x509", "not trusted", "ssl"};

// Lines that set the scene before the error: s_client's chain walk and its CONNECTED line, a
// Python traceback's header and its indented frames, wget's progress, gnutls-cli's "- " info.
constexpr std::string_view context_prefixes[] = {"depth=", "verify return:", "CONNECTED(", "Traceback (",
                                                 "During handling", "--", "Resolving ", "Connecting ", "HTTP request",
                                                 "Processed ", "- ", " ", "\t"};

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// "exit 60: " or "signal 9: ", which tlsfix check-client puts before what the client said.
std::size_t status_prefix(std::string_view text) {
  for (std::string_view word : {"exit ", "signal "}) {
    if (!starts_with(text, word)) continue;
    auto end = text.find_first_not_of("0123456789", word.size());
    if (end != word.size() && end != std::string_view::npos && text.substr(end, 2) == ": ") return end + 2;
  }
  return 0;
}

}  // namespace

std::string_view check_row::verdict() const noexcept {
  if (skipped) return "skipped";
  if (passed) return "pass";
  return counted ? "fail" : "weak";
}

std::string check_row::detail_line() const {
  std::string_view text = detail;
  std::string_view status = text.substr(0, status_prefix(text));
  text.remove_prefix(status.size());
  // The first line that names an error outside the context, else the last line.
  std::string last, telling;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line) && telling.empty();) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    last = line;
    if (std::any_of(std::begin(context_prefixes), std::end(context_prefixes), [&](std::string_view p) { return starts_with(line, p); }))
      continue;
    auto words = lower(line);
    if (std::any_of(std::begin(error_words), std::end(error_words), [&](std::string_view w) { return words.find(w) != std::string::npos; }))
      telling = line;
  }
  std::string out = telling.empty() ? last : telling;
  auto start = out.find_first_not_of(" \t");
  out = start == std::string::npos ? std::string() : out.substr(start);
  return out.empty() ? std::string(status.substr(0, status.size() >= 2 ? status.size() - 2 : 0)) : std::string(status).append(out);
}

bool check_report::passed() const noexcept { return failures() == 0 && !rows.empty(); }

std::size_t check_report::failures() const noexcept {
  return static_cast<std::size_t>(std::count_if(rows.begin(), rows.end(), [](const check_row& r) {
    return !r.skipped && r.counted && !r.passed;
  }));
}

std::size_t check_report::weaknesses() const noexcept {
  return static_cast<std::size_t>(std::count_if(rows.begin(), rows.end(), [](const check_row& r) {
    return !r.skipped && !r.counted && !r.passed;
  }));
}

std::string check_report::table() const {
  std::size_t width = 5;
  for (const auto& row : rows) width = std::max(width, row.entry.name.size());
  std::ostringstream out;
  auto pad = [](const std::string& text, std::size_t n) { return text + std::string(n > text.size() ? n - text.size() : 0, ' '); };
  out << pad("entry", width) << "  expected  actual     verdict  detail\n";
  for (const auto& row : rows) {
    std::string actual = row.skipped ? "-" : row.connected ? "accepted" : "rejected";
    std::string detail = row.detail_line();
    if (detail.size() > 160) detail = detail.substr(0, 157) + "...";
    out << pad(row.entry.name, width) << "  " << pad(row.entry.expected == expectation::reject ? "reject" : "accept", 8)
        << "  " << pad(actual, 9) << "  " << pad(std::string(row.verdict()), 7) << "  " << detail << '\n';
  }
  out << (passed() ? "PASS" : "FAIL") << ": " << failures() << " of " << rows.size() << " entries wrong";
  if (auto weak = weaknesses(); weak > 0)
    out << "; " << weak << " weak-policy " << (weak == 1 ? "entry" : "entries") << " accepted (not counted without --policy)";
  out << '\n';
  return out.str();
}

check_report check_client(const impostor_catalog& catalog, const client_under_test& connect, const check_options& options) {
  check_report report;
  for (const auto& entry : catalog.entries()) {
    check_row row{.entry = entry};
    row.skipped = (entry.tier == tier::revocation && !options.revocation) || (entry.tier == tier::strict && !options.strict);
    row.counted = entry.tier != tier::policy || options.policy;
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
    case tier::policy: return out << "policy";
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
  out << row.entry.name << ": " << row.verdict() << " (expected " << row.entry.expected << ", "
      << (row.skipped ? "not run" : row.connected ? "accepted" : "rejected") << ")";
  auto line = row.detail_line();
  return out << (line.empty() ? "" : ": ") << line;
}

std::ostream& operator<<(std::ostream& out, const check_report& report) { return out << report.table(); }

}  // namespace tlsfix::harness
