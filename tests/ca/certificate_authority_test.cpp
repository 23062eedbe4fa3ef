// certificate_authority: issuing, chains of intermediates, path lengths, key reuse, resuming a saved
// CA with load() (and every way a saved CA can be wrong), and issuing from several threads.
#include "tlsfix/ca/certificate_authority.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tlsfix/error.hpp"
#include "tlsfix/ca/verify.hpp"
#include "error_text.hpp"

namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using tlsfix::ca::certificate;
using tlsfix::ca::certificate_authority;
using tlsfix::ca::issued_cert;
using tlsfix::ca::key_type;
using tlsfix::ca::private_key;

using tlsfix::test::error_from;

tlsfix::ca::verify_result verify_leaf(const issued_cert& leaf, const certificate& root,
                                      const std::string& name = "service.test.local") {
  return tlsfix::ca::verify(leaf.cert(), {.roots = {root}, .untrusted = leaf.chain(), .name = name});
}

TEST(CertificateAuthorityTest, CreateAndIssueVerify) {
  auto ca = certificate_authority::create();
  EXPECT_TRUE(ca.cert().is_ca());
  EXPECT_TRUE(ca.cert().is_self_signed());
  EXPECT_EQ(ca.root(), ca.cert());
  EXPECT_THAT(ca.chain(), IsEmpty());
  auto leaf = ca.issue("service.test.local");
  EXPECT_EQ(leaf.root(), ca.root());
  EXPECT_THAT(leaf.chain(), ElementsAre(leaf.cert()));
  auto result = verify_leaf(leaf, ca.root());
  EXPECT_TRUE(result.ok()) << result.message();
  EXPECT_THAT(result.chain, ElementsAre(leaf.cert(), ca.root()));
}

TEST(CertificateAuthorityTest, RootSubjectsAreRandomUnlessNamed) {
  auto a = certificate_authority::create();
  auto b = certificate_authority::create();
  EXPECT_THAT(a.cert().subject(), HasSubstr("CN=tlsfix test CA "));
  EXPECT_NE(a.cert().subject(), b.cert().subject());
  EXPECT_EQ(certificate_authority::create({.common_name = "Payments Test Root"}).cert().subject(),
            "CN=Payments Test Root,O=tlsfix");
}

class IntermediateDepthTest : public ::testing::TestWithParam<int> {};

TEST_P(IntermediateDepthTest, ChainOfAnyDepthVerifies) {
  auto root = certificate_authority::create();
  auto issuer = root;
  std::vector<certificate> intermediates;  // nearest the root first
  for (int i = 0; i < GetParam(); ++i) {
    issuer = issuer.make_intermediate();
    intermediates.push_back(issuer.cert());
    EXPECT_EQ(issuer.root(), root.cert());
    EXPECT_FALSE(issuer.cert().is_self_signed());
  }
  auto leaf = issuer.issue("service.test.local");
  ASSERT_EQ(leaf.chain().size(), static_cast<size_t>(GetParam()) + 1) << "leaf and intermediates, root excluded";
  EXPECT_EQ(leaf.chain().front(), leaf.cert());
  for (int i = 0; i < GetParam(); ++i)
    EXPECT_EQ(leaf.chain()[static_cast<size_t>(GetParam() - i)], intermediates[static_cast<size_t>(i)]);
  EXPECT_EQ(issuer.chain(), std::vector<certificate>(leaf.chain().begin() + 1, leaf.chain().end()));

  auto result = verify_leaf(leaf, root.root());
  EXPECT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(result.chain.size(), static_cast<size_t>(GetParam()) + 2);

  // Negative control: without the intermediates the chain cannot be built.
  auto alone = tlsfix::ca::verify(leaf.cert(), {.roots = {root.root()}, .name = "service.test.local"});
  EXPECT_EQ(alone.error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) << alone.message();
}

INSTANTIATE_TEST_SUITE_P(Depths, IntermediateDepthTest, ::testing::Values(1, 2, 3));

TEST(PathLengthTest, CaWithPathLengthZeroCannotMakeAnIntermediate) {
  auto root = certificate_authority::create();
  auto last = root.make_intermediate({.path_length = 0});
  EXPECT_NO_THROW(last.issue("service.test.local")) << "it may still issue leaves";
  EXPECT_THAT(error_from([&] { last.make_intermediate(); }),
              AllOf(HasSubstr("make_intermediate"), HasSubstr("path length 0"), HasSubstr(last.cert().subject())));
}

TEST(PathLengthTest, ChildMayNotClaimMoreThanItsParentAllows) {
  auto limited = certificate_authority::create().make_intermediate({.path_length = 1});
  EXPECT_THAT(error_from([&] { limited.make_intermediate({.path_length = 1}); }),
              AllOf(HasSubstr("intermediate_options.path_length: 1"), HasSubstr("path length 1")));
  EXPECT_NO_THROW(limited.make_intermediate({.path_length = 0}));
  EXPECT_THAT(error_from([&] { certificate_authority::create().make_intermediate({.path_length = -1}); }),
              HasSubstr("intermediate_options.path_length: -1"));
}

