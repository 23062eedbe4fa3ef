// The CLI's own policy on names, on top of the one parser in <tlsfix/ca/names.hpp>: which names a
// tlsfix directory may hold, and the identifiers derived from service names.
//
// The CA's name constraints permit only test names (`test`, `test.local`, `localhost`, 127/8,
// ::1) plus what `--allow-name` adds. A certificate for any other name would be issued but never
// verify, so names are checked here first, and the error names the flag or spec field to change.
//
//   name_policy policy{{"svc.cluster.local"}, "--allow-name"};
//   policy.check("api.svc.cluster.local", "--service");   // fine
//   policy.check("example.com", "--service");             // throws: ... add --allow-name example.com
//   env_identifier("service.test.local");                 // "SERVICE_TEST_LOCAL"
//   kubernetes_name("service.test.local");                // "service-test-local"
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tlsfix/ca/names.hpp"

namespace tlsfix::cli {

// An `--allow-name` entry, parsed with ca::parse_name_range, refused when it would let the root
// vouch for the internet at large: a public suffix ("com", "co.uk", "github.io", from libpsl's
// list) or public address space wider than one site's (/24, /48). Private, loopback,
// link-local and documentation ranges may be any width. Throws `tlsfix::error` naming `field`.
ca::name_range parse_allowed_name(std::string_view text, std::string_view field);

class name_policy {
 public:
  // `allowed` are extra DNS suffixes or CIDR ranges, checked with ca::parse_name_range: errors name
  // `field` ("--allow-name", or where in a spec they came from) and the entry.
  explicit name_policy(std::vector<std::string> allowed = {}, std::string_view field = "--allow-name");

  // Whether the host a name speaks for (an email's domain, a URI's host) is a name the CA may
  // vouch for. Throws, naming `where`, for text that is not a name at all.
  bool permits(std::string_view name, std::string_view where) const;
  // Throws `tlsfix::error` naming `where` and the --allow-name that would admit the name.
  void check(std::string_view name, std::string_view where) const;
  const std::vector<std::string>& allowed() const noexcept { return allowed_; }

 private:
  std::vector<std::string> allowed_;
  std::vector<ca::name_range> ranges_;
};

// A service name also names its directory: a DNS name, an IP address or an email, no wildcard or
// URI (those go in a service's `names`). Throws `tlsfix::error` naming `where`.
void check_service_name(std::string_view name, std::string_view where);
std::string env_identifier(std::string_view name);
std::string kubernetes_name(std::string_view name);

}  // namespace tlsfix::cli
