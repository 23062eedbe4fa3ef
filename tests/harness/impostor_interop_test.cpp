// Real clients held to the impostor catalog: curl, python3's ssl module.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <tlsfix/harness.hpp>

#include "impostor_fixture.hpp"

#include "support.hpp"

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
  return {r.exit_status == 0, "exit " + std::to_string(r.exit_status) + ": " + r.output.substr(0, 120)};
}

// A python3 client, one process for the whole catalog (interpreter start-up dominates otherwise):
// for each "host port" pair it connects with the catalog's CA file, prints "OK" or the error.
constexpr const char* python_client = R"(
import socket, ssl, sys
cafile, mode, targets = sys.argv[1], sys.argv[2], sys.argv[3:]
for host, port in zip(targets[0::2], targets[1::2]):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.hostname_checks_common_name = False
    if mode == "no-hostname-check":
        ctx.check_hostname = False
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: impostor\r\nConnection: close\r\n\r\n")
                tls.recv(64)
        print("OK")
    except Exception as e:
        print("ERR " + type(e).__name__ + ": " + str(e).replace("\n", " "))
)";

// Runs the python client over every entry and answers check_client from its output.
harness::client_under_test python_client_for(const harness::impostor_catalog& catalog, const std::string& mode) {
  std::vector<std::string> argv{"python3", "-c", python_client, catalog.trust().ca_file().string(), mode};
  for (const auto& e : catalog.entries()) {
    argv.push_back(e.host);
    argv.push_back(std::to_string(e.port));
  }
  auto r = test::run(argv, catalog.environment(), std::chrono::seconds(120));
  auto lines = std::make_shared<std::map<std::string, std::string>>();
  std::istringstream out(r.output);
  std::string line;
  for (const auto& e : catalog.entries()) {
    std::getline(out, line);
    (*lines)[e.name] = line;
  }
  return [lines](const harness::impostor& e) {
    const std::string& said = (*lines)[e.name];
    return harness::connect_outcome{said == "OK", said};
  };
}

using ImpostorInterop = test::ImpostorCatalogTest;
using test::failed_entries;

TEST_F(ImpostorInterop, CurlWithItsCaFileAndResolvePassesTheCatalog) {
  if (!test::have_program("curl")) GTEST_SKIP() << "curl is not installed";
  auto report = harness::check_client(*catalog_, [&](const harness::impostor& e) { return run_curl(*catalog_, e, {}); });
  EXPECT_TRUE(report.passed()) << report.table();
}

TEST_F(ImpostorInterop, CurlInsecureFailsTheCheck) {
  if (!test::have_program("curl")) GTEST_SKIP() << "curl is not installed";
  auto report =
      harness::check_client(*catalog_, [&](const harness::impostor& e) { return run_curl(*catalog_, e, {"-k"}); });
  EXPECT_FALSE(report.passed());
  EXPECT_THAT(failed_entries(report),
              ::testing::IsSupersetOf({"expired", "wrong-host", "self-signed", "untrusted-root", "system-store"}));
}

TEST_F(ImpostorInterop, PythonSslPassesAndIsCaughtWithoutHostnameCheck) {
  if (!test::have_program("python3")) GTEST_SKIP() << "python3 is not installed";
  auto good = harness::check_client(*catalog_, python_client_for(*catalog_, "strict"));
  EXPECT_TRUE(good.passed()) << good.table();
  auto careless = harness::check_client(*catalog_, python_client_for(*catalog_, "no-hostname-check"));
  EXPECT_THAT(failed_entries(careless),
              ::testing::UnorderedElementsAreArray({"wrong-host", "wildcard-too-deep", "ip-not-in-san"}));
}

}  // namespace
