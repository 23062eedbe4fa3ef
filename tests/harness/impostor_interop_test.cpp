// Real clients held to the impostor catalog: curl, python3's ssl module.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <tlsfix/harness.hpp>

#include "process.hpp"

namespace {

using namespace tlsfix;

harness::connect_outcome run_curl(const harness::impostor_catalog& catalog, const harness::impostor& entry,
                                  std::vector<std::string> extra) {
  std::vector<std::string> argv{"curl", "--silent", "--show-error", "--max-time", "10", "--cacert",
                                catalog.trust().ca_file().string()};
  if (entry.host != "127.0.0.1") {
    argv.push_back("--resolve");
    argv.push_back(entry.host + ":" + std::to_string(entry.port) + ":127.0.0.1");
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(entry.url());
  auto r = test::run(argv, catalog.environment());
  return {r.exit_code == 0, "exit " + std::to_string(r.exit_code) + ": " + r.output.substr(0, 120)};
}

TEST(ImpostorInterop, CurlWithItsCaFilePassesTheCatalog) {
  if (!test::have_program("curl")) GTEST_SKIP() << "curl is not installed";
  auto catalog = harness::impostor_catalog::start();
  auto report = harness::check_client(catalog, [&](const harness::impostor& e) { return run_curl(catalog, e, {}); });
  EXPECT_TRUE(report.passed()) << report.table();
  std::cout << report.table();
}

}  // namespace