TEST(PathLengthTest, CountedDownChainStillVerifiesToTheEnd) {
  auto root = certificate_authority::create();
  auto first = root.make_intermediate({.path_length = 1});
  auto second = first.make_intermediate();
  EXPECT_THAT(error_from([&] { second.make_intermediate(); }), HasSubstr("path length 0"));
  auto leaf = second.issue("service.test.local");
  auto result = verify_leaf(leaf, root.root());
  EXPECT_TRUE(result.ok()) << result.message();
}

TEST(KeyReuseTest, SameKeyInTwoLeaves) {
  auto ca = certificate_authority::create();
  auto key = private_key::generate(key_type::ecdsa_p384);
  auto first = ca.issue({.names = {"a.test"}, .key = key});
  auto second = ca.issue({.names = {"b.test"}, .key = key});
  EXPECT_EQ(first.key().public_der(), key.public_der());
  EXPECT_EQ(second.key().public_der(), key.public_der());
  EXPECT_EQ(first.key().type(), key_type::ecdsa_p384);
  EXPECT_NE(first.cert(), second.cert());
  EXPECT_EQ(X509_check_private_key(second.cert().native(), key.native()), 1);
  // Negative control: a key type (not a key) means a fresh key each time.
  auto third = ca.issue({.names = {"c.test"}, .key = key_type::ecdsa_p384});
  EXPECT_NE(third.key().public_der(), key.public_der());
}

TEST(LoadTest, RootRoundTripsAndKeepsIssuing) {
  auto ca = certificate_authority::create();
  auto loaded = certificate_authority::load(ca.cert().to_pem(), ca.key().to_pem());
  EXPECT_EQ(loaded.cert(), ca.cert());
  EXPECT_EQ(loaded.root(), ca.root());
  EXPECT_THAT(loaded.chain(), IsEmpty());
  EXPECT_EQ(loaded.key().public_der(), ca.key().public_der());
  auto leaf = loaded.issue("service.test.local");
  auto result = verify_leaf(leaf, ca.root());
  EXPECT_TRUE(result.ok()) << result.message();
}

TEST(LoadTest, EncryptedKeyWithPassphrase) {
  auto ca = certificate_authority::create({.key = key_type::ecdsa_p384});
  auto loaded = certificate_authority::load(ca.cert().to_pem(), ca.key().to_pem("correct horse"), "correct horse");
  EXPECT_EQ(loaded.key().public_der(), ca.key().public_der());
  EXPECT_EQ(loaded.key().type(), key_type::ecdsa_p384);
}

TEST(LoadTest, WrongOrMissingPassphrase) {
  auto ca = certificate_authority::create();
  auto pem = ca.key().to_pem("correct horse");
  EXPECT_THAT(error_from([&] { certificate_authority::load(ca.cert().to_pem(), pem, "battery staple"); }),
              AllOf(HasSubstr("CA key"), HasSubstr("wrong passphrase")));
  EXPECT_THAT(error_from([&] { certificate_authority::load(ca.cert().to_pem(), pem); }),
              AllOf(HasSubstr("CA key"), HasSubstr("no passphrase was given")));
}

TEST(LoadTest, IntermediateWithItsChain) {
  auto root = certificate_authority::create();
  auto first = root.make_intermediate();
  auto second = first.make_intermediate();
  std::string chain_pem = first.cert().to_pem() + root.cert().to_pem();
  auto loaded = certificate_authority::load(second.cert().to_pem(), second.key().to_pem(), {}, chain_pem);
  EXPECT_EQ(loaded.root(), root.cert());
  EXPECT_THAT(loaded.chain(), ElementsAre(second.cert(), first.cert()));
  auto leaf = loaded.issue("service.test.local");
  EXPECT_THAT(leaf.chain(), ElementsAre(leaf.cert(), second.cert(), first.cert()));
  auto result = verify_leaf(leaf, root.root());
  EXPECT_TRUE(result.ok()) << result.message();
}

TEST(LoadTest, KeyThatDoesNotMatchTheCertificate) {
  auto ca = certificate_authority::create();
  auto other = private_key::generate();
  EXPECT_THAT(error_from([&] { certificate_authority::load(ca.cert().to_pem(), other.to_pem()); }),
              AllOf(HasSubstr("CA key"), HasSubstr("does not match"), HasSubstr(ca.cert().subject())));
}

TEST(LoadTest, CertificateThatIsNotACa) {
  auto ca = certificate_authority::create();
  auto leaf = ca.issue("service.test.local");
  EXPECT_THAT(error_from([&] { certificate_authority::load(leaf.cert_pem(), leaf.key_pem(), {}, ca.cert().to_pem()); }),
              AllOf(HasSubstr("CA certificate"), HasSubstr("is not a CA")));
}

