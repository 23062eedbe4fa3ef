// certificate: parsing PEM and DER strictly, and the accessors tests and tools read.
#include "tlsfix/ca/certificate.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <string>

#include "tlsfix/ca/certificate_authority.hpp"
#include "tlsfix/error.hpp"
#include "error_text.hpp"

namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tlsfix::ca::certificate;
using tlsfix::ca::certificate_authority;
using tlsfix::ca::validity;
using namespace std::chrono_literals;

using tlsfix::test::error_from;

class CertificateTest : public ::testing::Test {
 protected:
  certificate_authority ca_ = certificate_authority::create({.common_name = "Unit Root"});
  certificate_authority sub_ = ca_.make_intermediate({.common_name = "Unit Intermediate"});
  tlsfix::ca::issued_cert leaf_ = sub_.issue({.names = {"service.test.local", "127.0.0.1"}});
};

TEST_F(CertificateTest, FromPemWantsExactlyOne) {
  EXPECT_EQ(certificate::from_pem(leaf_.cert_pem()), leaf_.cert());
  EXPECT_THAT(error_from([&] { certificate::from_pem(leaf_.fullchain_pem(), "server.pem"); }),
              AllOf(HasSubstr("server.pem"), HasSubstr("expected exactly one certificate, found 2")));
  EXPECT_THAT(error_from([&] { certificate::from_pem("", "server.pem"); }),
              AllOf(HasSubstr("server.pem"), HasSubstr("no PEM certificate found")));
  EXPECT_THAT(error_from([&] { certificate::from_pem(leaf_.key_pem(), "server.pem"); }),
              HasSubstr("no PEM certificate found"));
}

TEST_F(CertificateTest, ChainFromPemKeepsTheOrderAndSkipsOtherBlocks) {
  std::string text = "# leading comment\n" + leaf_.fullchain_pem() + ca_.cert().to_pem();
  EXPECT_THAT(certificate::chain_from_pem(text), ElementsAre(leaf_.cert(), sub_.cert(), ca_.cert()));
  EXPECT_THAT(certificate::chain_from_pem(ca_.cert().to_pem() + leaf_.cert_pem()),
              ElementsAre(ca_.cert(), leaf_.cert()));
  // A bundle (chain then key) reads as its certificates.
  EXPECT_THAT(certificate::chain_from_pem(leaf_.bundle_pem()), ElementsAre(leaf_.cert(), sub_.cert()));
}

// Replaces one base64 character in the body of the `index`th PEM block.
std::string damage(std::string pem, size_t index) {
  size_t begin = 0;
  for (size_t i = 0; i <= index; ++i) begin = pem.find("-----BEGIN CERTIFICATE-----", i == 0 ? 0 : begin + 1);
  size_t body = pem.find('\n', begin) + 10;
  pem[body] = pem[body] == '!' ? '#' : '!';
  return pem;
}

TEST_F(CertificateTest, DamagedSecondCertificateIsNamed) {
  std::string text = damage(leaf_.fullchain_pem() + ca_.cert().to_pem(), 1);
  EXPECT_THAT(error_from([&] { certificate::chain_from_pem(text, "fullchain.pem"); }),
              AllOf(HasSubstr("fullchain.pem"), HasSubstr("certificate 2 is damaged")));
}

TEST_F(CertificateTest, DamagedOnlyCertificateIsCalledDamaged) {
  EXPECT_THAT(error_from([&] { certificate::from_pem(damage(leaf_.cert_pem(), 0), "cert.pem"); }),
              AllOf(HasSubstr("cert.pem"), HasSubstr("certificate 1 is damaged")));
}

TEST_F(CertificateTest, ParsingIgnoresErrorsLeftByEarlierOpensslCalls) {
  // Unrelated code failed earlier on this thread and left its error queue behind.
  const unsigned char junk[] = {0x30, 0x03, 0x02};
  const unsigned char* cursor = junk;
  ASSERT_EQ(d2i_X509(nullptr, &cursor, sizeof junk), nullptr);
  ASSERT_NE(ERR_peek_error(), 0UL);
  EXPECT_THAT(certificate::chain_from_pem(leaf_.fullchain_pem()), ElementsAre(leaf_.cert(), sub_.cert()));
}

TEST_F(CertificateTest, FromDerIsStrict) {
  std::string der = leaf_.cert().to_der();
  EXPECT_EQ(certificate::from_der(der), leaf_.cert());
  EXPECT_THAT(error_from([&] { certificate::from_der(der + '\0', "leaf.der"); }),
              AllOf(HasSubstr("leaf.der"), HasSubstr("trailing bytes")));
  EXPECT_THAT(error_from([&] { certificate::from_der(der.substr(0, der.size() - 1), "leaf.der"); }),
              AllOf(HasSubstr("leaf.der"), HasSubstr("not a DER certificate"), HasSubstr("d2i_X509")));
  EXPECT_THAT(error_from([&] { certificate::from_der("", "leaf.der"); }), HasSubstr("leaf.der"));
}

TEST_F(CertificateTest, PemAndDerRoundTrip) {
  EXPECT_EQ(certificate::from_pem(leaf_.cert().to_pem()).to_der(), leaf_.cert().to_der());
  EXPECT_EQ(certificate::from_der(leaf_.cert().to_der()).to_pem(), leaf_.cert_pem());
  EXPECT_THAT(leaf_.cert_pem(), HasSubstr("-----BEGIN CERTIFICATE-----\n"));
}

