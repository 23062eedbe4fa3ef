// tlsfix chains judged by verifiers tlsfix does not control: the `openssl` and GnuTLS `certtool`
// command-line tools, run as real processes. Every positive case is paired with negative controls
// that must fail in both tools for the specific, named reason, so a tool that rejects everything
// (or accepts everything) cannot make this suite pass.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <cstring>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "support.hpp"
#include "tlsfix/ca.hpp"

namespace {

namespace fs = std::filesystem;
namespace ca = tlsfix::ca;
using ::testing::HasSubstr;

constexpr const char* kHost = "service.test.local";
constexpr const char* kIp = "127.0.0.1";

using tool_run = tlsfix::test::run_result;

bool on_path(const std::string& tool) { return tlsfix::test::have_program(tool); }

// Arguments reach the tool exactly as given, with no shell to quote for.
tool_run run(const std::vector<std::string>& args) { return tlsfix::test::run(args); }

// A leaf that tlsfix's issuer would refuse to make: a name outside the root's constraints, signed
// with the root's own key through raw OpenSSL calls.
ca::certificate forge_outside_constraints(const ca::certificate_authority& authority, const std::string& name) {
  ca::evp_pkey_ptr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  ca::x509_ptr cert{X509_new()};
  ca::asn1_integer_ptr serial{ASN1_INTEGER_new()};
  ca::x509_name_ptr subject{X509_NAME_new()};
  if (!key || !cert || !serial || !subject || ASN1_INTEGER_set_int64(serial.get(), 0x7a11ed5e12a1) != 1 ||
      X509_set_version(cert.get(), X509_VERSION_3) != 1 || X509_set_serialNumber(cert.get(), serial.get()) != 1 ||
      X509_NAME_add_entry_by_txt(subject.get(), "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("forged"), -1,
                                 -1, 0) != 1 ||
      X509_set_subject_name(cert.get(), subject.get()) != 1 ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(authority.cert().native())) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400) == nullptr || X509_set_pubkey(cert.get(), key.get()) != 1)
    throw std::runtime_error("forging a certificate: building failed");
  std::string san = "DNS:" + name;
  const std::pair<int, const char*> extensions[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},    {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth"},               {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"},  {NID_subject_alt_name, san.c_str()},
  };
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, authority.cert().native(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensions) {
    ca::x509_extension_ptr ext{X509V3_EXT_conf_nid(nullptr, &ctx, nid, value)};
    if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1)
      throw std::runtime_error(std::string("forging a certificate: extension ") + value);
  }
  if (X509_sign(cert.get(), authority.key().native(), EVP_sha256()) <= 0)
    throw std::runtime_error("forging a certificate: X509_sign failed");
  return ca::certificate::from_native(cert.get());
}

class Interop : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"openssl", "certtool"})
      if (!on_path(tool))
        GTEST_SKIP() << tool << " is not on PATH; ci/install-deps installs openssl and gnutls-bin for these tests";
    std::string pattern = (fs::temp_directory_path() / "tlsfix-interop-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  std::string write(const std::string& name, std::string_view contents,
                    ca::file_mode mode = ca::file_mode::public_read) {
    auto path = dir_ / name;
    ca::write_file(path, contents, mode);
    return path.string();
  }

  // Writes ca.pem, chain.pem (intermediates only), leaf.pem and fullchain.pem for the verify
  // helpers; each call gets its own subdirectory because tlsfix never overwrites a file.
  void write_chain(const ca::certificate& root, const std::vector<ca::certificate>& chain) {
    std::string sub = "chain" + std::to_string(chains_++) + "/";
    ca::create_private_directory(dir_ / sub);
    ca_pem_ = write(sub + "ca.pem", root.to_pem());
    leaf_pem_ = write(sub + "leaf.pem", chain.front().to_pem());
    fullchain_pem_ = write(sub + "fullchain.pem", ca::to_pem(chain));
    chain_pem_.clear();
    if (chain.size() > 1) chain_pem_ = write(sub + "chain.pem", ca::to_pem({chain.begin() + 1, chain.end()}));
  }

  // `openssl verify` in its strictest useful form; `name_flag` is -verify_hostname or -verify_ip.
  tool_run openssl_verify(const std::string& name_flag, const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"openssl", "verify", "-x509_strict", "-purpose", "sslserver", name_flag, name,
                                  "-CAfile", ca_pem_};
    if (!chain_pem_.empty()) args.insert(args.end(), {"-untrusted", chain_pem_});
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(leaf_pem_);
    return run(args);
  }

  tool_run certtool_verify(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"certtool", "--verify", "--load-ca-certificate", ca_pem_, "--infile", fullchain_pem_,
                                  "--verify-hostname", name};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }

  fs::path dir_;
  int chains_ = 0;
  std::string ca_pem_, chain_pem_, leaf_pem_, fullchain_pem_;
};

