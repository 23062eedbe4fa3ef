// Times and durations on the command line and in spec files.
//
// Durations are a number and a unit ("7d", "12h", "30m", "45s", "2w") or an ISO-8601 duration
// ("P7D", "PT12H", "P1DT6H"); times are ISO-8601 in UTC or with an offset ("2030-01-31T12:00:00Z",
// "2030-01-31T14:00:00+02:00", "2030-01-31"). Errors start with `what` (the flag; empty when the caller adds a file position).
//
//   auto within = parse_duration("7d", "--within");          // 604800 s
//   auto at = parse_time("2030-01-31T12:00:00Z", "--at");
//   std::cout << ca::to_iso8601(at);                         // 2030-01-31T12:00:00Z
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "tlsfix/ca/cert_request.hpp"

namespace tlsfix::cli {

std::chrono::seconds parse_duration(std::string_view text, std::string_view what);
ca::clock::time_point parse_time(std::string_view text, std::string_view what);
// "3d 4h", "25m": for humans reading expiry lists.
std::string format_duration(std::chrono::seconds d);

}  // namespace tlsfix::cli
