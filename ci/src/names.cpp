#include "names.hpp"

#include <cctype>

#include "tlsfix/ca/certificate_authority.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::cli {

name_policy::name_policy(std::vector<std::string> allowed, std::string_view field) : allowed_(std::move(allowed)) {
  for (const auto& entry : ca::default_permitted_names()) ranges_.push_back(ca::parse_name_range(entry, "default"));
  for (std::size_t i = 0; i < allowed_.size(); ++i)
    ranges_.push_back(ca::parse_name_range(allowed_[i], field.starts_with("--") ? std::string(field)
                                                                                 : std::string(field) + "[" + std::to_string(i) + "]"));
}

bool name_policy::permits(std::string_view text, std::string_view where) const {
  auto name = ca::parse_name(text, where);
  if (name.kind == ca::name_kind::uri || name.kind == ca::name_kind::email) {
    std::string host = name.host();
    if (host.empty()) return false;
    name = ca::parse_name(host, where);
  }
  for (const auto& range : ranges_)
    if (range.contains(name)) return true;
  return false;
}

void name_policy::check(std::string_view text, std::string_view where) const {
  if (permits(text, where)) return;
  std::string host = ca::parse_name(text, where).host();
  std::string hint = ca::is_ip_address(host) ? host + (host.find(':') != std::string::npos ? "/128" : "/32") : host;
  std::string permitted;
  for (const auto& range : ranges_) permitted += (permitted.empty() ? "" : ", ") + range.text;
  throw tlsfix::error(std::string(where), "'" + std::string(text) + "' is outside the test names the CA may vouch for (" +
                                              permitted + "); if that is intended, add --allow-name " + hint);
}

void check_service_name(std::string_view text, std::string_view where) {
  auto name = ca::parse_name(text, where);
  bool names_a_directory = name.kind == ca::name_kind::dns || name.is_ip() ||
                           (name.kind == ca::name_kind::email && text.find_first_of("/\\") == std::string_view::npos);
  if (!names_a_directory)
    throw tlsfix::error(std::string(where), "'" + std::string(text) +
                                                "' is not a DNS name, IP address or email (wildcards and URIs go in a "
                                                "service's `names`)");
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
