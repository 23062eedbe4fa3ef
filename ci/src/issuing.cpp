#include "issuing.hpp"

#include <algorithm>

#include "durations.hpp"
#include "tlsfix/ca/names.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::cli {

namespace {

// --key-owner SERVICE=USER and --key-group SERVICE=GROUP, each setting one field of a service.
struct key_flag {
  const char* flag;   // "--key-owner"
  const char* field;  // the spec's word for it
  const char* who;    // what follows the '='
  std::optional<account> service_spec::*member;
  account (*find)(std::string_view, std::string);
};
const key_flag key_owner_flag{"--key-owner", "key_owner", "USER", &service_spec::key_owner, find_user};
const key_flag key_group_flag{"--key-group", "key_group", "GROUP", &service_spec::key_group, find_group};

void add_key_access(topology& t, const key_flag& k, const std::string& value) {
  std::string where = std::string(k.flag) + " " + value;
  auto eq = value.rfind('=');  // the last '=': an email service name may hold one, a user name not
  if (eq == std::string::npos || eq == 0) throw tlsfix::error(where, "expected SERVICE=" + std::string(k.who));
  std::string name = value.substr(0, eq);
  auto s = std::find_if(t.services.begin(), t.services.end(), [&](const service_spec& x) { return x.name == name; });
  if (s == t.services.end()) {
    std::string known;
    for (const auto& x : t.services) known += (known.empty() ? "" : ", ") + x.name;
    throw tlsfix::error(where, "'" + name + "' is not a service this command issues (" + (known.empty() ? "it issues none" : known) + ")");
  }
  auto& field = (*s).*k.member;
  if (field) throw tlsfix::error(where, "'" + name + "' already has " + k.field + " '" + field->name + "' (" + field->where + ")");
  field = k.find(value.substr(eq + 1), where);
}

}  // namespace

void add_flag_services(topology& t, const service_flags& f) {
  auto key = [&] {
    try {
      return ca::parse_key_type(f.key_type);
    } catch (const tlsfix::error& e) {
      throw e.within("--key-type");
    }
  }();
  auto validity = parse_duration(f.validity.value_or("90d"), "--validity");
  for (const auto& ip : f.ips)
    if (!ca::is_ip_address(ip)) throw tlsfix::error("--ip", "'" + ip + "' is not an IP address");
  for (const auto& name : f.services)
    t.services.push_back({.name = name, .ips = f.ips, .key = key, .validity = validity, .validity_given = f.validity.has_value(),
                          .p12_password = f.p12_password, .where = "--service " + name});
  for (const auto& name : f.clients)
    t.services.push_back({.name = name, .key = key, .validity = validity, .validity_given = f.validity.has_value(), .usage = ca::usage::client,
                          .p12_password = f.p12_password, .where = "--client " + name});
  for (auto& s : t.services)
    if (s.usage != ca::usage::client)
      for (const auto& c : f.clients)
        if (std::find(s.clients.begin(), s.clients.end(), c) == s.clients.end()) s.clients.push_back(c);
  for (const auto& v : f.key_owners) add_key_access(t, key_owner_flag, v);
  for (const auto& v : f.key_groups) add_key_access(t, key_group_flag, v);
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
  for (const auto& s : services) {
    out += "  " + s["name"].get<std::string>() + "/  " + s["usage"].get<std::string>() + ", expires " +
           s["not_after"].get<std::string>();
    if (s.contains("key_access")) {
      const auto& a = s["key_access"];
      out += ", key files " + a["mode"].get<std::string>();
      if (a.contains("owner")) out += ", owner " + a["owner"].get<std::string>();
      if (a.contains("group")) out += ", group " + a["group"].get<std::string>();
    }
    out += "\n";
  }
  out += key_kept ? "  ca.key  kept (0600): `tlsfix issue` can add services\n"
                  : "  the CA key was not kept: this root can sign nothing more\n";
  return out;
}

}  // namespace tlsfix::cli
