#include "issuing.hpp"

#include <algorithm>

#include "durations.hpp"
#include "tlsfix/ca/names.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::cli {

void add_flag_services(topology& t, const service_flags& f) {
  auto key = [&] {
    try {
      return ca::parse_key_type(f.key_type);
    } catch (const tlsfix::error& e) {
      throw e.within("--key-type");
    }
  }();
  auto validity = parse_duration(f.validity, "--validity");
  for (const auto& ip : f.ips)
    if (!ca::is_ip_address(ip)) throw tlsfix::error("--ip", "'" + ip + "' is not an IP address");
  for (const auto& name : f.services)
    t.services.push_back({.name = name, .ips = f.ips, .key = key, .validity = validity,
                          .p12_password = f.p12_password, .where = "--service " + name});
  for (const auto& name : f.clients)
    t.services.push_back({.name = name, .key = key, .validity = validity, .usage = ca::usage::client,
                          .p12_password = f.p12_password, .where = "--client " + name});
  for (auto& s : t.services)
    if (s.usage != ca::usage::client)
      for (const auto& c : f.clients)
        if (std::find(s.clients.begin(), s.clients.end(), c) == s.clients.end()) s.clients.push_back(c);
}

ca::issued_cert issue_one(const ca::certificate_authority& ca, const service_spec& s) {
  try {
    return ca.issue({.names = s.all_names(), .validity = ca::validity::lasting(s.validity), .key = s.key, .usage = s.usage});
  } catch (const tlsfix::error& e) {
    throw e.within(s.where);
  }
}

std::string summary(const std::filesystem::path& dir, const nlohmann::json& services, bool key_kept) {
  std::string out = "tlsfix: wrote " + dir.string() + "\n  ca.crt  trust this root (env: source " + (dir / "env").string() + ")\n";
  for (const auto& s : services)
    out += "  " + s["name"].get<std::string>() + "/  " + s["usage"].get<std::string>() + ", expires " +
           s["not_after"].get<std::string>() + "\n";
  out += key_kept ? "  ca.key  kept (0600): `tlsfix issue` can add services\n"
                  : "  the CA key was not kept: this root can sign nothing more\n";
  return out;
}

}  // namespace tlsfix::cli
