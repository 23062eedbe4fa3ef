// issued_cert: the encodings servers and clients consume (PEM pieces, HAProxy bundle, PKCS#12) and
// writing them all to a directory at once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "tlsfix/ca/certificate_authority.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/ca/files.hpp"
#include "tlsfix/ca/verify.hpp"
#include "error_text.hpp"

namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using tlsfix::ca::certificate;
using tlsfix::ca::certificate_authority;
using tlsfix::ca::private_key;

using tlsfix::test::error_from;

using tlsfix::ca::pbe2_param_ptr;
using tlsfix::ca::pkcs7_stack_ptr;
using tlsfix::ca::safebag_stack_ptr;

class IssuedCertTest : public ::testing::Test {
 protected:
  certificate_authority ca_ = certificate_authority::create();
  certificate_authority sub_ = ca_.make_intermediate();
  certificate_authority sub2_ = sub_.make_intermediate();
  tlsfix::ca::issued_cert leaf_ = sub2_.issue("service.test.local");
};

TEST_F(IssuedCertTest, PemPieces) {
  EXPECT_EQ(certificate::from_pem(leaf_.cert_pem()), leaf_.cert());
  EXPECT_EQ(private_key::from_pem(leaf_.key_pem()).public_der(), leaf_.key().public_der());
  EXPECT_THAT(leaf_.key_pem(), HasSubstr("-----BEGIN PRIVATE KEY-----")) << "PKCS#8";
  EXPECT_EQ(leaf_.root(), ca_.root());
}

TEST_F(IssuedCertTest, FullchainIsLeafFirstWithoutTheRoot) {
  EXPECT_THAT(certificate::chain_from_pem(leaf_.fullchain_pem()), ElementsAre(leaf_.cert(), sub2_.cert(), sub_.cert()));
  EXPECT_THAT(leaf_.fullchain_pem(), Not(HasSubstr(ca_.root().to_pem())));
  auto direct = ca_.issue("a.test");
  EXPECT_EQ(direct.fullchain_pem(), direct.cert_pem()) << "a root's leaf has nothing else to send";
}

TEST_F(IssuedCertTest, BundleIsTheFullChainThenTheKey) {
  std::string bundle = leaf_.bundle_pem();
  EXPECT_EQ(bundle, leaf_.fullchain_pem() + leaf_.key_pem());
  EXPECT_THAT(bundle, EndsWith("-----END PRIVATE KEY-----\n"));
  EXPECT_THAT(certificate::chain_from_pem(bundle), ElementsAre(leaf_.cert(), sub2_.cert(), sub_.cert()));
}

TEST_F(IssuedCertTest, EncryptedKeyPemRoundTrips) {
  std::string pem = leaf_.key_pem("s3cret");
  EXPECT_THAT(pem, HasSubstr("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  EXPECT_EQ(private_key::from_pem(pem, "s3cret").public_der(), leaf_.key().public_der());
  EXPECT_THAT(error_from([&] { private_key::from_pem(pem, "wrong"); }), HasSubstr("wrong passphrase"));
  EXPECT_THAT(error_from([&] { private_key::from_pem(pem); }), HasSubstr("no passphrase was given"));
}

tlsfix::ca::pkcs12_ptr parse_pkcs12(const std::string& der) {
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  tlsfix::ca::pkcs12_ptr p12{d2i_PKCS12(nullptr, &cursor, static_cast<long>(der.size()))};
  EXPECT_TRUE(p12) << "d2i_PKCS12 failed";
  return p12;
}

TEST_F(IssuedCertTest, Pkcs12ParsesBackWithKeyLeafAndIntermediates) {
  auto p12 = parse_pkcs12(leaf_.pkcs12("s3cret"));
  ASSERT_TRUE(p12);
  EXPECT_EQ(PKCS12_verify_mac(p12.get(), "s3cret", -1), 1);
  EVP_PKEY* raw_key = nullptr;
  X509* raw_cert = nullptr;
  STACK_OF(X509)* raw_ca = nullptr;
  ASSERT_EQ(PKCS12_parse(p12.get(), "s3cret", &raw_key, &raw_cert, &raw_ca), 1);
  tlsfix::ca::evp_pkey_ptr key{raw_key};
  tlsfix::ca::x509_ptr cert{raw_cert};
  tlsfix::ca::x509_stack_ptr intermediates{raw_ca};

  EXPECT_EQ(EVP_PKEY_eq(key.get(), leaf_.key().native()), 1);
  EXPECT_EQ(certificate::from_native(cert.get()), leaf_.cert());
  int alias_length = 0;
  const unsigned char* alias = X509_alias_get0(cert.get(), &alias_length);
  ASSERT_NE(alias, nullptr);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(alias), static_cast<size_t>(alias_length)), "tlsfix");
  ASSERT_EQ(sk_X509_num(intermediates.get()), 2);
  std::set<std::string> got{certificate::from_native(sk_X509_value(intermediates.get(), 0)).sha256_fingerprint(),
                            certificate::from_native(sk_X509_value(intermediates.get(), 1)).sha256_fingerprint()};
  EXPECT_THAT(got, UnorderedElementsAre(sub_.cert().sha256_fingerprint(), sub2_.cert().sha256_fingerprint()));
}

