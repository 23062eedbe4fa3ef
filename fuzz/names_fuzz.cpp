// Names and ranges, as every flag and spec field that takes one reads them (--service, --ip,
// --allow-name, names:, ips:, allow_names:): the one parser in ca/ and the CLI's policy on top.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "names.hpp"
#include "tlsfix/ca/names.hpp"
#include "tlsfix/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto name = tlsfix::ca::parse_name(text, "fuzz");
    (void)name.host();
  } catch (const tlsfix::error&) {
  }
  try {
    (void)tlsfix::ca::parse_name_range(text, "fuzz");
  } catch (const tlsfix::error&) {
  }
  try {
    tlsfix::cli::check_service_name(text, "fuzz");
  } catch (const tlsfix::error&) {
  }
  try {
    static const tlsfix::cli::name_policy policy({}, "--allow-name");
    (void)policy.permits(text, "fuzz");
  } catch (const tlsfix::error&) {
  }
  return 0;
}
