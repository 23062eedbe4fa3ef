// "Security defaults": every certificate tlsfix issues is read back from its DER with OpenSSL and
// held to the profile in DESIGN.md, for each key type and for leaves under a root or an intermediate.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tlsfix/ca/certificate_authority.hpp"
#include "tlsfix/ca/verify.hpp"

namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;
using tlsfix::ca::ca_options;
using tlsfix::ca::cert_request;
using tlsfix::ca::certificate;
using tlsfix::ca::certificate_authority;
using tlsfix::ca::issued_cert;
using tlsfix::ca::key_type;
using tlsfix::ca::private_key;
using tlsfix::ca::usage;
using tlsfix::ca::x509_ptr;
using namespace std::chrono_literals;

// Owners for the extension structures handles.hpp has no alias for (tests decode more than the library).
template <auto Free>
struct freer {
  template <typename T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
template <typename T, auto Free>
using owned = std::unique_ptr<T, freer<Free>>;
using basic_constraints_ptr = owned<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>;
using bit_string_ptr = owned<ASN1_BIT_STRING, ASN1_BIT_STRING_free>;
using authority_keyid_ptr = owned<AUTHORITY_KEYID, AUTHORITY_KEYID_free>;
void free_eku(EXTENDED_KEY_USAGE* eku) { sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free); }
using eku_ptr = owned<EXTENDED_KEY_USAGE, free_eku>;

// A fresh X509 decoded from the DER, so nothing cached in the library's object can hide a defect.
x509_ptr parse(const certificate& cert) {
  std::string der = cert.to_der();
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  x509_ptr out{d2i_X509(nullptr, &cursor, static_cast<long>(der.size()))};
  EXPECT_TRUE(out) << "d2i_X509 failed";
  return out;
}

// The decoded extension and its criticality: -1 absent, -2 present more than once, else 0/1.
template <typename Ptr>
Ptr extension(X509* cert, int nid, int& critical) {
  return Ptr{static_cast<typename Ptr::pointer>(X509_get_ext_d2i(cert, nid, &critical, nullptr))};
}

// The key usage bits that are set, by name, so a failure says which bit is wrong.
std::set<std::string> key_usage_bits(X509* cert, int& critical) {
  static const char* const names[] = {"digitalSignature", "nonRepudiation", "keyEncipherment",
                                      "dataEncipherment", "keyAgreement",   "keyCertSign",
                                      "cRLSign",          "encipherOnly",   "decipherOnly"};
  auto bits = extension<bit_string_ptr>(cert, NID_key_usage, critical);
  std::set<std::string> out;
  if (!bits) return out;
  for (int i = 0; i < 9; ++i)
    if (ASN1_BIT_STRING_get_bit(bits.get(), i)) out.insert(names[i]);
  return out;
}

std::set<int> extended_key_usages(X509* cert) {
  int critical = 0;
  auto eku = extension<eku_ptr>(cert, NID_ext_key_usage, critical);
  std::set<int> out;
  if (!eku) return out;
  for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i) out.insert(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku.get(), i)));
  return out;
}

std::string octets(const ASN1_OCTET_STRING* s) {
  return s ? std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<size_t>(ASN1_STRING_length(s)))
           : std::string();
}

std::string subject_key_id(X509* cert) {
  int critical = 0;
  return octets(extension<tlsfix::ca::asn1_octet_string_ptr>(cert, NID_subject_key_identifier, critical).get());
}

int digest_nid(X509* cert) {
  int md = NID_undef, pk = NID_undef;
  EXPECT_EQ(OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md, &pk), 1);
  return md;
}

int expected_digest(key_type issuer_key) {
  switch (issuer_key) {
    case key_type::ecdsa_p384:
      return NID_sha384;
    case key_type::ed25519:
      return NID_undef;  // EdDSA hashes internally
    default:
      return NID_sha256;
  }
}

bool is_rsa(key_type k) { return k == key_type::rsa_2048 || k == key_type::rsa_3072 || k == key_type::rsa_4096; }

struct profile_case {
  key_type key;
  bool via_intermediate;
};

