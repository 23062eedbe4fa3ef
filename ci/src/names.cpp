#include "names.hpp"

#include <libpsl.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>

#include "tlsfix/ca/certificate_authority.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::cli {

namespace {

// The address blocks that are no one's on the internet (IANA's special-purpose registries):
// private, loopback, link-local, shared, documentation and benchmarking space. A root may vouch
// for any part of these; a test network lives there.
constexpr std::array non_global_blocks{"10.0.0.0/8",     "100.64.0.0/10",   "127.0.0.0/8",    "169.254.0.0/16",
                                       "172.16.0.0/12",  "192.0.0.0/24",    "192.0.2.0/24",   "192.168.0.0/16",
                                       "198.18.0.0/15",  "198.51.100.0/24", "203.0.113.0/24", "::1/128",
                                       "fc00::/7",       "fe80::/10",       "2001:db8::/32"};
const std::vector<ca::name_range>& non_global_ranges() {
  static const auto ranges = [] {
    std::vector<ca::name_range> out;
    for (const char* block : non_global_blocks) out.push_back(ca::parse_name_range(block, "non_global_blocks"));
    return out;
  }();
  return ranges;
}
// Elsewhere, no wider than one site's allocation: the longest prefixes routed between networks.
constexpr int widest_public_v4 = 24, widest_public_v6 = 48;

int prefix_length(const ca::name_range& r) {
  int bits = 0;
  for (unsigned char byte : r.mask) bits += std::popcount(byte);
  return bits;
}

bool within(const ca::name_range& inner, const ca::name_range& outer) {
  if (inner.address.size() != outer.address.size() || prefix_length(inner) < prefix_length(outer)) return false;
  for (std::size_t i = 0; i < inner.address.size(); ++i)
    if ((inner.address[i] & outer.mask[i]) != outer.address[i]) return false;
  return true;
}

bool is_public_suffix(const std::string& dns) {
  // The list compiled into libpsl: no file read, the same answer on every machine with this
  // package. NO_STAR_RULE keeps names the list does not know ("corp", "internal", "lan") allowed:
  // those are where private test networks live.
  static const psl_ctx_t* list = psl_builtin();
  if (list == nullptr) return dns.find('.') == std::string::npos;  // no list: every top-level name
  return psl_is_public_suffix2(list, dns.c_str(), PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) != 0;
}

}  // namespace

ca::name_range parse_allowed_name(std::string_view text, std::string_view field) {
  auto range = ca::parse_name_range(text, field);
  std::string why;
  if (!range.is_ip && is_public_suffix(range.dns)) {
    why = "is a public suffix: a root that may vouch for every name under it can forge real sites; allow only a "
          "domain below it that you own (such as example." + range.dns + ")";
  } else if (range.is_ip) {
    bool v6 = range.address.size() == 16;
    bool non_global = std::ranges::any_of(non_global_ranges(), [&](const ca::name_range& block) { return within(range, block); });
    if (!non_global && prefix_length(range) < (v6 ? widest_public_v6 : widest_public_v4))
      why = "spans public addresses wider than /" + std::to_string(v6 ? widest_public_v6 : widest_public_v4) +
            ": a root that may vouch for them can forge real hosts; use a private or loopback range, or the "
            "public addresses your test uses";
  }
  if (!why.empty()) throw tlsfix::error(std::string(field), "'" + std::string(text) + "' " + why);
  return range;
}

name_policy::name_policy(std::vector<std::string> allowed, std::string_view field) : allowed_(std::move(allowed)) {
  for (const auto& entry : ca::default_permitted_names()) ranges_.push_back(ca::parse_name_range(entry, "default"));
  for (std::size_t i = 0; i < allowed_.size(); ++i)
    ranges_.push_back(parse_allowed_name(allowed_[i], field.starts_with("--") ? std::string(field)
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
