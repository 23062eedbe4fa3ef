#include "tlsfix/ca/cert_request.hpp"

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

}  // namespace tlsfix::ca
