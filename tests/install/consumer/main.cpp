// What a user of the installed package writes first: a CA, a leaf, strict verification of it, and a
// real server that the user's own (older) client code verifies by name.
#include <iostream>

#include <tlsfix/harness.hpp>

#include "legacy_client.hpp"

#ifndef EXPECTED_TLSFIX_VERSION
#error "build with -DEXPECTED_TLSFIX_VERSION=\"x.y.z\""
#endif

int main() {
  try {
    if (tlsfix::version() != TLSFIX_VERSION_STRING || tlsfix::version() != EXPECTED_TLSFIX_VERSION) {
      std::cerr << "version: library " << tlsfix::version() << ", headers " << TLSFIX_VERSION_STRING << ", expected "
                << EXPECTED_TLSFIX_VERSION << '\n';
      return 1;
    }
    auto ca = tlsfix::ca::certificate_authority::create();
    auto leaf = ca.issue({.names = {"service.test.local", "127.0.0.1"}});
    auto good = tlsfix::ca::verify(leaf.cert(), {.roots = {ca.root()}, .untrusted = leaf.chain(),
                                                 .name = "service.test.local"});
    // A check that cannot fail proves nothing: the wrong name must be refused.
    auto wrong = tlsfix::ca::verify(leaf.cert(), {.roots = {ca.root()}, .untrusted = leaf.chain(),
                                                  .name = "other.test.local"});
    if (!good.ok() || wrong.error != X509_V_ERR_HOSTNAME_MISMATCH) {
      std::cerr << "verification: good=" << good.message() << " wrong=" << wrong.message() << '\n';
      return 1;
    }

    auto server = tlsfix::harness::tls_server::start(leaf, tlsfix::harness::echo());
    std::string error;
    if (!legacy_https_handshake("service.test.local", server.port(), ca.root().to_pem(), error)) {
      std::cerr << "legacy client against the right name: " << error << '\n';
      return 1;
    }
    auto other = tlsfix::ca::certificate_authority::create();
    if (legacy_https_handshake("service.test.local", server.port(), other.root().to_pem(), error)) {
      std::cerr << "legacy client accepted a server from a CA it does not trust\n";
      return 1;
    }
    std::cout << "tlsfix " << tlsfix::version() << ": verified " << leaf.cert().subject_alt_names().front() << " up to "
              << ca.root().subject() << "; a legacy client verified it live and refused another CA (" << error << ")\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "tlsfix consumer: " << e.what() << '\n';
    return 1;
  }
}
