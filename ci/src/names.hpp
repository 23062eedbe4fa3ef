// Which names a tlsfix directory may hold, and the identifiers derived from service names.
//
// The CA's name constraints permit only test names (`test`, `test.local`, `localhost`, 127/8,
// ::1) plus what `--allow-name` adds. A certificate for any other name would be issued but never
// verify, so names are checked here first and the error names the flag or spec field to change.
//
//   name_policy policy{{"svc.cluster.local"}};
//   policy.check("api.svc.cluster.local", "--service");   // fine
//   policy.check("example.com", "--service");             // throws: ... add --allow-name example.com
//   env_identifier("service.test.local");                 // "SERVICE_TEST_LOCAL"
//   kubernetes_name("service.test.local");                // "service-test-local"
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tlsfix::cli {

class name_policy {
 public:
  // `allowed` are extra DNS suffixes or CIDR ranges; each is validated (errors name --allow-name).
  explicit name_policy(std::vector<std::string> allowed = {});

  bool permits(std::string_view name) const;
  // Throws `ca::error` naming `where` and the --allow-name that would admit the name.
  void check(std::string_view name, std::string_view where) const;
  const std::vector<std::string>& allowed() const noexcept { return allowed_; }

 private:
  std::vector<std::string> allowed_;
  std::vector<std::string> all_;
};

bool is_ip_address(std::string_view text);
// A service name is a DNS name, an IP address or an email: it also names a directory.
void check_service_name(std::string_view name, std::string_view where);
std::string env_identifier(std::string_view name);
std::string kubernetes_name(std::string_view name);

}  // namespace tlsfix::cli