void PrintTo(const profile_case& c, std::ostream* os) {
  *os << tlsfix::ca::to_string(c.key) << (c.via_intermediate ? " via intermediate" : " via root");
}

std::string identifier(key_type k) {
  std::string name{tlsfix::ca::to_string(k)};
  for (auto& c : name)
    if (c == '-') c = '_';
  return name;
}

std::string case_name(const ::testing::TestParamInfo<profile_case>& param_info) {
  return identifier(param_info.param.key) + (param_info.param.via_intermediate ? "_intermediate" : "_root");
}

const std::vector<profile_case> all_cases = {
    {key_type::ecdsa_p256, false}, {key_type::ecdsa_p256, true}, {key_type::ecdsa_p384, false},
    {key_type::ecdsa_p384, true},  {key_type::ed25519, false},   {key_type::ed25519, true},
    {key_type::rsa_2048, false},   {key_type::rsa_2048, true},
};

class LeafProfileTest : public ::testing::TestWithParam<profile_case> {
 protected:
  void SetUp() override {
    root_.emplace(certificate_authority::create({.key = GetParam().key}));
    issuer_.emplace(GetParam().via_intermediate ? root_->make_intermediate({.key = GetParam().key}) : *root_);
    // One leaf key per test: RSA generation is slow and the profile does not depend on the key's value.
    leaf_key_.emplace(private_key::generate(GetParam().key));
  }

  issued_cert issue(cert_request request) const {
    request.key = *leaf_key_;
    return issuer_->issue(request);
  }

  std::optional<certificate_authority> root_, issuer_;
  std::optional<private_key> leaf_key_;
};

TEST_P(LeafProfileTest, SerialIsPositiveBelow2To159AndRandomInEveryHalf) {
  std::set<std::string> serials, high_halves, low_halves;
  constexpr int count = 12;
  for (int i = 0; i < count; ++i) {
    auto cert = parse(issue({.names = {"service.test.local"}}).cert());
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
    tlsfix::ca::bignum_ptr number{ASN1_INTEGER_to_BN(serial, nullptr)};
    ASSERT_TRUE(number);
    EXPECT_FALSE(BN_is_negative(number.get()));
    EXPECT_FALSE(BN_is_zero(number.get()));
    EXPECT_GE(BN_num_bits(number.get()), 64);
    EXPECT_LE(BN_num_bits(number.get()), 159) << "must stay below 2^159 (20 DER bytes, positive)";
    std::string hex = certificate::from_native(cert.get()).serial_hex();
    serials.insert(hex);
    // A counter or a timestamp would repeat in one half: both halves must carry randomness.
    high_halves.insert(hex.substr(0, 16));
    low_halves.insert(hex.substr(hex.size() - 16));
  }
  EXPECT_EQ(serials.size(), size_t{count});
  EXPECT_EQ(high_halves.size(), size_t{count});
  EXPECT_EQ(low_halves.size(), size_t{count});
}

TEST_P(LeafProfileTest, IsVersion3) {
  auto leaf = issue({.names = {"service.test.local"}});
  EXPECT_EQ(X509_get_version(parse(leaf.cert()).get()), X509_VERSION_3);
  EXPECT_EQ(X509_get_version(parse(issuer_->cert()).get()), X509_VERSION_3);
}

TEST_P(LeafProfileTest, HasSubjectAltNameAndCriticalBasicConstraintsCaFalse) {
  auto cert = parse(issue({.names = {"service.test.local", "127.0.0.1"}}).cert());
  int critical = 0;
  auto sans = extension<tlsfix::ca::general_names_ptr>(cert.get(), NID_subject_alt_name, critical);
  ASSERT_TRUE(sans) << "criticality " << critical;
  EXPECT_EQ(sk_GENERAL_NAME_num(sans.get()), 2);

  auto basic = extension<basic_constraints_ptr>(cert.get(), NID_basic_constraints, critical);
  ASSERT_TRUE(basic);
  EXPECT_EQ(critical, 1);
  EXPECT_EQ(basic->ca, 0);
  EXPECT_EQ(basic->pathlen, nullptr);
}

