// Private: signing a CRL for a CA.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tlsfix/ca/cert_request.hpp"
#include "tlsfix/ca/certificate.hpp"
#include "tlsfix/ca/crl.hpp"
#include "tlsfix/ca/private_key.hpp"

namespace tlsfix::ca::detail {

// `revoked` holds (serial in hex, revocation time); `number` is the CRL number extension.
ca::crl make_crl(const certificate& issuer, const private_key& issuer_key,
                 const std::vector<std::pair<std::string, clock::time_point>>& revoked, long number);

}  // namespace tlsfix::ca::detail
