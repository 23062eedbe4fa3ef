// Durations and times (--validity, --ca-validity, --within, --at, validity: in specs): a value is
// either taken within range or refused with tlsfix::error, never wrapped around.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "durations.hpp"
#include "tlsfix/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto d = tlsfix::cli::parse_duration(text, "fuzz");
    if (d.count() < 0 || d > std::chrono::hours(24 * 36525)) std::abort();  // out of range must be refused
    (void)tlsfix::cli::format_duration(d);
  } catch (const tlsfix::error&) {
  }
  try {
    (void)tlsfix::ca::to_iso8601(tlsfix::cli::parse_time(text, "fuzz"));
  } catch (const tlsfix::error&) {
  }
  return 0;
}
