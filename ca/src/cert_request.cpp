#include "tlsfix/ca/cert_request.hpp"

#include <ctime>
#include <ostream>


namespace tlsfix::ca {

namespace {
constexpr auto skew = std::chrono::hours(1);
constexpr auto day = std::chrono::hours(24);
}  // namespace

validity validity::lasting(clock::duration length) {
  auto now = clock::now();
  return {now - skew, now + length};
}

validity validity::expired(clock::duration ago) {
  auto end = clock::now() - ago;
  return {end - day, end};
}

validity validity::not_yet_valid(clock::duration in) {
  auto start = clock::now() + in;
  return {start, start + day};
}

validity validity::short_lived(clock::duration length) {
  auto now = clock::now();
  return {now, now + length};
}

std::string to_iso8601(clock::time_point t) {
  std::time_t seconds = clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string_view to_string(usage u) noexcept {
  switch (u) {
    case usage::server: return "server";
    case usage::client: return "client";
    case usage::server_and_client: return "server and client";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& out, usage u) { return out << to_string(u); }

std::ostream& operator<<(std::ostream& out, const validity& v) {
  return out << to_iso8601(v.not_before) << " to " << to_iso8601(v.not_after);
}

std::ostream& operator<<(std::ostream& out, const cert_request& request) {
  out << "cert_request for";
  for (const auto& n : request.names) out << " '" << n << "'";
  if (request.common_name) out << ", CN '" << *request.common_name << "'";
  out << ", valid " << request.validity << ", ";
  if (const auto* type = std::get_if<key_type>(&request.key)) out << "a new " << *type << " key";
  else out << "the given " << std::get<private_key>(request.key).type() << " key";
  return out << ", " << request.usage;
}

}  // namespace tlsfix::ca
