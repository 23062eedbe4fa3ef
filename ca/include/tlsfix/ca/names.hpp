// Names a certificate can carry, and the ranges a CA may vouch for: one parser for every layer.
//
// A name is a DNS name, a wildcard ("*.svc.test"), an IPv4 or IPv6 address, a URI
// ("spiffe://test.local/ns/a", anything with "://") or an email ("ops@test.local"); its kind is
// found from the text, as `cert_request.names` finds it. A range, what a root's name constraints
// permit, is a DNS suffix ("test.local" covers it and every name below it) or a CIDR block
// ("10.0.0.0/8", host bits clear). Text that is neither throws `tlsfix::error` with the field the
// caller names, so a CLI reports "--allow-name" and a spec reader "tls.yaml:4:7: ca.allow_names[0]".
//
//   auto name = tlsfix::ca::parse_name("Service.Test.Local", "--service");   // kind dns
//   assert(name.text == "service.test.local");
//   auto range = tlsfix::ca::parse_name_range("10.0.0.0/8", "--allow-name");
//   assert(!range.contains(name) && range.contains(tlsfix::ca::parse_name("10.1.2.3", "ip")));
//   assert(tlsfix::ca::https_url("::1", 8443) == "https://[::1]:8443/");
#pragma once

#include <iosfwd>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tlsfix::ca {

enum class name_kind { dns, wildcard, ipv4, ipv6, uri, email };

struct name {
  name_kind kind = name_kind::dns;
  std::string text;      // normalised: lower-case DNS names and email domains, canonical IP text
  std::string ip_bytes;  // 4 or 16 bytes for an IP address, else empty

  bool is_ip() const noexcept { return kind == name_kind::ipv4 || kind == name_kind::ipv6; }
  bool is_dns() const noexcept { return kind == name_kind::dns || kind == name_kind::wildcard; }
  // What the name speaks for: the name itself ("*." taken off a wildcard), an email's domain, a
  // URI's host. Empty for a URI without one.
  std::string host() const;
};

// Any of the kinds above; "[::1]" is taken as "::1". Throws `tlsfix::error` "<field>: '<text>' <why>".
name parse_name(std::string_view text, std::string_view field);
// An IPv4 or IPv6 address (no brackets, no port), exactly as parse_name would take it.
bool is_ip_address(std::string_view text) noexcept;

struct name_range {
  bool is_ip = false;
  std::string dns;            // "test.local": it and every name below it
  std::string address, mask;  // equal length, 4 or 16 bytes
  std::string text;           // as written, for messages

  // Whether `n` lies in this range: a DNS name (or a wildcard's base) at or below the suffix, an
  // address in the block. Names of another kind are never in it.
  bool contains(const name& n) const;
};

// "test.local", ".test.local" (the same), "10.0.0.0/8", "fd00::/8". Throws `tlsfix::error` naming
// `field`, e.g. for host bits set ("10.0.0.1/8": the block is 10.0.0.0/8).
name_range parse_name_range(std::string_view text, std::string_view field);

// Whether `n` is within `ranges` as RFC 5280 reads name constraints: a name whose kind (DNS, IP)
// has no range of its own in the list is not constrained; URIs and emails never are.
bool permits(const std::vector<name_range>& ranges, const name& n);

std::string_view to_string(name_kind kind) noexcept;  // "dns", "wildcard", "ipv4", ...
std::ostream& operator<<(std::ostream& out, name_kind kind);
std::ostream& operator<<(std::ostream& out, const name& n);         // "dns 'service.test.local'"
std::ostream& operator<<(std::ostream& out, const name_range& range);  // as written

// "[::1]" for an IPv6 address, the host itself otherwise: a host as URLs and curl --resolve write it.
std::string url_host(std::string_view host);
// "service.test.local:8443", "[::1]:8443".
std::string authority(std::string_view host, std::uint16_t port);
// "https://service.test.local:8443/", "https://[::1]:8443/health".
std::string https_url(std::string_view host, std::uint16_t port, std::string_view path = "/");

}  // namespace tlsfix::ca