TEST_P(LeafProfileTest, KeyUsageIsCriticalAndFitsTheKeyType) {
  auto cert = parse(issue({.names = {"service.test.local"}}).cert());
  int critical = 0;
  auto bits = key_usage_bits(cert.get(), critical);
  EXPECT_EQ(critical, 1);
  if (is_rsa(GetParam().key))
    EXPECT_THAT(bits, UnorderedElementsAre("digitalSignature", "keyEncipherment"));
  else
    EXPECT_THAT(bits, ElementsAre("digitalSignature"));
}

TEST_P(LeafProfileTest, ExtendedKeyUsageIsExactlyWhatUsageAsks) {
  auto eku_for = [&](usage u) {
    return extended_key_usages(parse(issue({.names = {"service.test.local"}, .usage = u}).cert()).get());
  };
  EXPECT_THAT(eku_for(usage::server), ElementsAre(NID_server_auth));
  EXPECT_THAT(eku_for(usage::client), ElementsAre(NID_client_auth));
  EXPECT_THAT(eku_for(usage::server_and_client), UnorderedElementsAre(NID_server_auth, NID_client_auth));
}

TEST_P(LeafProfileTest, AuthorityKeyIdIsTheIssuerSubjectKeyId) {
  auto cert = parse(issue({.names = {"service.test.local"}}).cert());
  auto issuer = parse(issuer_->cert());
  int critical = 0;
  auto aki = extension<authority_keyid_ptr>(cert.get(), NID_authority_key_identifier, critical);
  ASSERT_TRUE(aki);
  EXPECT_EQ(critical, 0);
  std::string issuer_ski = subject_key_id(issuer.get());
  ASSERT_FALSE(issuer_ski.empty());
  EXPECT_EQ(octets(aki->keyid), issuer_ski);

  std::string own_ski = subject_key_id(cert.get());
  EXPECT_FALSE(own_ski.empty());
  EXPECT_NE(own_ski, issuer_ski);
}

TEST_P(LeafProfileTest, HasNoCommonNameUnlessOneIsGiven) {
  auto plain = parse(issue({.names = {"service.test.local"}}).cert());
  EXPECT_EQ(X509_NAME_get_index_by_NID(X509_get_subject_name(plain.get()), NID_commonName, -1), -1);

  auto named = issue({.names = {"service.test.local"}, .common_name = "legacy-service"});
  EXPECT_EQ(named.cert().subject(), "CN=legacy-service,O=tlsfix");
}

TEST_P(LeafProfileTest, SignatureDigestFollowsTheIssuerKey) {
  auto leaf = parse(issue({.names = {"service.test.local"}}).cert());
  auto issuer = parse(issuer_->cert());
  EXPECT_EQ(digest_nid(leaf.get()), expected_digest(GetParam().key));
  EXPECT_EQ(digest_nid(issuer.get()), expected_digest(GetParam().key));
  EXPECT_EQ(X509_verify(leaf.get(), X509_get0_pubkey(issuer.get())), 1);
  // Negative control: the signature does not verify under some other CA's key.
  auto stranger = certificate_authority::create();
  EXPECT_NE(X509_verify(leaf.get(), stranger.key().native()), 1);
}

TEST_P(LeafProfileTest, PassesStrictVerification) {
  auto leaf = issue({.names = {"service.test.local"}});
  auto result = tlsfix::ca::verify(leaf.cert(),
                                   {.roots = {root_->root()}, .untrusted = leaf.chain(), .name = "service.test.local"});
  EXPECT_TRUE(result.ok()) << result.message();
}

INSTANTIATE_TEST_SUITE_P(KeyTypesAndIssuers, LeafProfileTest, ::testing::ValuesIn(all_cases), case_name);

std::string key_type_name(const ::testing::TestParamInfo<key_type>& param_info) { return identifier(param_info.param); }

class CaProfileTest : public ::testing::TestWithParam<key_type> {};

