// What a verified handshake with tls_server and test_client costs, next to the same handshake
// written directly against OpenSSL (bench/reference_handshake.cpp, linked into this binary so
// both run on the same machine in the same run; bench/compare.py prints the ratios).
//
// Names: "harness/<what>" for tlsfix, "openssl/<what>" for the reference. Each figure reports wall
// time and the CPU time of the whole process, so the server's threads are counted too.
#include <benchmark/benchmark.h>

#include "tlsfix/ca.hpp"
#include "tlsfix/harness.hpp"

namespace {

namespace ca = tlsfix::ca;
namespace harness = tlsfix::harness;

harness::http_handler hello() {
  return [](const harness::http_request& req) { return harness::text_response(req, 200, "hello"); };
}

// TLS 1.3, ECDSA P-256 leaf and root, full verification, a new connection every time.
void harness_handshake(benchmark::State& state) {
  auto authority = ca::certificate_authority::create();
  auto server = harness::tls_server::start(authority.issue("service.test.local"), hello());
  auto client = server.client();
  for (auto _ : state) {
    auto result = client.handshake();
    if (!result.ok()) state.SkipWithError(result.message().c_str());
  }
}

// From nothing to one verified handshake: CA, leaf, listening server, client, handshake, close.
void harness_cold_start(benchmark::State& state) {
  for (auto _ : state) {
    auto authority = ca::certificate_authority::create();
    auto server = harness::tls_server::start(authority.issue("service.test.local"), hello());
    auto result = server.client().handshake();
    if (!result.ok()) state.SkipWithError(result.message().c_str());
  }
}

// The impostor catalog: starting its 27 servers (an RSA-4096 key among them) and holding
// tlsfix's own client to every entry. No reference: this is the figure issue #4 asks for.
void impostor_catalog_start(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(harness::impostor_catalog::start());
}

void impostor_check_strict_client(benchmark::State& state) {
  auto catalog = harness::impostor_catalog::start();
  for (auto _ : state) {
    auto report = harness::check_client(catalog, harness::strict_test_client(catalog), {.strict = true});
    if (!report.passed()) state.SkipWithError("tlsfix's own client failed the catalog");
  }
}

BENCHMARK(impostor_catalog_start)
    ->Name("impostors/catalog_start")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5)
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK(impostor_check_strict_client)
    ->Name("impostors/check_test_client")
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

BENCHMARK(harness_handshake)
    ->Name("harness/handshake")
    ->Unit(benchmark::kMicrosecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK(harness_cold_start)
    ->Name("harness/cold_start")
    ->Unit(benchmark::kMicrosecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
