// Conformance of tlsfix::ca::verify against the x509-limbo path-validation vectors.
//
// The vectors live outside the project (../shared/x509-limbo/limbo.json), so every test here skips
// when they are absent. Where tlsfix's verdict differs from the suite's, the case id must be listed
// in limbo_divergences.txt with a reason; a listed case that starts to agree fails too, so the file
// always tells the truth about where OpenSSL's policy and the web PKI part ways.
#include <gtest/gtest.h>

#include <cctype>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tlsfix/ca.hpp"

#ifndef TLSFIX_LIMBO_JSON
#error "tests/ca/CMakeLists.txt must define TLSFIX_LIMBO_JSON"
#endif
#ifndef TLSFIX_LIMBO_DIVERGENCES
#error "tests/ca/CMakeLists.txt must define TLSFIX_LIMBO_DIVERGENCES"
#endif

namespace {

using tlsfix::ca::certificate;
using tlsfix::ca::clock;

struct limbo_case {
  std::string id;
  std::vector<std::string> trusted;
  std::vector<std::string> untrusted;
  std::string peer;
  std::string name_kind;  // "DNS", "IP", ...
  std::string name;
  std::optional<std::string> validation_time;  // RFC 3339, UTC
  bool expect_success = false;
};

struct limbo_suite {
  bool present = false;
  std::string load_error;  // set when the file exists but cannot be read as the suite
  std::vector<limbo_case> cases;
};

std::vector<std::string> strings(const nlohmann::json& value) {
  std::vector<std::string> out;
  if (value.is_array())
    for (const auto& item : value) out.push_back(item.get<std::string>());
  return out;
}

// Read once, before main(), because the parameter list of a value-parametrised test must be known
// when tests are registered. Nothing may throw out of static initialisation, so failures are kept
// and reported by the Suite test below.
const limbo_suite& suite() {
  static const limbo_suite loaded = [] {
    limbo_suite out;
    std::ifstream in(TLSFIX_LIMBO_JSON);
    if (!in) return out;
    out.present = true;
    try {
      auto doc = nlohmann::json::parse(in);
      for (const auto& tc : doc.at("testcases")) {
        if (tc.at("validation_kind") != "SERVER") continue;
        limbo_case c;
        c.id = tc.at("id").get<std::string>();
        c.trusted = strings(tc.at("trusted_certs"));
        c.untrusted = strings(tc.at("untrusted_intermediates"));
        c.peer = tc.at("peer_certificate").get<std::string>();
        if (const auto& name = tc.at("expected_peer_name"); name.is_object()) {
          c.name_kind = name.at("kind").get<std::string>();
          c.name = name.at("value").get<std::string>();
        }
        if (const auto& t = tc.at("validation_time"); t.is_string()) c.validation_time = t.get<std::string>();
        c.expect_success = tc.at("expected_result") == "SUCCESS";
        out.cases.push_back(std::move(c));
      }
    } catch (const std::exception& e) {
      out.load_error = e.what();
      out.cases.clear();
    }
    return out;
  }();
  return loaded;
}

// id -> reason, from "id  reason..." lines; '#' starts a comment line.
std::map<std::string, std::string> divergences() {
  std::map<std::string, std::string> out;
  std::ifstream in(TLSFIX_LIMBO_DIVERGENCES);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() == '#') continue;
    std::istringstream fields(line);
    std::string id, reason;
    fields >> id;
    std::getline(fields >> std::ws, reason);
    if (!id.empty()) out[id] = reason;
  }
  return out;
}

clock::time_point parse_rfc3339_utc(const std::string& text) {
  std::tm tm{};
  std::istringstream in(text);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  if (in.fail() || text.substr(19) != "+00:00") throw std::runtime_error("unsupported validation_time '" + text + "'");
  return clock::from_time_t(timegm(&tm));
}

// tlsfix's verdict and why; a certificate that cannot even be parsed is a rejection, as it
// would be in a handshake.
struct verdict {
  bool accepted = false;
  std::string detail;
};

