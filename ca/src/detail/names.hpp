// Private: names and ranges as OpenSSL structures (see <tlsfix/ca/names.hpp> for the text forms).
#pragma once

#include <openssl/types.h>

#include <vector>

#include "tlsfix/ca/handles.hpp"
#include "tlsfix/ca/names.hpp"

namespace tlsfix::ca::detail {

general_name_ptr to_general_name(const name& n);
name_constraints_ptr to_name_constraints(const std::vector<name_range>& permitted);
// The permitted DNS and IP ranges of a certificate's name constraints (empty when it has none).
// `constrained` is set when the certificate has name constraints at all.
std::vector<name_range> permitted_ranges(X509* cert, bool& constrained);

}  // namespace tlsfix::ca::detail
