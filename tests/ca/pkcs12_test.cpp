// read_pkcs12: what it reads back, and every refusal in the words a user sees. The files are made
// here with OpenSSL's PKCS#12 writer; where a test needs a file that claims a costly or refused
// scheme, only the algorithm identifier is made (no key derivation runs to make it), so a file
// that tlsfix wrongly tried to decrypt fails with a different message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "error_text.hpp"
#include "tlsfix/ca/certificate_authority.hpp"
#include "tlsfix/ca/handles.hpp"
#include "tlsfix/ca/pkcs12.hpp"
#include "tlsfix/ca/verify.hpp"
#include "tlsfix/error.hpp"

namespace {

namespace ca = tlsfix::ca;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using tlsfix::test::error_from;

constexpr const char* kPass = "s3cret";

template <auto Free>
struct freer {
  template <typename T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
using algor_ptr = std::unique_ptr<X509_ALGOR, freer<X509_ALGOR_free>>;
using lib_ctx_ptr = std::unique_ptr<OSSL_LIB_CTX, freer<OSSL_LIB_CTX_free>>;
using provider_ptr = std::unique_ptr<OSSL_PROVIDER, freer<OSSL_PROVIDER_unload>>;
using cipher_ptr = std::unique_ptr<EVP_CIPHER, freer<EVP_CIPHER_free>>;

std::string der_of(PKCS12* p12) {
  int length = i2d_PKCS12(p12, nullptr);
  if (length <= 0) throw std::runtime_error("i2d_PKCS12 failed");
  std::string out(static_cast<size_t>(length), '\0');
  auto* cursor = reinterpret_cast<unsigned char*>(out.data());
  i2d_PKCS12(p12, &cursor);
  return out;
}

struct create_options {
  int key_pbe = NID_aes_256_cbc, cert_pbe = NID_aes_256_cbc;
  int iterations = 2048, mac_iterations = 2048;
  const char* password = kPass;
  OSSL_LIB_CTX* context = nullptr;
};

// What `openssl pkcs12 -export` makes, through the same call (PKCS12_create_ex).
std::string create(const ca::issued_cert& leaf, const create_options& o = {}) {
  ca::x509_stack_ptr intermediates{sk_X509_new_null()};
  for (size_t i = 1; i < leaf.chain().size(); ++i) X509_add_cert(intermediates.get(), leaf.chain()[i].native(), X509_ADD_FLAG_UP_REF);
  ca::pkcs12_ptr p12{PKCS12_create_ex(o.password, "tlsfix", leaf.key().native(), leaf.cert().native(), intermediates.get(),
                                      o.key_pbe, o.cert_pbe, o.iterations, o.mac_iterations, 0, o.context, nullptr)};
  if (!p12) throw std::runtime_error("PKCS12_create_ex failed");
  return der_of(p12.get());
}

// A shrouded key bag that claims `algorithm` over 16 bytes that are no key at all: costs nothing
// to make, and cannot be decrypted by anyone.
ca::safebag_stack_ptr fake_shrouded_key(const X509_ALGOR* algorithm) {
  X509_SIG* sig = X509_SIG_new();
  X509_ALGOR* sig_algorithm = nullptr;
  ASN1_OCTET_STRING* digest = nullptr;
  X509_SIG_getm(sig, &sig_algorithm, &digest);
  if (X509_ALGOR_copy(sig_algorithm, algorithm) != 1 || ASN1_OCTET_STRING_set(digest, reinterpret_cast<const unsigned char*>("0123456789abcdef"), 16) != 1)
    throw std::runtime_error("building a fake key bag failed");
  ca::safebag_stack_ptr bags{sk_PKCS12_SAFEBAG_new_null()};
  sk_PKCS12_SAFEBAG_push(bags.get(), PKCS12_SAFEBAG_create0_pkcs8(sig));  // the bag takes sig, the stack the bag
  return bags;
}

// A file of `bags` in one safe (encrypted with AES-256, 1 iteration, when `encrypt_safe`), with
// the leaf's certificate beside them, and a 1-iteration MAC.
std::string assemble(const ca::issued_cert& leaf, ca::safebag_stack_ptr stack, bool encrypt_safe) {
  STACK_OF(PKCS12_SAFEBAG)* raw_bags = stack.get();
  if (PKCS12_add_cert(&raw_bags, leaf.cert().native()) == nullptr) throw std::runtime_error("PKCS12_add_cert failed");
  STACK_OF(PKCS7)* raw_safes = nullptr;
  int added = PKCS12_add_safe(&raw_safes, stack.get(), encrypt_safe ? NID_aes_256_cbc : -1, 1, kPass);
  ca::pkcs7_stack_ptr safes{raw_safes};  // the new stack is ours from here
  if (added != 1) throw std::runtime_error("PKCS12_add_safe failed");
  ca::pkcs12_ptr p12{PKCS12_add_safes(safes.get(), 0)};
  if (!p12 || PKCS12_set_mac(p12.get(), kPass, -1, nullptr, 0, 1, nullptr) != 1) throw std::runtime_error("PKCS12_set_mac failed");
  return der_of(p12.get());
}

class Pkcs12Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new ca::certificate_authority(ca::certificate_authority::create());
    sub_ = new ca::certificate_authority(root_->make_intermediate());
    leaf_ = new ca::issued_cert(sub_->issue("service.test.local"));
  }
  static void TearDownTestSuite() {
    delete leaf_;
    delete sub_;
    delete root_;
  }
  static inline ca::certificate_authority* root_ = nullptr;
  static inline ca::certificate_authority* sub_ = nullptr;
  static inline ca::issued_cert* leaf_ = nullptr;
};