TEST_P(CaProfileTest, RootIsACriticalCaWithCertAndCrlSigningOnly) {
  auto ca = certificate_authority::create({.key = GetParam()});
  auto root = parse(ca.cert());
  EXPECT_EQ(X509_get_version(root.get()), X509_VERSION_3);
  int critical = 0;
  auto basic = extension<basic_constraints_ptr>(root.get(), NID_basic_constraints, critical);
  ASSERT_TRUE(basic);
  EXPECT_EQ(critical, 1);
  EXPECT_NE(basic->ca, 0);
  EXPECT_EQ(basic->pathlen, nullptr);
  EXPECT_THAT(key_usage_bits(root.get(), critical), UnorderedElementsAre("keyCertSign", "cRLSign"));
  EXPECT_EQ(critical, 1);
  EXPECT_FALSE(subject_key_id(root.get()).empty());
  EXPECT_EQ(X509_self_signed(root.get(), 1), 1) << "self-signed, signature checked";
  EXPECT_EQ(digest_nid(root.get()), expected_digest(GetParam()));
}

TEST_P(CaProfileTest, IntermediateIsACriticalCaUnderItsRoot) {
  auto ca = certificate_authority::create({.key = GetParam()});
  auto sub = ca.make_intermediate({.key = GetParam()});
  auto cert = parse(sub.cert());
  int critical = 0;
  auto basic = extension<basic_constraints_ptr>(cert.get(), NID_basic_constraints, critical);
  ASSERT_TRUE(basic);
  EXPECT_EQ(critical, 1);
  EXPECT_NE(basic->ca, 0);
  EXPECT_THAT(key_usage_bits(cert.get(), critical), UnorderedElementsAre("keyCertSign", "cRLSign"));
  EXPECT_EQ(critical, 1);
  auto aki = extension<authority_keyid_ptr>(cert.get(), NID_authority_key_identifier, critical);
  ASSERT_TRUE(aki);
  EXPECT_EQ(octets(aki->keyid), subject_key_id(parse(ca.cert()).get()));
  EXPECT_FALSE(subject_key_id(cert.get()).empty());
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, CaProfileTest,
                         ::testing::Values(key_type::ecdsa_p256, key_type::ecdsa_p384, key_type::ed25519,
                                           key_type::rsa_2048),
                         key_type_name);

std::string ip_text(const unsigned char* bytes, size_t size) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(size == 4 ? AF_INET : AF_INET6, bytes, text, sizeof text);
  return text;
}

// Permitted subtrees as "DNS:test" or "IP:127.0.0.0/255.0.0.0"; nullopt when the extension is absent.
std::optional<std::vector<std::string>> permitted_subtrees(const certificate& ca_cert, int& critical) {
  auto cert = parse(ca_cert);
  auto constraints = extension<tlsfix::ca::name_constraints_ptr>(cert.get(), NID_name_constraints, critical);
  if (!constraints) return std::nullopt;
  EXPECT_EQ(constraints->excludedSubtrees, nullptr);
  std::vector<std::string> out;
  for (int i = 0; i < sk_GENERAL_SUBTREE_num(constraints->permittedSubtrees); ++i) {
    const GENERAL_SUBTREE* tree = sk_GENERAL_SUBTREE_value(constraints->permittedSubtrees, i);
    EXPECT_EQ(tree->minimum, nullptr);
    EXPECT_EQ(tree->maximum, nullptr);
    int type = 0;
    auto* value = static_cast<ASN1_STRING*>(GENERAL_NAME_get0_value(tree->base, &type));
    const unsigned char* data = ASN1_STRING_get0_data(value);
    auto size = static_cast<size_t>(ASN1_STRING_length(value));
    if (type == GEN_DNS)
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(data), size));
    else if (type == GEN_IPADD && (size == 8 || size == 32))
      out.push_back("IP:" + ip_text(data, size / 2) + "/" + ip_text(data + size / 2, size / 2));
    else
      out.push_back("unexpected type " + std::to_string(type));
  }
  return out;
}

