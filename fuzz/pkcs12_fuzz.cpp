// PKCS#12 files from outside: what `verify --p12-password` and read_pkcs12 read. Only tlsfix::error
// may come out, and no input may cost more than the iteration budget (libFuzzer's -timeout would
// report one that did). fuzz/run seeds it with real files made with the password "fuzz".
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "only_tlsfix_errors.hpp"
#include "tlsfix/ca/pkcs12.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view der(reinterpret_cast<const char*>(data), size);
  using namespace tlsfix::ca;
  (void)is_pkcs12(der);
  expect_only_tlsfix_errors([&] {
    auto p12 = read_pkcs12(der, "fuzz");
    if (p12.key) (void)p12.key->public_der();
    if (p12.leaf) (void)p12.leaf->subject_alt_names();
    for (const auto& cert : p12.chain) (void)cert.subject();
  });
  // The empty password takes its own path: two encodings, two MAC attempts.
  expect_only_tlsfix_errors([&] { (void)read_pkcs12(der, ""); });
  return 0;
}
