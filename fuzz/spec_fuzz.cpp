// Topology specs, as `init --spec` reads them: the first byte picks JSON ('j') or YAML, the rest
// is the file. Only tlsfix::error may come out, and never after unbounded time or memory (the
// alias and depth bounds in ci/src/spec.cpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "spec.hpp"
#include "tlsfix/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    (void)tlsfix::cli::parse_spec(text, data[0] == 'j' ? "fuzz.json" : "fuzz.yaml");
  } catch (const tlsfix::error&) {
  }
  return 0;
}
