#include "durations.hpp"

#include <cctype>
#include <ctime>
#include <stdexcept>

#include "tlsfix/error.hpp"

namespace tlsfix::cli {

namespace {

[[noreturn]] void bad(std::string_view what, std::string_view text, std::string_view expected) {
  throw tlsfix::error(std::string(what), "'" + std::string(text) + "' is not " + std::string(expected));
}

// The longest duration anything here takes: a certificate's clock is nanoseconds in 64 bits
// (about 292 years from 1970), so a larger one would wrap around instead of failing.
constexpr std::chrono::seconds longest = std::chrono::hours(24 * 36525);  // 100 years

std::chrono::seconds unit_seconds(char unit) {
  switch (unit) {
    case 's': case 'S': return std::chrono::seconds(1);
    case 'm': case 'M': return std::chrono::minutes(1);
    case 'h': case 'H': return std::chrono::hours(1);
    case 'd': case 'D': return std::chrono::hours(24);
    case 'w': case 'W': return std::chrono::hours(24 * 7);
    default: return std::chrono::seconds(0);
  }
}

// Reads "<digits><unit>" pairs; in ISO form 'M' means months before 'T' (refused) and minutes after.
bool parse_pairs(std::string_view text, bool iso, std::chrono::seconds& total) {
  bool in_time = !iso, any = false;
  std::size_t i = 0;
  while (i < text.size()) {
    if (iso && (text[i] == 'T' || text[i] == 't') && !in_time) {
      in_time = true;
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start || i == text.size() || i - start > 9) return false;
    char unit = text[i++];
    if (iso && !in_time && (unit == 'M' || unit == 'm' || unit == 'H' || unit == 'h' || unit == 'S' || unit == 's'))
      return false;  // months are not a fixed length; hours need the 'T'
    auto per = unit_seconds(unit);
    if (per.count() == 0) return false;
    // At most 9 digits, so neither the product nor the sum can overflow before the check.
    total += per * std::stoll(std::string(text.substr(start, i - 1 - start)));
    if (total > longest) throw std::out_of_range("duration");
    any = true;
  }
  return any;
}

}  // namespace

std::chrono::seconds parse_duration(std::string_view text, std::string_view what) {
  std::chrono::seconds total{0};
  bool iso = !text.empty() && (text[0] == 'P' || text[0] == 'p');
  try {
    if (!parse_pairs(iso ? text.substr(1) : text, iso, total))
      bad(what, text, "a duration like 7d, 12h, 30m, 45s, 2w or P7D, PT12H");
  } catch (const std::out_of_range&) {
    throw tlsfix::error(std::string(what), "'" + std::string(text) + "' is longer than 100 years (36525d), the longest duration tlsfix takes");
  }
  return total;
}

ca::clock::time_point parse_time(std::string_view text, std::string_view what) {
  std::tm tm{};
  int offset_seconds = 0;
  std::string s(text);
  const char* rest = nullptr;
  if (s.size() == 10) {
    rest = strptime(s.c_str(), "%Y-%m-%d", &tm);
  } else {
    rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest != nullptr) {
      std::string_view zone(rest);
      int hh = 0, mm = 0;
      if (zone == "Z" || zone == "z") {
        rest += 1;
      } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' &&
                 std::isdigit(static_cast<unsigned char>(zone[1])) && std::isdigit(static_cast<unsigned char>(zone[2])) &&
                 std::isdigit(static_cast<unsigned char>(zone[4])) && std::isdigit(static_cast<unsigned char>(zone[5])) &&
                 std::sscanf(rest + 1, "%2d:%2d", &hh, &mm) == 2 && hh <= 23 && mm <= 59) {
        offset_seconds = (zone[0] == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
        rest += 6;
      } else {
        rest = nullptr;  // a time without a zone is ambiguous between machines
      }
    }
  }
  if (rest == nullptr || *rest != '\0') bad(what, text, "an ISO-8601 time like 2030-01-31T12:00:00Z or 2030-01-31");
  // strptime takes 2030-02-31 and timegm makes it 2 March: a date that does not exist is refused.
  std::tm asked = tm;
  std::time_t seconds = timegm(&tm);
  if (tm.tm_mday != asked.tm_mday || tm.tm_mon != asked.tm_mon || tm.tm_year != asked.tm_year)
    bad(what, text, "a date that exists");
  // The clock holds 1678 to 2262 (nanoseconds in 64 bits); certificates need nothing wider.
  if (asked.tm_year + 1900 < 1950 || asked.tm_year + 1900 > 2200) bad(what, text, "a time between 1950 and 2200");
  return ca::clock::from_time_t(seconds) - std::chrono::seconds(offset_seconds);
}

std::string format_duration(std::chrono::seconds d) {
  bool negative = d.count() < 0;
  auto s = negative ? -d.count() : d.count();
  std::string out;
  auto days = s / 86400, hours = s % 86400 / 3600, minutes = s % 3600 / 60;
  if (days > 0) out = std::to_string(days) + "d " + std::to_string(hours) + "h";
  else if (hours > 0) out = std::to_string(hours) + "h " + std::to_string(minutes) + "m";
  else out = std::to_string(minutes) + "m";
  return negative ? "-" + out : out;
}

}  // namespace tlsfix::cli