TEST_F(Pkcs12Test, ReadsBackWhatIssuedCertWrites) {
  std::string der = leaf_->pkcs12(kPass);
  EXPECT_TRUE(ca::is_pkcs12(der));
  auto p12 = ca::read_pkcs12(der, kPass);
  ASSERT_TRUE(p12.key);
  EXPECT_EQ(p12.key->public_der(), leaf_->key().public_der());
  EXPECT_EQ(p12.key->type(), ca::key_type::ecdsa_p256);
  ASSERT_TRUE(p12.leaf);
  EXPECT_EQ(*p12.leaf, leaf_->cert());
  EXPECT_THAT(p12.chain, UnorderedElementsAre(sub_->cert()));
  EXPECT_TRUE(ca::verify(*p12.leaf, {.roots = {root_->root()}, .untrusted = p12.chain, .name = "service.test.local"}).ok());
  EXPECT_FALSE(ca::verify(*p12.leaf, {.roots = {root_->root()}, .name = "service.test.local"}).ok())
      << "negative control: without the file's chain the intermediate is missing";
}

TEST_F(Pkcs12Test, ReadsPkcs12PbeWithTripleDes) {
  // What Java's keytool and macOS Keychain Access still write.
  auto p12 = ca::read_pkcs12(create(*leaf_, {.key_pbe = NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
                                             .cert_pbe = NID_pbe_WithSHA1And3_Key_TripleDES_CBC}),
                             kPass);
  ASSERT_TRUE(p12.key && p12.leaf);
  EXPECT_EQ(p12.key->public_der(), leaf_->key().public_der());
  EXPECT_EQ(*p12.leaf, leaf_->cert());
}

TEST_F(Pkcs12Test, ReadsAnEmptyPasswordAndRefusesAWrongOne) {
  std::string der = create(*leaf_, {.password = ""});
  auto p12 = ca::read_pkcs12(der, "");
  ASSERT_TRUE(p12.key);
  EXPECT_EQ(p12.key->public_der(), leaf_->key().public_der());
  EXPECT_EQ(error_from([&] { ca::read_pkcs12(der, "guess"); }), "PKCS#12: wrong password (the MAC does not verify)");
}

TEST_F(Pkcs12Test, WrongPasswordNamesTheFile) {
  std::string der = leaf_->pkcs12(kPass);
  EXPECT_EQ(error_from([&] { ca::read_pkcs12(der, "wrong"); }), "PKCS#12: wrong password (the MAC does not verify)");
  EXPECT_EQ(error_from([&] { ca::read_pkcs12(der, "", "keystore.p12"); }),
            "keystore.p12: wrong password (the MAC does not verify without one)");
}

