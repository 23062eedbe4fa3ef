// What a user of the installed package writes first: a CA, a leaf, and strict verification of it.
#include <iostream>

#include <tlsfix/ca.hpp>

int main() {
  try {
    auto ca = tlsfix::ca::certificate_authority::create();
    auto leaf = ca.issue({.names = {"service.test.local", "127.0.0.1"}});
    auto good = tlsfix::ca::verify(leaf.cert(), {.roots = {ca.root()}, .untrusted = leaf.chain(),
                                                 .name = "service.test.local"});
    // A check that cannot fail proves nothing: the wrong name must be refused.
    auto wrong = tlsfix::ca::verify(leaf.cert(), {.roots = {ca.root()}, .untrusted = leaf.chain(),
                                                  .name = "other.test.local"});
    if (!good.ok() || wrong.ok()) {
      std::cerr << "verification: good=" << good.message() << " wrong=" << wrong.message() << '\n';
      return 1;
    }
    std::cout << "verified " << leaf.cert().subject_alt_names().front() << " up to " << ca.root().subject() << '\n';
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "tlsfix consumer: " << e.what() << '\n';
    return 1;
  }
}
