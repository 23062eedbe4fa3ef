#include "tlsfix/ca/names.hpp"

#include <arpa/inet.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdio>
#include <cctype>
#include <ostream>
#include <utility>

#include "detail/names.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::ca {

namespace {

std::string lower(std::string_view text) {
  std::string out{text};
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Empty when `name` is a valid host name (RFC 1123 labels), else why not.
std::string dns_problem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() > 253) return "is longer than 253 characters";
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view label = name.substr(start, end - start);
    if (label.empty()) return "has an empty label";
    if (label.size() > 63) return "has a label longer than 63 characters";
    if (label.front() == '-' || label.back() == '-') return "has a label that starts or ends with '-'";
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-')
        return std::string("contains '") + c + "', which is not allowed in a DNS name";
    start = end + 1;
  }
  // Resolvers and URL parsers (WHATWG) read a name ending in digits as an IPv4 address, so no
  // client would ever look it up as a name.
  std::string_view last = name.substr(name.rfind('.') == std::string_view::npos ? 0 : name.rfind('.') + 1);
  if (std::all_of(last.begin(), last.end(), [](unsigned char c) { return std::isdigit(c); }))
    return "ends in the all-numeric label '" + std::string(last) + "', which clients read as an IPv4 address, not a name";
  return {};
}

// The name as the user can read it in a message: control characters (a newline, a NUL) escaped,
// so that the message itself cannot be split or cut short by the name it reports.
std::string printable(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else out += static_cast<char>(c);
  }
  return out;
}

[[noreturn]] void reject(std::string_view field, std::string_view text, const std::string& reason) {
  throw error(std::string(field), "'" + printable(text) + "' " + reason);
}

bool looks_like_ipv4(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; });
}

std::string ip_text(int family, const std::string& bytes) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, bytes.data(), text, sizeof text);
  return text;
}

}  // namespace

std::string name::host() const {
  switch (kind) {
    case name_kind::wildcard: return text.substr(2);
    case name_kind::email: return text.substr(text.rfind('@') + 1);
    case name_kind::uri: {
      auto rest = std::string_view(text).substr(text.find("://") + 3);
      rest = rest.substr(0, rest.find_first_of("/?#"));
      if (auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);  // user info
      if (rest.starts_with('[')) return lower(rest.substr(1, rest.find(']') - 1));
      return lower(rest.substr(0, rest.rfind(':')));
    }
    default: return text;
  }
}

bool is_ip_address(std::string_view text) noexcept {
  if (text.empty() || text.size() > 45) return false;  // INET6_ADDRSTRLEN
  std::string bare(text);
  unsigned char bytes[16];
  return inet_pton(AF_INET, bare.c_str(), bytes) == 1 || inet_pton(AF_INET6, bare.c_str(), bytes) == 1;
}

name parse_name(std::string_view text, std::string_view field) {
  if (text.empty()) reject(field, text, "is empty");
  // No kind of name holds a control character; one that did could end a line in every file a
  // name reaches (github.env, hosts, a shell script) and start another.
  if (auto bad = std::find_if(text.begin(), text.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }); bad != text.end())
    reject(field, text, "holds a control character (" + printable(std::string_view(&*bad, 1)) + " at position " +
                            std::to_string(bad - text.begin() + 1) + "); names are printable text");
  if (text.find("://") != std::string_view::npos) {
    auto scheme = text.substr(0, text.find("://"));
    bool scheme_ok = !scheme.empty() && std::isalpha(static_cast<unsigned char>(scheme.front())) &&
                     std::all_of(scheme.begin(), scheme.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
                     });
    bool rest_ok = text.size() > scheme.size() + 3 &&
                   std::none_of(text.begin(), text.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)); });
    if (!scheme_ok || !rest_ok) reject(field, text, "is not a valid URI");
    return {name_kind::uri, std::string(text), {}};
  }
  if (auto at = text.find('@'); at != std::string_view::npos) {
    auto local = text.substr(0, at);
    auto domain = text.substr(at + 1);
    if (local.empty() || local.find_first_of(" \t@<>") != std::string_view::npos || !dns_problem(domain).empty())
      reject(field, text, "is not a valid email address");
    return {name_kind::email, std::string(local) + "@" + lower(domain), {}};
  }
  if (text.find(':') != std::string_view::npos) {
    std::string bare{text};
    if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') bare = bare.substr(1, bare.size() - 2);
    std::string bytes(16, '\0');
    if (inet_pton(AF_INET6, bare.c_str(), bytes.data()) != 1) reject(field, text, "is not a valid IPv6 address");
    return {name_kind::ipv6, ip_text(AF_INET6, bytes), bytes};
  }
  if (looks_like_ipv4(text)) {
    std::string bytes(4, '\0');
    if (inet_pton(AF_INET, std::string(text).c_str(), bytes.data()) != 1)
      reject(field, text, "is not a valid IPv4 address: four numbers 0-255, without leading zeros");
    return {name_kind::ipv4, ip_text(AF_INET, bytes), bytes};
  }
  if (text.starts_with("*.")) {
    auto base = text.substr(2);
    if (auto problem = dns_problem(base); !problem.empty()) reject(field, text, "is not a valid wildcard name: it " + problem);
    if (base.find('.') == std::string_view::npos)
      reject(field, text, "is a wildcard over a top-level name; use at least two labels after '*.'");
    return {name_kind::wildcard, lower(text), {}};
  }
  if (text.find('*') != std::string_view::npos)
    reject(field, text, "has a '*' that is not a whole leftmost label ('*.example.test' is the only wildcard form)");
  if (auto problem = dns_problem(text); !problem.empty())
    reject(field, text, "is not a valid DNS name or IP address: it " + problem);
  return {name_kind::dns, lower(text), {}};
}

