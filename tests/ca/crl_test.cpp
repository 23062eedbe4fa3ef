// Revocation: what a CA's CRL lists, how it is encoded, and what it refuses.
#include "tlsfix/ca/crl.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>

#include "tlsfix/ca/certificate_authority.hpp"
#include "tlsfix/error.hpp"
#include "error_text.hpp"

namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using tlsfix::ca::certificate_authority;
using tlsfix::ca::crl;

using tlsfix::test::error_from;

long crl_number(const crl& list) {
  int critical = 0;
  tlsfix::ca::asn1_integer_ptr number{
      static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(list.native(), NID_crl_number, &critical, nullptr))};
  EXPECT_TRUE(number) << "no CRL number extension";
  return number ? ASN1_INTEGER_get(number.get()) : -1;
}

TEST(CrlTest, ListsRevokedSerials) {
  auto ca = certificate_authority::create();
  auto first = ca.issue("a.test");
  auto second = ca.issue("b.test");
  auto kept = ca.issue("c.test");
  EXPECT_THAT(ca.crl().revoked_serials(), IsEmpty());
  ca.revoke(first.cert());
  ca.revoke(second.cert());
  ca.revoke(first.cert());  // revoking twice lists it once
  EXPECT_THAT(ca.crl().revoked_serials(), UnorderedElementsAre(first.cert().serial_hex(), second.cert().serial_hex()));
}

TEST(CrlTest, IsSignedByTheCaAndNamesIt) {
  auto ca = certificate_authority::create();
  auto sub = ca.make_intermediate();
  for (const auto& issuer : {ca, sub}) {
    auto list = issuer.crl();
    EXPECT_EQ(X509_CRL_verify(list.native(), X509_get0_pubkey(issuer.cert().native())), 1);
    EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(list.native()), X509_get_subject_name(issuer.cert().native())), 0);
    EXPECT_EQ(X509_CRL_get_version(list.native()), X509_CRL_VERSION_2);
  }
  // Negative control: the intermediate's CRL does not verify under the root's key.
  EXPECT_NE(X509_CRL_verify(sub.crl().native(), X509_get0_pubkey(ca.cert().native())), 1);
}

TEST(CrlTest, ValidFromAnHourAgoForADay) {
  auto ca = certificate_authority::create();
  auto list = ca.crl();
  int day = 0, seconds = 0;
  ASSERT_EQ(
      ASN1_TIME_diff(&day, &seconds, X509_CRL_get0_lastUpdate(list.native()), X509_CRL_get0_nextUpdate(list.native())),
      1);
  EXPECT_EQ(day * 86400 + seconds, 25 * 3600);
  EXPECT_EQ(X509_cmp_current_time(X509_CRL_get0_lastUpdate(list.native())), -1);
  EXPECT_EQ(X509_cmp_current_time(X509_CRL_get0_nextUpdate(list.native())), 1);
}

TEST(CrlTest, PemAndDerRoundTrip) {
  auto ca = certificate_authority::create();
  ca.revoke(ca.issue("a.test").cert());
  auto list = ca.crl();
  EXPECT_THAT(list.to_pem(), HasSubstr("-----BEGIN X509 CRL-----"));
  auto from_pem = crl::from_pem(list.to_pem());
  auto from_der = crl::from_der(list.to_der());
  EXPECT_EQ(from_pem.to_der(), list.to_der());
  EXPECT_EQ(from_der.to_pem(), list.to_pem());
  EXPECT_EQ(from_der.revoked_serials(), list.revoked_serials());
}

TEST(CrlTest, BadInputNamesWhat) {
  EXPECT_THAT(error_from([] { crl::from_pem("garbage", "revoked.crl"); }),
              AllOf(HasSubstr("revoked.crl"), HasSubstr("not a PEM CRL")));
  EXPECT_THAT(error_from([] { crl::from_der("garbage", "revoked.der"); }),
              AllOf(HasSubstr("revoked.der"), HasSubstr("not a DER CRL")));
  auto ca = certificate_authority::create();
  EXPECT_THAT(error_from([&] { crl::from_pem(ca.cert().to_pem()); }), HasSubstr("CRL"));
}

TEST(CrlTest, RevokingAnotherCasCertificateThrows) {
  auto ca = certificate_authority::create();
  auto other = certificate_authority::create();
  auto foreign = other.issue("a.test");
  EXPECT_THAT(error_from([&] { ca.revoke(foreign.cert()); }),
              AllOf(HasSubstr("revoke"), HasSubstr(foreign.cert().serial_hex()), HasSubstr("was not issued by")));
  // Same subject name, different key: still refused.
  auto twin = certificate_authority::create({.common_name = "Twin"});
  auto twin2 = certificate_authority::create({.common_name = "Twin"});
  EXPECT_THAT(error_from([&] { twin.revoke(twin2.issue("a.test").cert()); }), HasSubstr("was not issued by"));
  // A root cannot revoke what its intermediate issued: that is the intermediate's CRL.
  auto sub = ca.make_intermediate();
  EXPECT_THAT(error_from([&] { ca.revoke(sub.issue("a.test").cert()); }), HasSubstr("was not issued by"));
  EXPECT_THAT(ca.crl().revoked_serials(), IsEmpty());
  EXPECT_NO_THROW(ca.revoke(sub.cert()));
  EXPECT_THAT(ca.crl().revoked_serials(), ElementsAre(sub.cert().serial_hex()));
}

TEST(CrlTest, NumberIncrementsAndIsSharedByCopies) {
  auto ca = certificate_authority::create();
  EXPECT_EQ(crl_number(ca.crl()), 1);
  EXPECT_EQ(crl_number(ca.crl()), 2);
  auto copy = ca;
  EXPECT_EQ(crl_number(copy.crl()), 3);
  EXPECT_EQ(crl_number(ca.make_intermediate().crl()), 1) << "each CA counts its own";
}

// A borrowed X509_CRL* gets its own reference: the owner and the copy each free theirs (ASan
// catches a double free here, which the old owning constructor made easy).
TEST(CrlOwnershipTest, FromNativeTakesItsOwnReference) {
  auto authority = tlsfix::ca::certificate_authority::create();
  auto list = authority.crl();
  {
    auto copy = tlsfix::ca::crl::from_native(list.native());
    EXPECT_EQ(copy.to_der(), list.to_der());
  }
  EXPECT_EQ(tlsfix::ca::crl::from_der(list.to_der()).to_der(), list.to_der()) << "still usable after the copy is gone";
}

}  // namespace