TEST_F(Pkcs12Test, CertificatesOnly) {
  ca::pkcs12_ptr made{PKCS12_create_ex(kPass, nullptr, nullptr, leaf_->cert().native(), nullptr, 0, NID_aes_256_cbc, 0, 0, 0,
                                       nullptr, nullptr)};
  ASSERT_TRUE(made);
  auto p12 = ca::read_pkcs12(der_of(made.get()), kPass);
  EXPECT_FALSE(p12.key);
  ASSERT_TRUE(p12.leaf);
  EXPECT_EQ(*p12.leaf, leaf_->cert());
  EXPECT_TRUE(p12.chain.empty());
}

TEST_F(Pkcs12Test, RefusesAKeyThatBelongsToNoCertificate) {
  STACK_OF(PKCS12_SAFEBAG)* bags = nullptr;
  auto other = ca::private_key::generate();
  ASSERT_NE(PKCS12_add_key(&bags, other.native(), 0, 1, NID_aes_256_cbc, kPass), nullptr);
  ca::safebag_stack_ptr owned{bags};
  EXPECT_EQ(error_from([&] { ca::read_pkcs12(assemble(*leaf_, std::move(owned), false), kPass); }),
            "PKCS#12: its private key belongs to none of its 1 certificates");
}

// ---- the iteration budget ------------------------------------------------------------------------

// The refusals below must come before any derivation: a file that ran even one would take seconds.
template <typename F>
std::string refused_quickly(F f) {
  auto start = std::chrono::steady_clock::now();
  std::string message = error_from(f);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300)) << message;
  return message;
}

TEST_F(Pkcs12Test, RefusesAMacOverTheBudgetBeforeRunningIt) {
  // A MAC that claims 3,000,000 iterations and was never computed: running it would say "wrong password".
  ca::pkcs12_ptr p12{PKCS12_create_ex(kPass, nullptr, leaf_->key().native(), leaf_->cert().native(), nullptr, 0, 0, 1, -1, 0,
                                      nullptr, nullptr)};
  ASSERT_TRUE(p12);
  ASSERT_EQ(PKCS12_setup_mac(p12.get(), 3'000'000, nullptr, 8, EVP_sha256()), 1);
  EXPECT_EQ(refused_quickly([&] { ca::read_pkcs12(der_of(p12.get()), kPass, "slow.p12"); }),
            "slow.p12: needs at least 3,000,002 key-derivation iterations (MAC and encryption together), more than the "
            "2,000,000 tlsfix allows (under a second of CPU); re-export with fewer (openssl pkcs12 -export -iter 10000)");
}

TEST_F(Pkcs12Test, RefusesEncryptionOverTheBudget) {
  // Really made with 1,000,001 iterations for the key and for the certificates (0.5-1.2 s to
  // write here): together with the MAC, three iterations over the budget.
  std::string der = create(*leaf_, {.iterations = 1'000'001, .mac_iterations = 1});
  EXPECT_THAT(refused_quickly([&] { ca::read_pkcs12(der, kPass); }),
              HasSubstr("PKCS#12: needs at least 2,000,003 key-derivation iterations"));
}

TEST_F(Pkcs12Test, ChargesAKeyHiddenInAnEncryptedSafeBeforeDecryptingIt) {
  algor_ptr costly{PKCS5_pbe2_set_iv(EVP_aes_256_cbc(), 3'000'000, nullptr, 0, nullptr, NID_hmacWithSHA256)};
  ASSERT_TRUE(costly);
  std::string der = assemble(*leaf_, fake_shrouded_key(costly.get()), true);
  EXPECT_THAT(refused_quickly([&] { ca::read_pkcs12(der, kPass); }),
              HasSubstr("PKCS#12: needs at least 3,000,002 key-derivation iterations"));
}

TEST_F(Pkcs12Test, ChargesEveryPbkdf2Block) {
  // AES-256 needs 32 bytes of key, two 20-byte HMAC-SHA1 blocks: 1,100,000 iterations run twice.
  algor_ptr sha1{PKCS5_pbe2_set_iv(EVP_aes_256_cbc(), 1'100'000, nullptr, 0, nullptr, NID_hmacWithSHA1)};
  algor_ptr sha256{PKCS5_pbe2_set_iv(EVP_aes_256_cbc(), 1'100'000, nullptr, 0, nullptr, NID_hmacWithSHA256)};
  ASSERT_TRUE(sha1 && sha256);
  EXPECT_THAT(refused_quickly([&] { ca::read_pkcs12(assemble(*leaf_, fake_shrouded_key(sha1.get()), false), kPass); }),
              HasSubstr("needs at least 2,200,001 key-derivation iterations"));
  // One HMAC-SHA-256 block is under the budget, so the key is tried, and this one is no key at all.
  EXPECT_THAT(error_from([&] { ca::read_pkcs12(assemble(*leaf_, fake_shrouded_key(sha256.get()), false), kPass); }),
              HasSubstr("PKCS#12: the private key does not decrypt with the password its MAC accepts: the file is corrupt"));
}