void expect_openssl_ok(const tool_run& r) {
  EXPECT_EQ(r.exit_status, 0) << r;
  EXPECT_THAT(r.output, HasSubstr(": OK")) << r;
}

void expect_certtool_ok(const tool_run& r) {
  EXPECT_EQ(r.exit_status, 0) << r;
  EXPECT_THAT(r.output, HasSubstr("Chain verification output: Verified. The certificate is trusted.")) << r;
}

void expect_openssl_fails(const tool_run& r, const std::string& reason) {
  EXPECT_NE(r.exit_status, 0) << r;
  EXPECT_THAT(r.output, HasSubstr(reason)) << r;
}

void expect_certtool_fails(const tool_run& r, const std::string& reason) {
  EXPECT_NE(r.exit_status, 0) << r;
  EXPECT_THAT(r.output, HasSubstr("The certificate is NOT trusted.")) << r;
  EXPECT_THAT(r.output, HasSubstr(reason)) << r;
}

// ---- chains that must verify: every key type, at three depths ------------------------------------

using chain_shape = std::tuple<ca::key_type, int>;  // key type of every certificate, intermediates

class InteropChain : public Interop, public ::testing::WithParamInterface<chain_shape> {};

TEST_P(InteropChain, VerifiesInOpensslAndGnutlsByNameAndIp) {
  auto [key, intermediates] = GetParam();
  auto issuer = ca::certificate_authority::create({.key = key});
  for (int i = 0; i < intermediates; ++i) issuer = issuer.make_intermediate({.key = key});
  auto leaf = issuer.issue({.names = {kHost, kIp}, .key = key});
  ASSERT_EQ(leaf.chain().size(), static_cast<size_t>(intermediates) + 1);
  write_chain(leaf.root(), leaf.chain());

  expect_openssl_ok(openssl_verify("-verify_hostname", kHost));
  expect_openssl_ok(openssl_verify("-verify_ip", kIp));
  expect_certtool_ok(certtool_verify(kHost));
  expect_certtool_ok(certtool_verify(kIp));
}

std::string shape_name(const ::testing::TestParamInfo<chain_shape>& info) {
  std::string out;
  for (char c : ca::to_string(std::get<0>(info.param)))
    if (std::isalnum(static_cast<unsigned char>(c))) out += c;
  static const char* const depth[] = {"_RootOnly", "_OneIntermediate", "_TwoIntermediates"};
  return out + depth[std::get<1>(info.param)];
}

INSTANTIATE_TEST_SUITE_P(KeysAndDepths, InteropChain,
                         ::testing::Combine(::testing::Values(ca::key_type::ecdsa_p256, ca::key_type::ecdsa_p384,
                                                              ca::key_type::ed25519, ca::key_type::rsa_2048),
                                            ::testing::Values(0, 1, 2)),
                         shape_name);

// ---- negative controls: each must fail in both tools, for the named reason -----------------------

TEST_F(Interop, WrongHostnameFailsInBoth) {
  auto authority = ca::certificate_authority::create();
  auto sub = authority.make_intermediate();
  auto leaf = sub.issue({.names = {kHost, kIp}});
  write_chain(leaf.root(), leaf.chain());

  expect_openssl_fails(openssl_verify("-verify_hostname", "other.test.local"), "error 62 at 0 depth lookup: hostname mismatch");
  expect_openssl_fails(openssl_verify("-verify_ip", "127.0.0.2"), "IP address mismatch");
  expect_certtool_fails(certtool_verify("other.test.local"), "The name in the certificate does not match the expected.");
}

TEST_F(Interop, ExpiredLeafFailsInBoth) {
  auto authority = ca::certificate_authority::create();
  auto leaf = authority.issue({.names = {kHost}, .validity = ca::validity::expired()});
  write_chain(leaf.root(), leaf.chain());

  expect_openssl_fails(openssl_verify("-verify_hostname", kHost), "certificate has expired");
  expect_certtool_fails(certtool_verify(kHost), "The certificate chain uses expired certificate.");
}

TEST_F(Interop, UnknownRootFailsInBoth) {
  auto authority = ca::certificate_authority::create();
  auto stranger = ca::certificate_authority::create();
  auto leaf = authority.make_intermediate().issue(kHost);
  write_chain(stranger.root(), leaf.chain());

  expect_openssl_fails(openssl_verify("-verify_hostname", kHost), "unable to get local issuer certificate");
  expect_certtool_fails(certtool_verify(kHost), "The certificate issuer is unknown.");
}