TEST(LoadTest, GarbledPem) {
  auto ca = certificate_authority::create();
  std::string pem = ca.cert().to_pem();
  pem[pem.size() / 2] = pem[pem.size() / 2] == 'A' ? '*' : 'A';
  pem.insert(pem.size() / 2, "!!");
  EXPECT_THAT(error_from([&] { certificate_authority::load(pem, ca.key().to_pem()); }),
              AllOf(HasSubstr("CA certificate"), HasSubstr("damaged")));
  EXPECT_THAT(error_from([&] { certificate_authority::load("not a certificate", ca.key().to_pem()); }),
              AllOf(HasSubstr("CA certificate"), HasSubstr("no PEM certificate")));
  EXPECT_THAT(error_from([&] { certificate_authority::load(ca.cert().to_pem(), "not a key"); }),
              AllOf(HasSubstr("CA key"), HasSubstr("not a PEM private key")));
}

TEST(LoadTest, ChainThatDoesNotEndInARoot) {
  auto root = certificate_authority::create();
  auto first = root.make_intermediate();
  auto second = first.make_intermediate();
  // No chain at all for an intermediate.
  EXPECT_THAT(error_from([&] { certificate_authority::load(second.cert().to_pem(), second.key().to_pem()); }),
              AllOf(HasSubstr("CA chain"), HasSubstr("not a self-signed root"), HasSubstr(second.cert().subject())));
  // The chain stops short of the root.
  EXPECT_THAT(error_from([&] {
                certificate_authority::load(second.cert().to_pem(), second.key().to_pem(), {}, first.cert().to_pem());
              }),
              AllOf(HasSubstr("not a self-signed root"), HasSubstr(first.cert().subject())));
  // The chain skips a link.
  EXPECT_THAT(error_from([&] {
                certificate_authority::load(second.cert().to_pem(), second.key().to_pem(), {}, root.cert().to_pem());
              }),
              AllOf(HasSubstr("did not issue"), HasSubstr(second.cert().subject())));
  // The chain ends in somebody else's root.
  auto stranger = certificate_authority::create();
  EXPECT_THAT(error_from([&] {
                certificate_authority::load(second.cert().to_pem(), second.key().to_pem(), {},
                                            first.cert().to_pem() + stranger.cert().to_pem());
              }),
              HasSubstr("did not issue"));
}

TEST(LoadTest, ConstraintsOfALoadedCaAreStillEnforced) {
  auto root = certificate_authority::create({.permitted_names = {"svc.cluster.local"}});
  auto loaded_root = certificate_authority::load(root.cert().to_pem(), root.key().to_pem());
  EXPECT_NO_THROW(loaded_root.issue("api.svc.cluster.local")) << "the user's addition survives the round trip";
  EXPECT_THAT(error_from([&] { loaded_root.issue("example.com"); }), HasSubstr("outside the name constraints"));
  EXPECT_THAT(error_from([&] { loaded_root.issue("10.1.2.3"); }), HasSubstr("outside the name constraints"));

  // An unconstrained intermediate under a constrained root inherits the root's limits.
  auto sub = root.make_intermediate();
  auto loaded_sub = certificate_authority::load(sub.cert().to_pem(), sub.key().to_pem(), {}, root.cert().to_pem());
  EXPECT_NO_THROW(loaded_sub.issue("service.test.local"));
  EXPECT_THAT(error_from([&] { loaded_sub.issue("example.com"); }), HasSubstr("outside the name constraints"));

  // Negative control: a loaded unconstrained root really is unconstrained.
  auto open = certificate_authority::create({.unconstrained = true});
  auto loaded_open = certificate_authority::load(open.cert().to_pem(), open.key().to_pem());
  EXPECT_NO_THROW(loaded_open.issue("example.com"));
}

TEST(ThreadSafetyTest, FourThreadsIssueRevokeAndListConcurrently) {
  auto ca = certificate_authority::create();
  auto sub = ca.make_intermediate();
  constexpr int threads = 4, per_thread = 8;
  std::mutex mutex;
  std::vector<issued_cert> leaves;
  std::vector<std::string> failures;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      try {
        for (int i = 0; i < per_thread; ++i) {
          auto leaf = sub.issue("t" + std::to_string(t) + "-" + std::to_string(i) + ".test.local");
          if (i % 4 == 0) sub.revoke(leaf.cert());
          if (i % 4 == 1) (void)sub.crl();
          std::lock_guard lock(mutex);
          leaves.push_back(leaf);
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        failures.push_back(e.what());
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_THAT(failures, IsEmpty());
  ASSERT_EQ(leaves.size(), size_t{threads * per_thread});

  std::set<std::string> serials;
  for (const auto& leaf : leaves) {
    serials.insert(leaf.cert().serial_hex());
    std::string name = leaf.cert().subject_alt_names().at(0).substr(4);
    auto result = verify_leaf(leaf, ca.root(), name);
    EXPECT_TRUE(result.ok()) << name << ": " << result.message();
  }
  EXPECT_EQ(serials.size(), leaves.size());
  EXPECT_EQ(sub.crl().revoked_serials().size(), size_t{threads * (per_thread / 4)});
}

}  // namespace