TEST_F(IssuedCertTest, Pkcs12RefusesTheWrongPassword) {
  auto p12 = parse_pkcs12(leaf_.pkcs12("s3cret"));
  ASSERT_TRUE(p12);
  EXPECT_NE(PKCS12_verify_mac(p12.get(), "wrong", -1), 1);
  EVP_PKEY* raw_key = nullptr;
  X509* raw_cert = nullptr;
  EXPECT_NE(PKCS12_parse(p12.get(), "wrong", &raw_key, &raw_cert, nullptr), 1);
  tlsfix::ca::evp_pkey_ptr key{raw_key};
  tlsfix::ca::x509_ptr cert{raw_cert};
  EXPECT_FALSE(key);
}

// The cipher under a PBES2 algorithm identifier, or the outer algorithm's NID when it is not PBES2.
int pbes2_cipher(const X509_ALGOR* algorithm) {
  const ASN1_OBJECT* oid = nullptr;
  int type = 0;
  const void* value = nullptr;
  X509_ALGOR_get0(&oid, &type, &value, algorithm);
  if (OBJ_obj2nid(oid) != NID_pbes2 || type != V_ASN1_SEQUENCE) return OBJ_obj2nid(oid);
  ASN1_TYPE parameter{};
  parameter.type = type;
  parameter.value.sequence = static_cast<ASN1_STRING*>(const_cast<void*>(value));
  pbe2_param_ptr params{static_cast<PBE2PARAM*>(ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), &parameter))};
  return params ? OBJ_obj2nid(params->encryption->algorithm) : NID_undef;
}

TEST_F(IssuedCertTest, Pkcs12UsesAes256WithASha256Mac) {
  auto p12 = parse_pkcs12(leaf_.pkcs12("s3cret"));
  ASSERT_TRUE(p12);
  const X509_ALGOR* mac_algorithm = nullptr;
  const ASN1_INTEGER* mac_iterations = nullptr;
  PKCS12_get0_mac(nullptr, &mac_algorithm, nullptr, &mac_iterations, p12.get());
  ASSERT_NE(mac_algorithm, nullptr) << "no MAC";
  const ASN1_OBJECT* mac_oid = nullptr;
  X509_ALGOR_get0(&mac_oid, nullptr, nullptr, mac_algorithm);
  EXPECT_EQ(OBJ_obj2nid(mac_oid), NID_sha256) << OBJ_nid2sn(OBJ_obj2nid(mac_oid));
  EXPECT_GE(mac_iterations ? ASN1_INTEGER_get(mac_iterations) : 1, 2048)
      << "a 1-iteration MAC is trivial to brute-force";

  pkcs7_stack_ptr safes{PKCS12_unpack_authsafes(p12.get())};
  ASSERT_TRUE(safes);
  std::multiset<int> ciphers;
  for (int i = 0; i < sk_PKCS7_num(safes.get()); ++i) {
    PKCS7* safe = sk_PKCS7_value(safes.get(), i);
    if (PKCS7_type_is_encrypted(safe)) {
      ciphers.insert(pbes2_cipher(safe->d.encrypted->enc_data->algorithm));
      continue;
    }
    safebag_stack_ptr bags{PKCS12_unpack_p7data(safe)};
    for (int j = 0; bags && j < sk_PKCS12_SAFEBAG_num(bags.get()); ++j) {
      const PKCS12_SAFEBAG* bag = sk_PKCS12_SAFEBAG_value(bags.get(), j);
      ASSERT_EQ(PKCS12_SAFEBAG_get_nid(bag), NID_pkcs8ShroudedKeyBag) << "nothing unencrypted but the shrouded key";
      const X509_ALGOR* algorithm = nullptr;
      X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &algorithm, nullptr);
      ciphers.insert(pbes2_cipher(algorithm));
    }
  }
  EXPECT_THAT(ciphers, ElementsAre(NID_aes_256_cbc, NID_aes_256_cbc)) << "certificates and key";
}

TEST_F(IssuedCertTest, Pkcs12RefusesAnEmptyPassword) {
  EXPECT_THAT(error_from([&] { leaf_.pkcs12(""); }), AllOf(HasSubstr("pkcs12"), HasSubstr("password is empty")));
}

