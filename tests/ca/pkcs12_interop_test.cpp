// read_pkcs12 on files the real `openssl pkcs12 -export` writes: what OpenSSL 3 writes by default
// and with -descert (3DES, as Java and macOS write) is read back whole; -legacy, -nomac and an
// iteration count over the budget are refused by name.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "error_text.hpp"
#include "support.hpp"
#include "tlsfix/ca/certificate_authority.hpp"
#include "tlsfix/ca/files.hpp"
#include "tlsfix/ca/pkcs12.hpp"
#include "tlsfix/ca/verify.hpp"

namespace {

namespace ca = tlsfix::ca;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using tlsfix::test::error_from;

class Pkcs12Interop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tlsfix::test::have_program("openssl")) GTEST_SKIP() << "openssl is not installed";
    ca::write_file(tmp_ / "cert.pem", leaf_.cert_pem(), ca::file_mode::public_read);
    ca::write_file(tmp_ / "key.pem", leaf_.key_pem(), ca::file_mode::secret);
    ca::write_file(tmp_ / "chain.pem", sub_.cert().to_pem(), ca::file_mode::public_read);
  }

  // `openssl pkcs12 -export` of the leaf, its key and its intermediate, with password "interop".
  tlsfix::test::run_result export_p12(const std::string& name, const std::vector<std::string>& flags) {
    std::vector<std::string> args{"openssl", "pkcs12", "-export", "-in", (tmp_ / "cert.pem").string(),
                                  "-inkey", (tmp_ / "key.pem").string(), "-certfile", (tmp_ / "chain.pem").string(),
                                  "-passout", "pass:interop", "-out", (tmp_ / name).string()};
    args.insert(args.end(), flags.begin(), flags.end());
    return tlsfix::test::run(args, {}, std::chrono::seconds(60));
  }
  std::string file(const std::string& name) { return ca::read_file(tmp_ / name); }

  void expect_read_whole(const std::string& der) {
    auto p12 = ca::read_pkcs12(der, "interop");
    ASSERT_TRUE(p12.key && p12.leaf);
    EXPECT_EQ(p12.key->public_der(), leaf_.key().public_der());
    EXPECT_EQ(*p12.leaf, leaf_.cert());
    EXPECT_THAT(p12.chain, ::testing::ElementsAre(sub_.cert()));
    EXPECT_TRUE(ca::verify(*p12.leaf, {.roots = {root_.root()}, .untrusted = p12.chain, .name = "service.test.local"}).ok());
  }

  tlsfix::test::temp_dir tmp_;
  ca::certificate_authority root_ = ca::certificate_authority::create();
  ca::certificate_authority sub_ = root_.make_intermediate();
  ca::issued_cert leaf_ = sub_.issue("service.test.local");
};

TEST_F(Pkcs12Interop, ReadsOpensslsDefaultAes256) {
  auto made = export_p12("default.p12", {});
  ASSERT_EQ(made.exit_status, 0) << made;
  expect_read_whole(file("default.p12"));
  EXPECT_EQ(error_from([&] { ca::read_pkcs12(file("default.p12"), "wrong", "default.p12"); }),
            "default.p12: wrong password (the MAC does not verify)");
}

TEST_F(Pkcs12Interop, ReadsTripleDesCertificates) {
  auto made = export_p12("descert.p12", {"-descert"});
  ASSERT_EQ(made.exit_status, 0) << made;
  expect_read_whole(file("descert.p12"));
}

TEST_F(Pkcs12Interop, RefusesLegacyByName) {
  auto made = export_p12("legacy.p12", {"-legacy"});
  if (made.exit_status != 0) GTEST_SKIP() << "this openssl cannot write -legacy (no legacy provider): " << made;
  EXPECT_EQ(error_from([&] { ca::read_pkcs12(file("legacy.p12"), "interop", "legacy.p12"); }),
            "legacy.p12: the certificates are encrypted with RC2-40 (openssl pkcs12 -legacy), a legacy cipher tlsfix "
            "refuses; re-export with AES-256");
}

TEST_F(Pkcs12Interop, RefusesNoMac) {
  auto made = export_p12("nomac.p12", {"-nomac"});
  ASSERT_EQ(made.exit_status, 0) << made;
  EXPECT_THAT(error_from([&] { ca::read_pkcs12(file("nomac.p12"), "interop", "nomac.p12"); }),
              StartsWith("nomac.p12: has no MAC, so nothing shows that the password protects its contents"));
}

TEST_F(Pkcs12Interop, RefusesIterationsOverTheBudgetWithoutRunningThem) {
  // openssl takes seconds to write this (3,000,000 for the MAC, the certificates and the key);
  // reading it must take none of them.
  auto made = export_p12("slow.p12", {"-iter", "3000000"});
  ASSERT_EQ(made.exit_status, 0) << made;
  std::string der = file("slow.p12");
  auto start = std::chrono::steady_clock::now();
  std::string message = error_from([&] { ca::read_pkcs12(der, "interop", "slow.p12"); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
  EXPECT_THAT(message, StartsWith("slow.p12: needs at least 9,000,000 key-derivation iterations"));
  EXPECT_THAT(message, HasSubstr("more than the 2,000,000 tlsfix allows"));
}

}  // namespace
