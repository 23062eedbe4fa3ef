// What tlsfix::ca costs, next to what the OpenSSL work it cannot avoid costs, in one binary so
// that both are measured on the same machine in the same run (bench/compare.py prints the ratios).
//
// Names are "<what>/<key type>": tlsfix figures under "ca/", the OpenSSL reference under "openssl/".
// A leaf issuance must at least generate one key and make one signature, so
// openssl/keygen_sign/ecdsa-p256 is the floor for ca/issue_leaf/ecdsa-p256.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <string>

#include "tlsfix/ca.hpp"

namespace {

namespace ca = tlsfix::ca;

constexpr std::array kKeyTypes{ca::key_type::ecdsa_p256, ca::key_type::ecdsa_p384, ca::key_type::ed25519,
                               ca::key_type::rsa_2048};
// Roughly a leaf's to-be-signed part: what X509_sign hashes and signs.
const std::string kTbs(300, 'x');

std::string name(const char* what, ca::key_type type) { return std::string(what) + "/" + std::string(ca::to_string(type)); }

// RSA figures wander between runs: key generation is a prime search of random length.
void create_root(benchmark::State& state, ca::key_type type) {
  for (auto _ : state) benchmark::DoNotOptimize(ca::certificate_authority::create({.key = type}));
}

void issue_leaf(benchmark::State& state, ca::key_type type) {
  auto authority = ca::certificate_authority::create();
  for (auto _ : state) benchmark::DoNotOptimize(authority.issue({.names = {"service.test.local"}, .key = type}));
}

void issue_leaf_reused_key(benchmark::State& state, ca::key_type type) {
  auto authority = ca::certificate_authority::create();
  auto key = ca::private_key::generate(type);
  for (auto _ : state) benchmark::DoNotOptimize(authority.issue({.names = {"service.test.local"}, .key = key}));
}

void verify_chain(benchmark::State& state, int intermediates) {
  auto authority = ca::certificate_authority::create();
  auto issuer = authority;
  for (int i = 0; i < intermediates; ++i) issuer = issuer.make_intermediate();
  auto leaf = issuer.issue("service.test.local");
  ca::verify_options options{.roots = {leaf.root()}, .untrusted = leaf.chain(), .name = "service.test.local"};
  for (auto _ : state) {
    auto result = ca::verify(leaf.cert(), options);
    if (!result.ok()) state.SkipWithError(result.message().c_str());
    benchmark::DoNotOptimize(result);
  }
}

// ---- the OpenSSL reference: the same primitives, called directly -----------------------------------

ca::evp_pkey_ptr raw_keygen(ca::key_type type) {
  switch (type) {
    case ca::key_type::ecdsa_p256: return ca::evp_pkey_ptr{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
    case ca::key_type::ecdsa_p384: return ca::evp_pkey_ptr{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384")};
    case ca::key_type::ed25519: return ca::evp_pkey_ptr{EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")};
    default: return ca::evp_pkey_ptr{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})};
  }
}

// The digest tlsfix pairs with each key type (Ed25519 hashes internally).
const char* digest(ca::key_type type) {
  switch (type) {
    case ca::key_type::ecdsa_p384: return "SHA384";
    case ca::key_type::ed25519: return nullptr;
    default: return "SHA256";
  }
}

void raw_sign(EVP_PKEY* key, ca::key_type type, benchmark::State& state) {
  ca::evp_md_ctx_ptr ctx{EVP_MD_CTX_new()};
  unsigned char sig[512];
  size_t length = sizeof sig;
  const auto* data = reinterpret_cast<const unsigned char*>(kTbs.data());
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, digest(type), nullptr, nullptr, key, nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &length, data, kTbs.size()) != 1)
    state.SkipWithError("EVP_DigestSign failed");
  benchmark::DoNotOptimize(sig);
}

void openssl_keygen(benchmark::State& state, ca::key_type type) {
  for (auto _ : state) {
    auto key = raw_keygen(type);
    if (!key) state.SkipWithError("EVP_PKEY_Q_keygen failed");
    benchmark::DoNotOptimize(key);
  }
}

void openssl_sign(benchmark::State& state, ca::key_type type) {
  auto key = raw_keygen(type);
  for (auto _ : state) raw_sign(key.get(), type, state);
}