// ---- refused schemes -----------------------------------------------------------------------------

TEST_F(Pkcs12Test, RefusesAFileWithoutAMac) {
  std::string der = create(*leaf_, {.mac_iterations = -1});  // openssl pkcs12 -nomac
  EXPECT_EQ(error_from([&] { ca::read_pkcs12(der, kPass); }),
            "PKCS#12: has no MAC, so nothing shows that the password protects its contents (openssl pkcs12 -nomac); "
            "re-export it with a MAC");
}

TEST_F(Pkcs12Test, RefusesPublicKeyPrivacyMode) {
  PKCS7* enveloped = PKCS7_new();
  ASSERT_EQ(PKCS7_set_type(enveloped, NID_pkcs7_enveloped), 1);
  // An AES-256 envelope for no recipient at all: nothing should ever try to open it.
  ASSERT_EQ(X509_ALGOR_set0(enveloped->d.enveloped->enc_data->algorithm, OBJ_nid2obj(NID_aes_256_cbc), V_ASN1_NULL, nullptr), 1);
  ca::pkcs7_stack_ptr safes{sk_PKCS7_new_null()};
  sk_PKCS7_push(safes.get(), enveloped);  // the stack owns it now
  ca::pkcs12_ptr p12{PKCS12_add_safes(safes.get(), 0)};
  ASSERT_TRUE(p12);
  ASSERT_EQ(PKCS12_set_mac(p12.get(), kPass, -1, nullptr, 0, 1, nullptr), 1);
  EXPECT_EQ(error_from([&] { ca::read_pkcs12(der_of(p12.get()), kPass); }),
            "PKCS#12: its contents are encrypted to a certificate (public-key privacy mode), not with a password; "
            "tlsfix reads password-protected files only");
}

TEST_F(Pkcs12Test, RefusesLegacyAndUnboundedSchemesByName) {
  struct row {
    const char* scheme;
    algor_ptr algorithm;
    std::string message;
  };
  row rows[] = {
      {"RC2-40", algor_ptr{PKCS5_pbe_set(NID_pbe_WithSHA1And40BitRC2_CBC, 2048, nullptr, 0)},
       "the private key is encrypted with RC2-40 (openssl pkcs12 -legacy), a legacy cipher tlsfix refuses; re-export with AES-256"},
      {"RC4-128", algor_ptr{PKCS5_pbe_set(NID_pbe_WithSHA1And128BitRC4, 2048, nullptr, 0)},
       "the private key is encrypted with RC4-128, a legacy cipher"},
      {"PKCS#5 v1 DES", algor_ptr{PKCS5_pbe_set(NID_pbeWithSHA1AndDES_CBC, 2048, nullptr, 0)},
       "the private key is encrypted with single DES, a legacy cipher"},
      {"two-key 3DES", algor_ptr{PKCS5_pbe_set(NID_pbe_WithSHA1And2_Key_TripleDES_CBC, 2048, nullptr, 0)},
       "the private key is encrypted with two-key 3DES, a legacy cipher"},
      {"scrypt", algor_ptr{PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), nullptr, 0, nullptr, 16384, 8, 1)},
       "the private key is encrypted with a key from scrypt, which tlsfix does not run; re-export with AES-256 (PBKDF2)"},
      {"PBKDF2 with HMAC-SHA3", algor_ptr{PKCS5_pbe2_set_iv(EVP_aes_256_cbc(), 2048, nullptr, 0, nullptr, NID_hmac_sha3_256)},
       "the private key is encrypted with a key from PBKDF2 with hmac-sha3-256, which tlsfix does not run"},
      {"AES-256-OFB", algor_ptr{PKCS5_pbe2_set_iv(EVP_aes_256_ofb(), 2048, nullptr, 0, nullptr, NID_hmacWithSHA256)},
       "the private key is encrypted with aes-256-ofb, which tlsfix does not read; re-export with AES-256"},
  };
  for (auto& [scheme, algorithm, message] : rows) {
    ASSERT_TRUE(algorithm) << scheme;
    std::string der = assemble(*leaf_, fake_shrouded_key(algorithm.get()), false);
    EXPECT_THAT(error_from([&] { ca::read_pkcs12(der, kPass); }), AllOf(HasSubstr("PKCS#12: "), HasSubstr(message))) << scheme;
  }
}

