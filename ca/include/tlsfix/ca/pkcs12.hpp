// Reading PKCS#12 (.p12, .pfx) files that come from outside: Java keystores, macOS, Windows,
// `openssl pkcs12 -export`, and anything a hostile peer might hand over.
//
// A PKCS#12 file chooses its own key-derivation cost: each of its encryptions and its MAC names an
// iteration count, and PKCS12_parse would run whatever it says (a billion iterations is minutes of
// CPU). read_pkcs12 walks the structure itself instead and adds up every derivation it would run
// before running it: more than `pkcs12_iteration_budget` in one file is refused, naming the count.
// It also refuses what it cannot vouch for: no MAC (nothing shows the password protects the
// contents), public-key integrity or privacy mode, scrypt, and the legacy ciphers RC2, RC4 and single
// DES. It reads PBES2 (PBKDF2 with AES-CBC or 3DES), which OpenSSL 3 writes by default, and PKCS#12
// PBE with 3DES, which Java and macOS still write. Every refusal is a `tlsfix::error` naming `what`.
//
//   auto der = tlsfix::ca::read_file("keystore.p12", tlsfix::ca::pkcs12_size_limit);
//   auto p12 = tlsfix::ca::read_pkcs12(der, "changeit", "keystore.p12");
//   if (p12.leaf) std::cout << *p12.leaf << '\n';      // the certificate of p12.key
//   auto result = tlsfix::ca::verify(*p12.leaf, {.roots = {root}, .untrusted = p12.chain,
//                                                .name = "service.test.local"});
//   // wrong password:  "keystore.p12: wrong password (the MAC does not verify)"
//   // openssl -legacy: "keystore.p12: the certificates are encrypted with RC2-40 (openssl pkcs12
//   //                  -legacy), which tlsfix refuses; re-export with AES-256"
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "tlsfix/ca/certificate.hpp"
#include "tlsfix/ca/private_key.hpp"

namespace tlsfix::ca {

// Larger than any real keystore of a few certificates; bounds parsing time and memory.
inline constexpr std::size_t pkcs12_size_limit = 1024 * 1024;

// All key derivations of one file together (the MAC's, every encryption's), in PRF iterations:
// 1,000,000 PBKDF2-HMAC-SHA256 iterations take 0.25-0.4 s here (see pkcs12.cpp), so a file costs
// under a second of CPU. Real files need far less: OpenSSL writes 3 x 2,048, Java 3 x 10,000.
inline constexpr std::uint64_t pkcs12_iteration_budget = 2'000'000;

struct pkcs12_contents {
  // The private key, when the file has one (it may hold only certificates).
  std::optional<private_key> key;
  // The certificate of `key`; without a key, the first certificate. Empty only when the file has
  // no certificate at all.
  std::optional<certificate> leaf;
  // The other certificates, in file order: intermediates, maybe a root. Untrusted.
  std::vector<certificate> chain;
};

// `der` is the whole file. Throws `error` naming `what` when it is not PKCS#12, is empty,
// truncated, larger than pkcs12_size_limit or followed by other bytes, when the password is wrong,
// or when it would cost more than pkcs12_iteration_budget or uses a scheme listed above as refused.
pkcs12_contents read_pkcs12(std::string_view der, std::string_view password, std::string_view what = "PKCS#12");

// Whether `data` is a PKCS#12 structure and nothing more, judged without the password and without
// deriving any key: for tools that take several formats in one argument.
bool is_pkcs12(std::string_view data) noexcept;

}  // namespace tlsfix::ca
