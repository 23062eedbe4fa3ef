// tlsfix::ca — an ephemeral, in-process certificate authority for tests.
//
//   #include <tlsfix/ca.hpp>
//
//   auto ca = tlsfix::ca::certificate_authority::create();
//   auto leaf = ca.issue("service.test.local");
//   auto result = tlsfix::ca::verify(leaf.cert(), {.roots = {ca.root()}, .untrusted = leaf.chain(),
//                                                  .name = "service.test.local"});
//   assert(result.ok());
#pragma once

#include "tlsfix/ca/cert_request.hpp"
#include "tlsfix/ca/certificate.hpp"
#include "tlsfix/ca/certificate_authority.hpp"
#include "tlsfix/ca/crl.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/ca/files.hpp"
#include "tlsfix/ca/issued_cert.hpp"
#include "tlsfix/ca/names.hpp"
#include "tlsfix/ca/pkcs12.hpp"
#include "tlsfix/ca/private_key.hpp"
#include "tlsfix/ca/verify.hpp"
#include "tlsfix/version.hpp"
