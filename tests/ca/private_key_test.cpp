// private_key: generation of every supported type, key type names, and loading PEM in all the forms
// (and all the wrong forms) a test may be handed.
#include "tlsfix/ca/private_key.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

#include "tlsfix/error.hpp"
#include "error_text.hpp"

namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using tlsfix::ca::key_type;
using tlsfix::ca::private_key;

using tlsfix::test::error_from;

struct key_case {
  key_type type;
  const char* name;
  const char* algorithm;  // as EVP_PKEY_is_a knows it
  int bits;
};

void PrintTo(const key_case& c, std::ostream* os) { *os << c.name; }

class GenerateTest : public ::testing::TestWithParam<key_case> {};

TEST_P(GenerateTest, MakesTheRequestedKeyAndRoundTripsItsPem) {
  auto key = private_key::generate(GetParam().type);
  EXPECT_EQ(key.type(), GetParam().type);
  EXPECT_TRUE(EVP_PKEY_is_a(key.native(), GetParam().algorithm));
  EXPECT_EQ(EVP_PKEY_get_bits(key.native()), GetParam().bits);
  std::string pem = key.to_pem();
  EXPECT_THAT(pem, StartsWith("-----BEGIN PRIVATE KEY-----\n"));
  auto again = private_key::from_pem(pem);
  EXPECT_EQ(again.type(), GetParam().type);
  EXPECT_EQ(again.public_der(), key.public_der());
  EXPECT_EQ(EVP_PKEY_eq(again.native(), key.native()), 1);
  EXPECT_NE(private_key::generate(GetParam().type).public_der(), key.public_der()) << "fresh keys differ";
}

