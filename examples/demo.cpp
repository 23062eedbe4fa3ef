// The README demo: a fresh CA and intermediate, a certificate for service.test.local, its chain, and
// strict offline verification next to the negative controls that must fail. Nothing is served: the
// demo of the whole product (services on verified TLS) comes with sample_services/.
#include <tlsfix/ca.hpp>

#include <chrono>
#include <iostream>

int main() {
  using namespace tlsfix::ca;
  auto root = certificate_authority::create();
  auto intermediate = root.make_intermediate({.path_length = 0});
  auto leaf = intermediate.issue({.names = {"service.test.local", "127.0.0.1", "::1"}});

  std::cout << "chain issued for service.test.local, as a server would send it (leaf first, root excluded;\n"
               "verified offline below, nothing is served):\n";
  for (const auto& cert : leaf.chain())
    std::cout << "  " << cert.subject() << "\n    issuer " << cert.issuer() << "\n    serial " << cert.serial_hex()
              << "\n";
  std::cout << "trusted root:\n  " << leaf.root().subject() << "\n  sha256 " << leaf.root().sha256_fingerprint()
            << "\n";
  std::cout << "subjectAltName:";
  for (const auto& san : leaf.cert().subject_alt_names()) std::cout << ' ' << san;
  std::cout << "\n\n";

  struct check {
    const char* what;
    verify_options options;
  };
  const check checks[] = {
      {"service.test.local, trusting the root", {.roots = {root.root()}, .untrusted = leaf.chain(), .name = "service.test.local"}},
      {"127.0.0.1", {.roots = {root.root()}, .untrusted = leaf.chain(), .name = "127.0.0.1"}},
      {"wrong host other.test.local", {.roots = {root.root()}, .untrusted = leaf.chain(), .name = "other.test.local"}},
      {"a different root", {.roots = {certificate_authority::create().root()}, .untrusted = leaf.chain(), .name = "service.test.local"}},
      {"intermediate missing", {.roots = {root.root()}, .name = "service.test.local"}},
      {"in 100 days (expired by then)",
       {.roots = {root.root()}, .untrusted = leaf.chain(), .name = "service.test.local",
        .at = clock::now() + std::chrono::hours(24 * 100)}},
  };
  bool as_expected = true;
  for (std::size_t i = 0; i < std::size(checks); ++i) {
    auto result = verify(leaf.cert(), checks[i].options);
    bool expect_ok = i < 2;
    as_expected = as_expected && result.ok() == expect_ok;
    std::cout << (result.ok() ? "ACCEPTED " : "REJECTED ") << checks[i].what << ": " << result.message() << '\n';
  }
  return as_expected ? 0 : 1;
}