// Keygen for the subject plus a signature by a fixed issuer key: exactly the crypto of one issuance.
void openssl_keygen_sign(benchmark::State& state, ca::key_type type) {
  auto issuer = raw_keygen(ca::key_type::ecdsa_p256);
  for (auto _ : state) {
    auto key = raw_keygen(type);
    benchmark::DoNotOptimize(key);
    raw_sign(issuer.get(), ca::key_type::ecdsa_p256, state);
  }
}

// One ECDSA P-256 signature check: the floor for verifying each link of a chain.
void openssl_verify(benchmark::State& state, ca::key_type type) {
  auto key = raw_keygen(type);
  ca::evp_md_ctx_ptr sign_ctx{EVP_MD_CTX_new()};
  unsigned char sig[512];
  size_t length = sizeof sig;
  const auto* data = reinterpret_cast<const unsigned char*>(kTbs.data());
  if (!sign_ctx || EVP_DigestSignInit_ex(sign_ctx.get(), nullptr, digest(type), nullptr, nullptr, key.get(), nullptr) != 1 ||
      EVP_DigestSign(sign_ctx.get(), sig, &length, data, kTbs.size()) != 1)
    state.SkipWithError("EVP_DigestSign failed");
  for (auto _ : state) {
    ca::evp_md_ctx_ptr ctx{EVP_MD_CTX_new()};
    if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, digest(type), nullptr, nullptr, key.get(), nullptr) != 1 ||
        EVP_DigestVerify(ctx.get(), sig, length, data, kTbs.size()) != 1)
      state.SkipWithError("EVP_DigestVerify failed");
  }
}

// Parsing one certificate from DER. OpenSSL 3.0 builds a provider decoder chain for its public
// key every time (~250 us): a cost every holder of a usable X509 object pays, tlsfix's issuer
// included, since the certificate it returns must carry its decoded key.
std::string p256_leaf_der() { return ca::certificate_authority::create().issue("service.test.local").cert().to_der(); }

void openssl_parse_certificate(benchmark::State& state) {
  auto der = p256_leaf_der();
  for (auto _ : state) {
    const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
    ca::x509_ptr cert{d2i_X509(nullptr, &cursor, static_cast<long>(der.size()))};
    if (!cert) state.SkipWithError("d2i_X509 failed");
    benchmark::DoNotOptimize(cert);
  }
}

// The same parse plus OpenSSL's extension cache (flags, key identifiers, SHA-1 hash), which any
// verification fills on first use. tlsfix fills it when a certificate is made, before threads can
// share it (see certificate.cpp), so this is the floor for what issuance returns.
void openssl_parse_and_cache_certificate(benchmark::State& state) {
  auto der = p256_leaf_der();
  for (auto _ : state) {
    const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
    ca::x509_ptr cert{d2i_X509(nullptr, &cursor, static_cast<long>(der.size()))};
    if (!cert) state.SkipWithError("d2i_X509 failed");
    benchmark::DoNotOptimize(X509_get_extension_flags(cert.get()));
  }
}

void register_all() {
  for (auto type : kKeyTypes) {
    benchmark::RegisterBenchmark(name("ca/create_root", type).c_str(), create_root, type)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(name("ca/issue_leaf", type).c_str(), issue_leaf, type)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(name("ca/issue_leaf_reused_key", type).c_str(), issue_leaf_reused_key, type)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("ca/verify/root_leaf", verify_chain, 0)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("ca/verify/root_intermediate_leaf", verify_chain, 1)->Unit(benchmark::kMicrosecond);
  for (auto type : kKeyTypes) {
    benchmark::RegisterBenchmark(name("openssl/keygen", type).c_str(), openssl_keygen, type)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(name("openssl/sign", type).c_str(), openssl_sign, type)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(name("openssl/keygen_sign", type).c_str(), openssl_keygen_sign, type)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("openssl/verify/ecdsa-p256", openssl_verify, ca::key_type::ecdsa_p256)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("openssl/parse_certificate/ecdsa-p256", openssl_parse_certificate)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("openssl/parse_and_cache_certificate/ecdsa-p256", openssl_parse_and_cache_certificate)
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