const std::vector<std::string> default_subtrees = {"DNS:test", "DNS:test.local", "DNS:localhost",
                                                   "IP:127.0.0.0/255.0.0.0",
                                                   "IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};

TEST(RootNameConstraintsTest, AreCriticalAndPermitExactlyTheTestNames) {
  int critical = 0;
  auto subtrees = permitted_subtrees(certificate_authority::create().cert(), critical);
  ASSERT_TRUE(subtrees);
  EXPECT_EQ(critical, 1);
  EXPECT_THAT(*subtrees, UnorderedElementsAreArray(default_subtrees));
}

TEST(RootNameConstraintsTest, AddUserPermittedNames) {
  int critical = 0;
  auto ca = certificate_authority::create({.permitted_names = {"svc.cluster.local", "10.0.0.0/8", "fd00::/8"}});
  auto subtrees = permitted_subtrees(ca.cert(), critical);
  ASSERT_TRUE(subtrees);
  EXPECT_EQ(critical, 1);
  auto expected = default_subtrees;
  expected.insert(expected.end(), {"DNS:svc.cluster.local", "IP:10.0.0.0/255.0.0.0", "IP:fd00::/ff00::"});
  EXPECT_THAT(*subtrees, UnorderedElementsAreArray(expected));
}

TEST(RootNameConstraintsTest, AreAbsentWhenUnconstrained) {
  int critical = 0;
  EXPECT_FALSE(permitted_subtrees(certificate_authority::create({.unconstrained = true}).cert(), critical));
  EXPECT_EQ(critical, -1);
}

TEST(RootNameConstraintsTest, IntermediatesAddNoneOfTheirOwn) {
  int critical = 0;
  auto sub = certificate_authority::create().make_intermediate();
  EXPECT_FALSE(permitted_subtrees(sub.cert(), critical));
}

TEST(RootValidityTest, IsBackdatedAboutAnHour) {
  auto before = std::chrono::system_clock::now();
  auto ca = certificate_authority::create();
  auto after = std::chrono::system_clock::now();
  // Certificate times have whole seconds; allow a little slack either way.
  EXPECT_GE(ca.cert().not_before(), before - 1h - 2s);
  EXPECT_LE(ca.cert().not_before(), after - 1h + 2s);
  EXPECT_GE(ca.cert().not_after(), before + std::chrono::hours(24 * 365) - 2s);
  EXPECT_LE(ca.cert().not_after(), after + std::chrono::hours(24 * 365) + 2s);
}

long path_length(const certificate& cert) { return X509_get_pathlen(parse(cert).get()); }

TEST(IntermediatePathLengthTest, IsUnlimitedByDefaultAndCountsDownWhenSet) {
  auto ca = certificate_authority::create();
  EXPECT_EQ(path_length(ca.make_intermediate().cert()), -1);
  auto limited = ca.make_intermediate({.path_length = 2});
  EXPECT_EQ(path_length(limited.cert()), 2);
  auto below = limited.make_intermediate();
  EXPECT_EQ(path_length(below.cert()), 1) << "inherits one less than its parent";
  EXPECT_EQ(path_length(below.make_intermediate({.path_length = 0}).cert()), 0);
}

TEST(LargeRsaProfileTest, Rsa4096RootIssuesRsa3072Leaf) {
  // The slow key sizes, once: they share the RSA profile tested above for RSA-2048.
  auto ca = certificate_authority::create({.key = key_type::rsa_4096});
  auto leaf = ca.issue({.names = {"service.test.local"}, .key = key_type::rsa_3072});
  auto root = parse(ca.cert());
  auto cert = parse(leaf.cert());
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(root.get())), 4096);
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(cert.get())), 3072);
  EXPECT_EQ(leaf.key().type(), key_type::rsa_3072);
  int critical = 0;
  EXPECT_THAT(key_usage_bits(cert.get(), critical), UnorderedElementsAre("digitalSignature", "keyEncipherment"));
  EXPECT_EQ(digest_nid(cert.get()), NID_sha256);
  auto result = tlsfix::ca::verify(leaf.cert(), {.roots = {ca.root()}, .name = "service.test.local"});
  EXPECT_TRUE(result.ok()) << result.message();
}

}  // namespace
