// What a certificate should say: names, validity, key type and usage.
//
// An aggregate meant for designated initializers. Each entry of `names` becomes one subjectAltName,
// its kind detected from the text: "127.0.0.1" and "::1" are IP addresses, "*.svc.test" a wildcard
// DNS name, "spiffe://test.local/ns/a" (anything with "://") a URI, "ops@test.local" an email, and
// everything else must be a valid DNS name. Invalid entries throw `error` naming the index and value.
//
//   tlsfix::ca::cert_request req{
//       .names = {"service.test.local", "127.0.0.1", "::1"},
//       .validity = tlsfix::ca::validity::expired(),    // deliberately expired
//       .key = tlsfix::ca::key_type::ecdsa_p384,
//       .usage = tlsfix::ca::usage::server_and_client,
//   };
//   auto leaf = ca.issue(req);
#pragma once

#include <iosfwd>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tlsfix/ca/private_key.hpp"

namespace tlsfix::ca {

using clock = std::chrono::system_clock;

struct validity {
  clock::time_point not_before;
  clock::time_point not_after;

  // Valid from one hour ago (clock skew between processes) for `length`.
  static validity lasting(clock::duration length);
  // The default for leaves: one hour ago until 90 days from now.
  static validity standard() { return lasting(std::chrono::hours(24 * 90)); }
  // Ended `ago` before now (it was valid for a day before that).
  static validity expired(clock::duration ago = std::chrono::hours(1));
  // Starts `in` from now and lasts a day after that.
  static validity not_yet_valid(clock::duration in = std::chrono::hours(1));
  // Valid from now for `length`; for tests of expiry in real time. Not backdated.
  static validity short_lived(clock::duration length);
};

enum class usage { server, client, server_and_client };

struct cert_request {
  std::vector<std::string> names;
  // Absent by default: clients must match subjectAltName, never the common name.
  std::optional<std::string> common_name;
  ca::validity validity = ca::validity::standard();
  // A key type generates a fresh key; a `private_key` is reused as given (fast for RSA, and for
  // tests of key reuse across rotation).
  std::variant<key_type, private_key> key = key_type::ecdsa_p256;
  ca::usage usage = ca::usage::server;
};

// "2026-11-29T03:25:51Z": a time in UTC as certificates, manifests and messages write it.
std::string to_iso8601(clock::time_point t);

// "server", "client", "server and client".
std::string_view to_string(usage u) noexcept;
std::ostream& operator<<(std::ostream& out, usage u);
// "2026-11-01T10:00:00Z to 2027-01-30T10:00:00Z".
std::ostream& operator<<(std::ostream& out, const validity& v);
std::ostream& operator<<(std::ostream& out, const cert_request& request);

}  // namespace tlsfix::ca