TEST_F(Pkcs12Test, RefusesWhatOpensslLegacyWrites) {
  // The real thing, through OpenSSL's legacy provider: RC2-40 certificates, 3DES key, SHA-1 MAC.
  lib_ctx_ptr context{OSSL_LIB_CTX_new()};
  ASSERT_TRUE(context);
  provider_ptr legacy{OSSL_PROVIDER_load(context.get(), "legacy")};
  provider_ptr builtin{OSSL_PROVIDER_load(context.get(), "default")};
  if (!legacy || !builtin) GTEST_SKIP() << "OpenSSL's legacy provider is not installed";
  std::string der = create(*leaf_, {.key_pbe = NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
                                    .cert_pbe = NID_pbe_WithSHA1And40BitRC2_CBC, .context = context.get()});
  EXPECT_EQ(error_from([&] { ca::read_pkcs12(der, kPass, "legacy.p12"); }),
            "legacy.p12: the certificates are encrypted with RC2-40 (openssl pkcs12 -legacy), a legacy cipher tlsfix "
            "refuses; re-export with AES-256");

  // PBES2 around single DES: a modern wrapper does not make the cipher acceptable.
  cipher_ptr des{EVP_CIPHER_fetch(context.get(), "DES-CBC", nullptr)};
  ASSERT_TRUE(des);
  algor_ptr pbes2_des{PKCS5_pbe2_set_iv_ex(des.get(), 2048, nullptr, 0, nullptr, NID_hmacWithSHA256, context.get())};
  ASSERT_TRUE(pbes2_des);
  EXPECT_THAT(error_from([&] { ca::read_pkcs12(assemble(*leaf_, fake_shrouded_key(pbes2_des.get()), false), kPass); }),
              HasSubstr("PKCS#12: the private key is encrypted with single DES, a legacy cipher tlsfix refuses"));
}

// ---- malformed input -----------------------------------------------------------------------------

TEST_F(Pkcs12Test, RefusesMalformedInputByItsFault) {
  std::string good = leaf_->pkcs12(kPass);
  struct row {
    std::string name, input, message;
  };
  for (const auto& [name, input, message] : std::vector<row>{
           {"empty", "", "PKCS#12: is empty"},
           {"truncated", good.substr(0, good.size() / 2), "PKCS#12: is truncated: it ends inside the PKCS#12 structure"},
           {"a SEQUENCE header only", "\x30\x82\x10\x00", "PKCS#12: is truncated"},
           {"trailing garbage", good + "\n\x01", "PKCS#12: has 2 bytes of other data after the PKCS#12 structure"},
           {"text", "not a keystore at all", "PKCS#12: is not a PKCS#12 file (DER)"},
           {"a DER certificate", leaf_->cert().to_der(), "PKCS#12: is not a PKCS#12 file (DER)"},
           {"PEM", leaf_->cert_pem(), "PKCS#12: is PEM; a PKCS#12 file is binary DER"},
           {"oversized", std::string(ca::pkcs12_size_limit + 1, '\x30'),
            "PKCS#12: is 1,048,577 bytes; tlsfix reads PKCS#12 files of at most 1,048,576 bytes"},
       }) {
    EXPECT_THAT(error_from([&] { ca::read_pkcs12(input, kPass); }), HasSubstr(message)) << name;
    EXPECT_FALSE(ca::is_pkcs12(input)) << name;
  }
}

TEST_F(Pkcs12Test, EveryTruncationIsAnErrorNeverACrash) {
  std::string good = leaf_->pkcs12(kPass);
  for (size_t length = 0; length < good.size(); length += 7)
    EXPECT_THAT(error_from([&] { ca::read_pkcs12(good.substr(0, length), kPass); }), HasSubstr("PKCS#12: is ")) << length;
}

}  // namespace
