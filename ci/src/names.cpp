#include "names.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "tlsfix/ca/certificate_authority.hpp"
#include "tlsfix/ca/error.hpp"

namespace tlsfix::cli {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

struct address {
  int family = 0;
  std::array<unsigned char, 16> bytes{};
};

bool parse_address(std::string_view text, address& out) {
  std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), out.bytes.data()) == 1) return (out.family = AF_INET), true;
  if (inet_pton(AF_INET6, s.c_str(), out.bytes.data()) == 1) return (out.family = AF_INET6), true;
  return false;
}

bool parse_cidr(std::string_view text, address& base, int& prefix) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || !parse_address(text.substr(0, slash), base)) return false;
  std::string bits(text.substr(slash + 1));
  if (bits.empty() || bits.size() > 3 || !std::all_of(bits.begin(), bits.end(), ::isdigit)) return false;
  prefix = std::stoi(bits);
  return prefix <= (base.family == AF_INET ? 32 : 128);
}

bool in_range(const address& a, const address& base, int prefix) {
  if (a.family != base.family) return false;
  for (int bit = 0; bit < prefix; ++bit) {
    int mask = 0x80 >> (bit % 8);
    if ((a.bytes[static_cast<std::size_t>(bit / 8)] & mask) != (base.bytes[static_cast<std::size_t>(bit / 8)] & mask))
      return false;
  }
  return true;
}

bool valid_dns(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    auto dot = name.find('.', start);
    auto label = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

// The host a SAN entry speaks for: the domain of an email, the host of a URI, the name itself.
std::string host_of(std::string_view name) {
  if (auto scheme = name.find("://"); scheme != std::string_view::npos) {
    auto host = name.substr(scheme + 3);
    host = host.substr(0, host.find_first_of("/:?#"));
    return lower(host);
  }
  if (auto at = name.rfind('@'); at != std::string_view::npos) return lower(name.substr(at + 1));
  if (name.starts_with("*.")) return lower(name.substr(2));
  return lower(name);
}

}  // namespace

name_policy::name_policy(std::vector<std::string> allowed) : allowed_(std::move(allowed)) {
  for (const auto& entry : allowed_) {
    address base;
    int prefix = 0;
    std::string suffix = lower(entry.starts_with('.') ? entry.substr(1) : entry);
    if (!parse_cidr(entry, base, prefix) && !valid_dns(suffix))
      throw ca::error("--allow-name: '" + entry + "' is neither a DNS suffix (svc.cluster.local) nor a CIDR range (10.0.0.0/8)");
  }
  all_ = ca::default_permitted_names();
  all_.insert(all_.end(), allowed_.begin(), allowed_.end());
}

bool name_policy::permits(std::string_view name) const {
  std::string host = host_of(name);
  address a;
  bool ip = parse_address(host, a);
  for (const auto& entry : all_) {
    address base;
    int prefix = 0;
    if (parse_cidr(entry, base, prefix)) {
      if (ip && in_range(a, base, prefix)) return true;
    } else if (!ip) {
      std::string suffix = lower(entry.starts_with('.') ? entry.substr(1) : entry);
      if (host == suffix || (host.size() > suffix.size() && host.ends_with("." + suffix))) return true;
    }
  }
  return false;
}

void name_policy::check(std::string_view name, std::string_view where) const {
  if (permits(name)) return;
  std::string host = host_of(name);
  std::string hint = is_ip_address(host) ? host + (host.find(':') != std::string::npos ? "/128" : "/32") : host;
  std::string permitted;
  for (const auto& entry : all_) permitted += (permitted.empty() ? "" : ", ") + entry;
  throw ca::error(std::string(where) + ": '" + std::string(name) + "' is outside the test names the CA may vouch for (" +
                  permitted + "); if that is intended, add --allow-name " + hint);
}

bool is_ip_address(std::string_view text) {
  address a;
  return parse_address(text, a);
}

void check_service_name(std::string_view name, std::string_view where) {
  auto at = name.find('@');
  bool ok = is_ip_address(name) || valid_dns(name) ||
            (at != std::string_view::npos && at > 0 && valid_dns(name.substr(at + 1)) &&
             name.substr(0, at).find_first_of("/\\ ") == std::string_view::npos);
  if (!ok)
    throw ca::error(std::string(where) + ": '" + std::string(name) +
                    "' is not a DNS name, IP address or email (wildcards and URIs go in a service's `names`)");
}

std::string env_identifier(std::string_view name) {
  std::string out;
  for (unsigned char c : name) out += std::isalnum(c) ? static_cast<char>(std::toupper(c)) : '_';
  return out;
}

std::string kubernetes_name(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    char k = std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '-';
    if (k != '-' || (!out.empty() && out.back() != '-')) out += k;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

}  // namespace tlsfix::cli
