// Private: certificates that are wrong on purpose, which certificate_authority refuses to make.
#pragma once

#include <string>

#include "detail/server_impl.hpp"
#include "tlsfix/ca/certificate_authority.hpp"

namespace tlsfix::harness::detail {

// A leaf signed by its own key.
identity_entry self_signed_leaf(const std::string& host);
// A root with the trusted root's subject and subject key identifier but another key, and a leaf
// it signed: a client that matches issuers by name or key id alone would accept it.
identity_entry lookalike_root_leaf(const ca::certificate_authority& trusted, const std::string& host);
// A leaf for `host` that also says CA:TRUE (and keyCertSign).
identity_entry ca_leaf(const ca::certificate_authority& issuer, const std::string& host);
// CN=host and no subjectAltName at all.
identity_entry common_name_only_leaf(const ca::certificate_authority& issuer, const std::string& host);
// A correct leaf signed with SHA-1.
identity_entry sha1_leaf(const ca::certificate_authority& issuer, const std::string& host);
// A correct leaf with an RSA-1024 key.
identity_entry rsa1024_leaf(const ca::certificate_authority& issuer, const std::string& host);
// A leaf for a name the (constrained) issuer may not vouch for.
identity_entry unconstrained_leaf(const ca::certificate_authority& issuer, const std::string& host);
// The intermediate presented as the server's certificate with its own key, the leaf after it.
identity_entry reversed_chain(const ca::certificate_authority& root, const std::string& host);

}  // namespace tlsfix::harness::detail
