// tlsfix::harness — real TLS servers on loopback and clients that always verify.
//
//   #include <tlsfix/harness.hpp>
//
//   auto ca = tlsfix::ca::certificate_authority::create();
//   auto server = tlsfix::harness::tls_server::start(ca.issue("service.test.local"),
//                                                    tlsfix::harness::echo());
//   EXPECT_EQ(server.client().exchange_line("ping"), "ping");
#pragma once

#include "tlsfix/ca.hpp"
#include "tlsfix/harness/handshake_record.hpp"
#include "tlsfix/harness/impostor.hpp"
#include "tlsfix/harness/nss_wrapper.hpp"
#include "tlsfix/harness/test_client.hpp"
#include "tlsfix/harness/tls_failure.hpp"
#include "tlsfix/harness/tls_server.hpp"
#include "tlsfix/harness/tls_version.hpp"
#include "tlsfix/harness/trust.hpp"
