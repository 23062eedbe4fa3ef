// Shared by the impostor tests: one catalog per test suite. Its servers are read-only and every
// test only dials them, so starting it once (about a second, an RSA-4096 key) is enough.
#pragma once

#include <gtest/gtest.h>

#include <set>
#include <string>

#include <tlsfix/harness.hpp>

namespace tlsfix::test {

class ImpostorCatalogTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { catalog_ = new harness::impostor_catalog(harness::impostor_catalog::start()); }
  static void TearDownTestSuite() {
    delete catalog_;
    catalog_ = nullptr;
  }
  static inline harness::impostor_catalog* catalog_ = nullptr;
};

// The entries a report holds against the client: neither passed nor skipped.
inline std::set<std::string> failed_entries(const harness::check_report& report) {
  std::set<std::string> names;
  for (const auto& row : report.rows)
    if (row.verdict() == "fail") names.insert(row.entry.name);
  return names;
}

}  // namespace tlsfix::test