verdict run(const limbo_case& c) {
  std::vector<certificate> roots, untrusted;
  std::optional<certificate> peer;
  try {
    for (const auto& pem : c.trusted) roots.push_back(certificate::from_pem(pem, "trusted_certs"));
    for (const auto& pem : c.untrusted) untrusted.push_back(certificate::from_pem(pem, "untrusted_intermediates"));
    peer = certificate::from_pem(c.peer, "peer_certificate");
  } catch (const tlsfix::error& e) {
    return {false, std::string("parse: ") + e.what()};
  }
  tlsfix::ca::verify_options options{.roots = roots, .untrusted = untrusted, .name = c.name};
  if (c.validation_time) options.at = parse_rfc3339_utc(*c.validation_time);
  auto result = tlsfix::ca::verify(*peer, options);
  return {result.ok(), result.ok() ? "accepted" : result.message()};
}

// Failures then name the case instead of dumping its bytes.
void PrintTo(const limbo_case& c, std::ostream* out) { *out << c.id; }

class Limbo : public ::testing::TestWithParam<limbo_case> {};

TEST_P(Limbo, VerdictMatchesOrIsListedDivergence) {
  const limbo_case& c = GetParam();
  if (c.name_kind != "DNS" && c.name_kind != "IP")
    GTEST_SKIP() << c.id << ": expected_peer_name kind '" << c.name_kind << "' is not a name verify() checks";
  verdict got;
  try {
    got = run(c);
  } catch (const tlsfix::error& e) {
    // verify() refuses only names it could never match (wildcard patterns, URIs), which no
    // SERVER case asks for; anything else reaching here is a real failure.
    FAIL() << c.id << ": verify threw: " << e.what();
  }
  static const auto listed = divergences();
  auto entry = listed.find(c.id);
  bool agrees = got.accepted == c.expect_success;
  if (entry == listed.end()) {
    EXPECT_TRUE(agrees) << c.id << ": expected " << (c.expect_success ? "SUCCESS" : "FAILURE") << ", tlsfix "
                        << (got.accepted ? "accepted" : "rejected") << " (" << got.detail << ")\n"
                        << "If this is a deliberate policy difference, list it in " << TLSFIX_LIMBO_DIVERGENCES;
  } else {
    EXPECT_FALSE(agrees) << c.id << ": listed as a divergence (" << entry->second
                         << ") but tlsfix now agrees with the suite; remove it from " << TLSFIX_LIMBO_DIVERGENCES;
  }
}

std::string test_name(const ::testing::TestParamInfo<limbo_case>& info) {
  std::string out;
  for (char ch : info.param.id) out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  // Two ids differing only in punctuation would collide; the index keeps every name unique.
  return out + "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(X509Limbo, Limbo, ::testing::ValuesIn(suite().cases), test_name);
// Without the vectors the list above is empty; that is a skip (reported by Suite), not an error.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Limbo);

TEST(LimboSuite, LoadsAndDivergenceListNamesKnownCases) {
  if (!suite().present) GTEST_SKIP() << "x509-limbo vectors not found at " << TLSFIX_LIMBO_JSON << "; skipping conformance";
  ASSERT_TRUE(suite().load_error.empty()) << TLSFIX_LIMBO_JSON << ": " << suite().load_error;
  EXPECT_EQ(suite().cases.size(), 135u) << "the README describes 135 SERVER cases";
  std::set<std::string> ids;
  for (const auto& c : suite().cases) ids.insert(c.id);
  for (const auto& [id, reason] : divergences()) {
    EXPECT_TRUE(ids.count(id)) << TLSFIX_LIMBO_DIVERGENCES << " lists '" << id << "', which is not a case of the suite";
    EXPECT_FALSE(reason.empty()) << TLSFIX_LIMBO_DIVERGENCES << ": '" << id << "' needs a reason";
  }
}

}  // namespace