namespace detail {

general_name_ptr to_general_name(const name& n) {
  general_name_ptr out{GENERAL_NAME_new()};
  asn1_octet_string_ptr value{ASN1_IA5STRING_new()};
  if (!out || !value) throw error::from_openssl("GENERAL_NAME_new", "building a subjectAltName");
  const std::string& bytes = n.ip_bytes.empty() ? n.text : n.ip_bytes;
  if (ASN1_STRING_set(value.get(), bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw error::from_openssl("ASN1_STRING_set", "building a subjectAltName");
  int type = GEN_DNS;
  switch (n.kind) {
    case name_kind::dns:
    case name_kind::wildcard: type = GEN_DNS; break;
    case name_kind::ipv4:
    case name_kind::ipv6: type = GEN_IPADD; break;
    case name_kind::uri: type = GEN_URI; break;
    case name_kind::email: type = GEN_EMAIL; break;
  }
  // set0 transfers ownership of the string into the GENERAL_NAME.
  GENERAL_NAME_set0_value(out.get(), type, value.release());
  return out;
}

name_constraints_ptr to_name_constraints(const std::vector<name_range>& permitted) {
  name_constraints_ptr constraints{NAME_CONSTRAINTS_new()};
  if (!constraints) throw error::from_openssl("NAME_CONSTRAINTS_new", "building name constraints");
  constraints->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
  if (constraints->permittedSubtrees == nullptr)
    throw error::from_openssl("sk_GENERAL_SUBTREE_new_null", "building name constraints");
  for (const auto& range : permitted) {
    general_subtree_ptr tree{GENERAL_SUBTREE_new()};
    if (!tree) throw error::from_openssl("GENERAL_SUBTREE_new", "building name constraints");
    // An IP range is the address followed by its mask, RFC 5280 4.2.1.10.
    name base = range.is_ip ? name{name_kind::ipv4, {}, range.address + range.mask} : name{name_kind::dns, range.dns, {}};
    auto replacement = to_general_name(base);  // may throw: the subtree is still untouched then
    // GENERAL_SUBTREE_new made an empty base; it goes when `replaced` does, the subtree owns the new one.
    general_name_ptr replaced{std::exchange(tree->base, replacement.release())};
    if (sk_GENERAL_SUBTREE_push(constraints->permittedSubtrees, tree.get()) == 0)
      throw error::from_openssl("sk_GENERAL_SUBTREE_push", "building name constraints");
    tree.release();  // the stack owns it now
  }
  return constraints;
}

std::vector<name_range> permitted_ranges(X509* cert, bool& constrained) {
  std::vector<name_range> out;
  int critical = 0;
  name_constraints_ptr constraints{
      static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_name_constraints, &critical, nullptr))};
  constrained = static_cast<bool>(constraints);
  if (!constraints || constraints->permittedSubtrees == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_SUBTREE_num(constraints->permittedSubtrees); ++i) {
    const GENERAL_NAME* base = sk_GENERAL_SUBTREE_value(constraints->permittedSubtrees, i)->base;
    int type = 0;
    auto* value = static_cast<ASN1_STRING*>(GENERAL_NAME_get0_value(base, &type));
    std::string bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                      static_cast<size_t>(ASN1_STRING_length(value)));
    name_range range;
    range.text = bytes;
    if (type == GEN_DNS) {
      range.dns = lower(bytes);
    } else if (type == GEN_IPADD && (bytes.size() == 8 || bytes.size() == 32)) {
      range.is_ip = true;
      range.address = bytes.substr(0, bytes.size() / 2);
      range.mask = bytes.substr(bytes.size() / 2);
    } else {
      continue;  // URI, email and directory constraints are left to the verifier
    }
    out.push_back(std::move(range));
  }
  return out;
}

}  // namespace detail