mode_t mode_of(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(::lstat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

class WriteToTest : public IssuedCertTest {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tlsfix-write-to-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    base_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(base_, ignored);
  }
  std::set<std::string> entries(const fs::path& dir) const {
    std::set<std::string> out;
    for (const auto& entry : fs::directory_iterator(dir)) out.insert(entry.path().filename().string());
    return out;
  }
  fs::path base_;
};

TEST_F(WriteToTest, WritesFiveFilesWithTheirModes) {
  auto dir = base_ / "tls" / "service";
  leaf_.write_to(dir);
  EXPECT_EQ(mode_of(dir), 0700u);
  EXPECT_THAT(entries(dir), UnorderedElementsAre("cert.pem", "key.pem", "fullchain.pem", "bundle.pem", "ca.crt"));
  EXPECT_EQ(mode_of(dir / "cert.pem"), 0644u);
  EXPECT_EQ(mode_of(dir / "key.pem"), 0600u);
  EXPECT_EQ(mode_of(dir / "fullchain.pem"), 0644u);
  EXPECT_EQ(mode_of(dir / "bundle.pem"), 0600u);
  EXPECT_EQ(mode_of(dir / "ca.crt"), 0644u);
  EXPECT_EQ(tlsfix::ca::read_file(dir / "cert.pem"), leaf_.cert_pem());
  EXPECT_EQ(private_key::from_pem(tlsfix::ca::read_file(dir / "key.pem")).public_der(), leaf_.key().public_der());
  EXPECT_EQ(tlsfix::ca::read_file(dir / "fullchain.pem"), leaf_.fullchain_pem());
  EXPECT_EQ(tlsfix::ca::read_file(dir / "bundle.pem"), leaf_.bundle_pem());
  EXPECT_EQ(certificate::from_pem(tlsfix::ca::read_file(dir / "ca.crt")), ca_.root());
}

TEST_F(WriteToTest, RefusesASecondWrite) {
  leaf_.write_to(base_);
  std::string before = tlsfix::ca::read_file(base_ / "key.pem");
  auto other = ca_.issue("other.test.local");
  EXPECT_THAT(error_from([&] { other.write_to(base_); }), HasSubstr("already exists"));
  EXPECT_EQ(tlsfix::ca::read_file(base_ / "key.pem"), before);
}

TEST_F(WriteToTest, RefusesWhenAnyFileExistsAndLeavesTheOthersUnwritten) {
  std::ofstream(base_ / "bundle.pem") << "keep me";
  EXPECT_THAT(error_from([&] { leaf_.write_to(base_); }),
              AllOf(HasSubstr((base_ / "bundle.pem").string()), HasSubstr("already exists")));
  EXPECT_THAT(entries(base_), UnorderedElementsAre("bundle.pem"));
  EXPECT_EQ(tlsfix::ca::read_file(base_ / "bundle.pem"), "keep me");
}

}  // namespace

namespace {

TEST(IssuedCertWithoutIntermediates, KeepsLeafKeyAndRootButNotTheChain) {
  auto root = tlsfix::ca::certificate_authority::create();
  auto leaf = root.make_intermediate().issue("service.test.local");
  auto cut = leaf.without_intermediates();
  ASSERT_EQ(cut.chain().size(), 1u);
  EXPECT_EQ(cut.cert(), leaf.cert());
  EXPECT_EQ(cut.key().public_der(), leaf.key().public_der());
  EXPECT_EQ(cut.root(), leaf.root());
  EXPECT_EQ(cut.fullchain_pem(), leaf.cert_pem());
  auto result = tlsfix::ca::verify(cut.cert(), {.roots = {cut.root()}, .untrusted = cut.chain(), .name = "service.test.local"});
  EXPECT_EQ(result.error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

}  // namespace

namespace {

TEST(IssuedCertFromPem, RoundTripsWhatWriteToWrote) {
  auto root = tlsfix::ca::certificate_authority::create();
  auto leaf = root.make_intermediate().issue("service.test.local");
  auto again = tlsfix::ca::issued_cert::from_pem(leaf.fullchain_pem(), leaf.key_pem("pw"), root.root().to_pem(), "pw");
  ASSERT_EQ(again.chain().size(), 2u);
  EXPECT_EQ(again.cert(), leaf.cert());
  EXPECT_EQ(again.chain()[1], leaf.chain()[1]);
  EXPECT_EQ(again.root(), root.root());
  EXPECT_EQ(again.key().public_der(), leaf.key().public_der());
}

TEST(IssuedCertFromPem, RefusesAKeyThatBelongsToAnotherCertificate) {
  auto root = tlsfix::ca::certificate_authority::create();
  auto a = root.issue("a.test.local");
  auto b = root.issue("b.test.local");
  try {
    tlsfix::ca::issued_cert::from_pem(a.fullchain_pem(), b.key_pem(), root.root().to_pem());
    ADD_FAILURE() << "mismatched key accepted";
  } catch (const tlsfix::error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("does not belong to the certificate"));
  }
  EXPECT_THROW(tlsfix::ca::issued_cert::from_pem("", a.key_pem(), root.root().to_pem()), tlsfix::error);
}

}  // namespace
