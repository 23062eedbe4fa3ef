// Private: what a name string in a cert_request or a name constraint means.
#pragma once

#include <openssl/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "tlsfix/ca/handles.hpp"

namespace tlsfix::ca::detail {

enum class name_kind { dns, wildcard, ipv4, ipv6, uri, email };

struct parsed_name {
  name_kind kind;
  std::string text;      // normalised: lower-case DNS, canonical IP text
  std::string ip_bytes;  // 4 or 16 bytes for IP names
};

// Throws `error` "<field>: '<text>' <reason>".
parsed_name parse_name(std::string_view text, const std::string& field);
general_name_ptr to_general_name(const parsed_name& name);

// One permitted subtree of a name constraint: a DNS suffix or an IP range.
struct subtree {
  bool is_ip = false;
  std::string dns;              // "test.local" permits it and every name below it
  std::string address, mask;    // equal length, 4 or 16 bytes
  std::string text;             // as the user wrote it, for messages
};

// "test.local", "10.0.0.0/8", "fd00::/8"; throws `error` naming `field`.
subtree parse_subtree(std::string_view text, const std::string& field);
name_constraints_ptr to_name_constraints(const std::vector<subtree>& permitted);
// The permitted DNS and IP subtrees of a certificate's name constraints (empty when it has none).
// `constrained` is set when the certificate has name constraints at all.
std::vector<subtree> permitted_subtrees(X509* cert, bool& constrained);

// Whether `name` lies within `permitted` as RFC 5280 reads it: a kind with no subtree of its
// own (URI, email; DNS or IP when only the other is listed) is not constrained.
bool permits(const std::vector<subtree>& permitted, const parsed_name& name);

}  // namespace tlsfix::ca::detail