TEST_F(Interop, RevokedLeafFailsInBothWithTlsfixCrl) {
  auto authority = ca::certificate_authority::create();
  auto leaf = authority.issue(kHost);
  auto bystander = authority.issue("other.test.local");
  authority.revoke(leaf.cert());
  auto crl = write("crl.pem", authority.crl().to_pem());
  write_chain(leaf.root(), leaf.chain());

  expect_openssl_fails(openssl_verify("-verify_hostname", kHost, {"-crl_check", "-CRLfile", crl}), "certificate revoked");
  expect_certtool_fails(certtool_verify(kHost, {"--load-crl", crl}), "The certificate chain is revoked.");

  // The same CRL must not condemn a certificate it does not list.
  write_chain(bystander.root(), bystander.chain());
  expect_openssl_ok(openssl_verify("-verify_hostname", "other.test.local", {"-crl_check", "-CRLfile", crl}));
  expect_certtool_ok(certtool_verify("other.test.local", {"--load-crl", crl}));
}

TEST_F(Interop, NameOutsideRootConstraintsFailsInBoth) {
  auto authority = ca::certificate_authority::create();
  // Forged with the root's key because tlsfix itself refuses to issue outside its constraints.
  auto forged = forge_outside_constraints(authority, "www.example.com");
  write_chain(authority.root(), {forged});

  expect_openssl_fails(openssl_verify("-verify_hostname", "www.example.com"), "permitted subtree violation");
  expect_certtool_fails(certtool_verify("www.example.com"), "The certificate chain violates the signer's constraints.");

  // Positive control: the same forging path, inside the constraints, is accepted by both.
  write_chain(authority.root(), {forge_outside_constraints(authority, "forged.test.local")});
  expect_openssl_ok(openssl_verify("-verify_hostname", "forged.test.local"));
  expect_certtool_ok(certtool_verify("forged.test.local"));
}

// ---- containers: PKCS#12 and CRL ----------------------------------------------------------------

TEST_F(Interop, OpensslReadsPkcs12WithoutLegacyProvider) {
  auto authority = ca::certificate_authority::create();
  auto leaf = authority.make_intermediate().issue(kHost);
  auto p12 = write("leaf.p12", leaf.pkcs12("s3cret-pass"), ca::file_mode::secret);

  auto info = run({"openssl", "pkcs12", "-info", "-noout", "-passin", "pass:s3cret-pass", "-in", p12});
  EXPECT_EQ(info.exit_status, 0) << info;
  EXPECT_THAT(info.output, HasSubstr("MAC: sha256")) << info;
  EXPECT_THAT(info.output, HasSubstr("PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC")) << info;
  EXPECT_THAT(info.output, HasSubstr("Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC")) << info;
  EXPECT_THAT(info.output, ::testing::Not(HasSubstr("RC2"))) << info;

  auto certs = run({"openssl", "pkcs12", "-nokeys", "-passin", "pass:s3cret-pass", "-in", p12});
  EXPECT_EQ(certs.exit_status, 0) << certs;
  EXPECT_EQ(ca::certificate::chain_from_pem(certs.output).size(), 2u) << certs;

  auto wrong = run({"openssl", "pkcs12", "-info", "-noout", "-passin", "pass:wrong", "-in", p12});
  EXPECT_NE(wrong.exit_status, 0) << wrong;
  EXPECT_THAT(wrong.output, HasSubstr("Mac verify error: invalid password?")) << wrong;
}

TEST_F(Interop, OpensslVerifiesCrlSignatureAgainstIssuer) {
  auto authority = ca::certificate_authority::create({.common_name = "tlsfix interop CRL issuer"});
  authority.revoke(authority.issue(kHost).cert());
  auto crl = write("crl.pem", authority.crl().to_pem());
  auto issuer = write("ca.pem", authority.root().to_pem());
  // Same subject, different key: openssl finds it as the issuer and must reject the signature.
  auto impostor = ca::certificate_authority::create({.common_name = "tlsfix interop CRL issuer"});
  auto stranger = write("stranger.pem", impostor.root().to_pem());

  auto good = run({"openssl", "crl", "-noout", "-in", crl, "-CAfile", issuer});
  EXPECT_EQ(good.exit_status, 0) << good;
  EXPECT_THAT(good.output, HasSubstr("verify OK")) << good;

  auto bad = run({"openssl", "crl", "-noout", "-in", crl, "-CAfile", stranger});
  // `openssl crl` 3.0 exits 0 even when the signature does not verify: its text is the verdict.
  EXPECT_THAT(bad.output, HasSubstr("verify failure")) << bad;
  EXPECT_THAT(bad.output, ::testing::Not(HasSubstr("verify OK"))) << bad;
}

}  // namespace