INSTANTIATE_TEST_SUITE_P(Types, GenerateTest,
                         ::testing::Values(key_case{key_type::ecdsa_p256, "ecdsa-p256", "EC", 256},
                                           key_case{key_type::ecdsa_p384, "ecdsa-p384", "EC", 384},
                                           key_case{key_type::ed25519, "ed25519", "ED25519", 256},
                                           key_case{key_type::rsa_2048, "rsa-2048", "RSA", 2048}),
                         [](const ::testing::TestParamInfo<key_case>& param_info) {
                           std::string name = param_info.param.name;
                           for (auto& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

TEST(GenerateLargeRsaTest, Rsa3072And4096) {
  // Slow key sizes, generated once each.
  auto rsa_3072 = private_key::generate(key_type::rsa_3072);
  auto rsa_4096 = private_key::generate(key_type::rsa_4096);
  EXPECT_EQ(EVP_PKEY_get_bits(rsa_3072.native()), 3072);
  EXPECT_EQ(EVP_PKEY_get_bits(rsa_4096.native()), 4096);
  EXPECT_EQ(private_key::from_pem(rsa_4096.to_pem()).type(), key_type::rsa_4096);
  EXPECT_EQ(private_key::from_native(rsa_3072.native()).type(), key_type::rsa_3072);
}

TEST(KeyTypeNameTest, RoundTripsEveryType) {
  const key_type all[] = {key_type::ecdsa_p256, key_type::ecdsa_p384, key_type::ed25519,
                          key_type::rsa_2048,   key_type::rsa_3072,   key_type::rsa_4096};
  const char* names[] = {"ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048", "rsa-3072", "rsa-4096"};
  for (size_t i = 0; i < std::size(all); ++i) {
    EXPECT_EQ(tlsfix::ca::to_string(all[i]), names[i]);
    EXPECT_EQ(tlsfix::ca::parse_key_type(names[i]), all[i]);
  }
}

TEST(KeyTypeNameTest, UnknownNameListsTheAcceptedOnes) {
  EXPECT_THAT(
      error_from([] { tlsfix::ca::parse_key_type("rsa-1024"); }),
      AllOf(HasSubstr("'rsa-1024'"), HasSubstr("ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072, rsa-4096")));
  EXPECT_THAT(error_from([] { tlsfix::ca::parse_key_type("ECDSA-P256"); }), HasSubstr("'ECDSA-P256'"))
      << "names are exact";
  EXPECT_THAT(error_from([] { tlsfix::ca::parse_key_type(""); }), HasSubstr("''"));
}

// PEM in OpenSSL's older type-specific form ("BEGIN EC PRIVATE KEY").
std::string traditional_pem(EVP_PKEY* key) {
  tlsfix::ca::encoder_ctx_ptr ctx{
      OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_KEYPAIR, "PEM", "type-specific", nullptr)};
  tlsfix::ca::bio_ptr bio{BIO_new(BIO_s_mem())};
  EXPECT_TRUE(ctx && bio);
  EXPECT_EQ(OSSL_ENCODER_to_bio(ctx.get(), bio.get()), 1);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

// Any key as unencrypted PKCS#8 PEM, including ones tlsfix would not generate.
std::string pkcs8_pem(EVP_PKEY* key) {
  tlsfix::ca::bio_ptr bio{BIO_new(BIO_s_mem())};
  EXPECT_EQ(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

TEST(FromPemTest, ReadsTraditionalPem) {
  auto key = private_key::generate(key_type::ecdsa_p384);
  std::string pem = traditional_pem(key.native());
  ASSERT_THAT(pem, StartsWith("-----BEGIN EC PRIVATE KEY-----"));
  auto again = private_key::from_pem(pem);
  EXPECT_EQ(again.type(), key_type::ecdsa_p384);
  EXPECT_EQ(again.public_der(), key.public_der());
}

TEST(FromPemTest, EncryptedPkcs8) {
  auto key = private_key::generate(key_type::ed25519);
  std::string pem = key.to_pem("passphrase");
  EXPECT_THAT(pem, StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  EXPECT_EQ(private_key::from_pem(pem, "passphrase").public_der(), key.public_der());
  EXPECT_THAT(error_from([&] { private_key::from_pem(pem, "not it", "ci/key.pem"); }),
              AllOf(StartsWith("ci/key.pem: "), HasSubstr("wrong passphrase")));
  EXPECT_THAT(error_from([&] { private_key::from_pem(pem, {}, "ci/key.pem"); }),
              AllOf(StartsWith("ci/key.pem: "), HasSubstr("encrypted and no passphrase was given")));
  // A passphrase given for a key that is not encrypted is simply unused.
  EXPECT_EQ(private_key::from_pem(key.to_pem(), "unused").public_der(), key.public_der());
}

TEST(FromPemTest, GarbageEmptyAndDamagedInputNameWhat) {
  EXPECT_THAT(error_from([] { private_key::from_pem("hello", {}, "key.pem"); }),
              AllOf(StartsWith("key.pem: "), HasSubstr("not a PEM private key")));
  EXPECT_THAT(error_from([] { private_key::from_pem("", {}, "key.pem"); }),
              AllOf(StartsWith("key.pem: "), HasSubstr("not a PEM private key")));
  std::string pem = private_key::generate().to_pem();
  pem[40] = pem[40] == '!' ? '#' : '!';
  EXPECT_THAT(error_from([&] { private_key::from_pem(pem, {}, "key.pem"); }),
              AllOf(StartsWith("key.pem: "), HasSubstr("damaged")));
  EXPECT_THAT(error_from([] { private_key::from_pem("garbage"); }), StartsWith("private key: "))
      << "the default `what`";
}

TEST(FromPemTest, PublicKeyIsNotAPrivateKey) {
  auto key = private_key::generate();
  tlsfix::ca::bio_ptr bio{BIO_new(BIO_s_mem())};
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio.get(), key.native()), 1);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<size_t>(length));
  EXPECT_THAT(error_from([&] { private_key::from_pem(pem, {}, "pub.pem"); }),
              AllOf(StartsWith("pub.pem: "), HasSubstr("not a PEM private key")));
}

TEST(UnsupportedKeyTest, Rsa1024IsRefusedByName) {
  tlsfix::ca::evp_pkey_ptr weak{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024})};
  ASSERT_TRUE(weak);
  EXPECT_THAT(error_from([&] { private_key::from_pem(pkcs8_pem(weak.get()), {}, "old.pem"); }),
              AllOf(StartsWith("old.pem: "), HasSubstr("RSA key size 1024 is not supported")));
  EXPECT_THAT(error_from([&] { private_key::from_native(weak.get()); }), HasSubstr("RSA key size 1024"));
}

TEST(UnsupportedKeyTest, Secp521r1IsRefusedByName) {
  tlsfix::ca::evp_pkey_ptr p521{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp521r1")};
  ASSERT_TRUE(p521);
  EXPECT_THAT(error_from([&] { private_key::from_pem(pkcs8_pem(p521.get()), {}, "p521.pem"); }),
              AllOf(StartsWith("p521.pem: "), HasSubstr("EC curve 'secp521r1' is not supported")));
}

TEST(UnsupportedKeyTest, OtherAlgorithmsAreRefusedByName) {
  tlsfix::ca::evp_pkey_ptr x25519{EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519")};
  ASSERT_TRUE(x25519);
  EXPECT_THAT(error_from([&] { private_key::from_pem(pkcs8_pem(x25519.get()), {}, "x.pem"); }),
              AllOf(StartsWith("x.pem: "), HasSubstr("key algorithm 'X25519' is not supported")));
}

TEST(FromNativeTest, SharesTheKey) {
  auto key = private_key::generate(key_type::ecdsa_p384);
  auto shared = private_key::from_native(key.native());
  EXPECT_EQ(shared.native(), key.native());
  EXPECT_EQ(shared.type(), key_type::ecdsa_p384);
}

}  // namespace