name_range parse_name_range(std::string_view text, std::string_view field) {
  name_range out;
  out.text = std::string(text);
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    std::string address{text.substr(0, slash)};
    std::string prefix{text.substr(slash + 1)};
    bool v6 = address.find(':') != std::string::npos;
    int family = v6 ? AF_INET6 : AF_INET;
    size_t size = v6 ? 16 : 4;
    out.is_ip = true;
    out.address.assign(size, '\0');
    if (inet_pton(family, address.c_str(), out.address.data()) != 1)
      reject(field, text, "is not a valid CIDR range: bad address");
    int bits = -1;
    if (!prefix.empty() && prefix.size() <= 3 && std::all_of(prefix.begin(), prefix.end(), ::isdigit)) bits = std::stoi(prefix);
    if (bits < 0 || bits > static_cast<int>(size * 8)) reject(field, text, "is not a valid CIDR range: bad prefix length");
    out.mask.assign(size, '\0');
    for (int i = 0; i < bits; ++i) out.mask[static_cast<size_t>(i / 8)] |= static_cast<char>(0x80 >> (i % 8));
    bool host_bits = false;
    std::string network = out.address;
    for (size_t i = 0; i < size; ++i) {
      host_bits = host_bits || (out.address[i] & ~out.mask[i]) != 0;
      network[i] = static_cast<char>(out.address[i] & out.mask[i]);
    }
    if (host_bits)
      reject(field, text, "is not a valid CIDR range: host bits are set (the block it lies in is " +
                              ip_text(family, network) + "/" + prefix + ")");
    return out;
  }
  std::string_view suffix = text.starts_with('.') ? text.substr(1) : text;
  if (auto problem = dns_problem(suffix); !problem.empty())
    reject(field, text, "is not a valid DNS name or CIDR range: it " + problem);
  out.dns = lower(suffix);
  return out;
}

bool name_range::contains(const name& n) const {
  if (is_ip) {
    if (!n.is_ip() || address.size() != n.ip_bytes.size()) return false;
    for (size_t i = 0; i < address.size(); ++i)
      if ((n.ip_bytes[i] & mask[i]) != address[i]) return false;
    return true;
  }
  if (!n.is_dns()) return false;
  std::string_view candidate = n.text;
  if (n.kind == name_kind::wildcard) candidate.remove_prefix(2);
  return candidate == dns || (candidate.size() > dns.size() && candidate.ends_with(dns) &&
                              candidate[candidate.size() - dns.size() - 1] == '.');
}

bool permits(const std::vector<name_range>& ranges, const name& n) {
  if (!n.is_ip() && !n.is_dns()) return true;
  bool any_of_kind = false;
  for (const auto& range : ranges) {
    if (range.is_ip != n.is_ip()) continue;
    any_of_kind = true;
    if (range.contains(n)) return true;
  }
  return !any_of_kind;
}

std::string url_host(std::string_view host) {
  if (host.find(':') == std::string_view::npos || host.starts_with('[')) return std::string(host);
  std::string out = "[";
  return out.append(host).append("]");
}

std::string authority(std::string_view host, std::uint16_t port) { return url_host(host) + ":" + std::to_string(port); }

std::string https_url(std::string_view host, std::uint16_t port, std::string_view path) {
  return "https://" + authority(host, port) + std::string(path.empty() ? "/" : path);
}

std::string_view to_string(name_kind kind) noexcept {
  switch (kind) {
    case name_kind::dns: return "dns";
    case name_kind::wildcard: return "wildcard";
    case name_kind::ipv4: return "ipv4";
    case name_kind::ipv6: return "ipv6";
    case name_kind::uri: return "uri";
    case name_kind::email: return "email";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& out, name_kind kind) { return out << to_string(kind); }
std::ostream& operator<<(std::ostream& out, const name& n) { return out << n.kind << " '" << n.text << "'"; }
std::ostream& operator<<(std::ostream& out, const name_range& range) {
  return out << (range.is_ip ? "address range '" : "DNS suffix '") << range.text << "'";
}

}  // namespace tlsfix::ca