TEST_F(CertificateTest, SubjectAndIssuerInRfc2253Form) {
  EXPECT_EQ(ca_.cert().subject(), "CN=Unit Root,O=tlsfix");
  EXPECT_EQ(ca_.cert().issuer(), "CN=Unit Root,O=tlsfix");
  EXPECT_EQ(sub_.cert().subject(), "CN=Unit Intermediate,O=tlsfix");
  EXPECT_EQ(sub_.cert().issuer(), "CN=Unit Root,O=tlsfix");
  EXPECT_EQ(leaf_.cert().subject(), "O=tlsfix");
  EXPECT_EQ(leaf_.cert().issuer(), "CN=Unit Intermediate,O=tlsfix");
}

TEST_F(CertificateTest, SerialHexIsTheDerIntegerInUpperCaseHex) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(leaf_.cert().native());
  const unsigned char* bytes = ASN1_STRING_get0_data(serial);
  std::string expected;
  for (int i = 0; i < ASN1_STRING_length(serial); ++i) {
    static constexpr char digits[] = "0123456789ABCDEF";
    expected += digits[bytes[i] >> 4];
    expected += digits[bytes[i] & 0xf];
  }
  EXPECT_EQ(leaf_.cert().serial_hex(), expected);
  EXPECT_NE(leaf_.cert().serial_hex(), sub_.cert().serial_hex());
}

TEST_F(CertificateTest, NotBeforeAndNotAfterAreTheIssuedWindow) {
  auto window = validity::expired(2h);
  auto leaf = ca_.issue({.names = {"old.test"}, .validity = window});
  EXPECT_EQ(leaf.cert().not_before(), std::chrono::floor<std::chrono::seconds>(window.not_before));
  EXPECT_EQ(leaf.cert().not_after(), std::chrono::floor<std::chrono::seconds>(window.not_after));
}

TEST_F(CertificateTest, TimesBeyond2049UseGeneralizedTime) {
  auto now = tlsfix::ca::clock::now();
  auto far = now + std::chrono::hours(24 * 365 * 40);
  auto leaf = ca_.issue({.names = {"future.test"}, .validity = {now, far}});
  EXPECT_EQ(leaf.cert().not_after(), std::chrono::floor<std::chrono::seconds>(far));
  EXPECT_EQ(ASN1_STRING_type(X509_get0_notAfter(leaf.cert().native())), V_ASN1_GENERALIZEDTIME);
  EXPECT_EQ(ASN1_STRING_type(X509_get0_notBefore(leaf.cert().native())), V_ASN1_UTCTIME);
}

TEST_F(CertificateTest, IsCaAndIsSelfSigned) {
  EXPECT_TRUE(ca_.cert().is_ca());
  EXPECT_TRUE(ca_.cert().is_self_signed());
  EXPECT_TRUE(sub_.cert().is_ca());
  EXPECT_FALSE(sub_.cert().is_self_signed());
  EXPECT_FALSE(leaf_.cert().is_ca());
  EXPECT_FALSE(leaf_.cert().is_self_signed());
}

TEST_F(CertificateTest, Sha256FingerprintMatchesX509Digest) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  ASSERT_EQ(X509_digest(leaf_.cert().native(), EVP_sha256(), digest, &length), 1);
  ASSERT_EQ(length, 32u);
  std::string expected;
  for (unsigned int i = 0; i < length; ++i) {
    static constexpr char digits[] = "0123456789abcdef";
    if (i != 0) expected += ':';
    expected += digits[digest[i] >> 4];
    expected += digits[digest[i] & 0xf];
  }
  EXPECT_EQ(leaf_.cert().sha256_fingerprint(), expected);
  EXPECT_EQ(expected.size(), 32u * 3 - 1);
  EXPECT_NE(sub_.cert().sha256_fingerprint(), expected);
}

TEST_F(CertificateTest, SubjectAltNamesInCertificateOrder) {
  EXPECT_THAT(leaf_.cert().subject_alt_names(), ElementsAre("DNS:service.test.local", "IP:127.0.0.1"));
  EXPECT_TRUE(ca_.cert().subject_alt_names().empty());
}

TEST_F(CertificateTest, EqualityIsByContent) {
  auto copy = leaf_.cert();
  EXPECT_EQ(copy, leaf_.cert());
  EXPECT_EQ(copy.native(), leaf_.cert().native()) << "copies share one X509";
  auto reparsed = certificate::from_pem(leaf_.cert_pem());
  EXPECT_NE(reparsed.native(), leaf_.cert().native());
  EXPECT_TRUE(reparsed == leaf_.cert());
  EXPECT_FALSE(leaf_.cert() == sub_.cert());
  // Same name and key, different certificate: still not equal.
  auto again = sub_.issue({.names = {"service.test.local", "127.0.0.1"}, .key = leaf_.key()});
  EXPECT_FALSE(again.cert() == leaf_.cert());
}

TEST_F(CertificateTest, FromNativeSharesTheObject) {
  auto shared = certificate::from_native(leaf_.cert().native());
  EXPECT_EQ(shared.native(), leaf_.cert().native());
  EXPECT_EQ(shared, leaf_.cert());
}

TEST(CertificateToPemTest, ConcatenatesInOrder) {
  auto ca = certificate_authority::create();
  auto leaf = ca.issue("a.test");
  EXPECT_EQ(tlsfix::ca::to_pem({leaf.cert(), ca.cert()}), leaf.cert_pem() + ca.cert().to_pem());
  EXPECT_EQ(tlsfix::ca::to_pem({}), "");
}

}  // namespace
