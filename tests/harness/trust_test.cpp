#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <tlsfix/harness.hpp>

namespace {

using namespace tlsfix;
using ::testing::ElementsAre;
using ::testing::Pair;

TEST(TrustTest, RequiresARoot) { EXPECT_THROW(harness::trust{std::vector<ca::certificate>{}}, tlsfix::error); }

TEST(TrustTest, WritesTheRootsToACaFileThatGoesAwayWithTheLastCopy) {
  auto a = ca::certificate_authority::create();
  auto b = ca::certificate_authority::create();
  std::filesystem::path path;
  {
    harness::trust roots{{a.root(), b.root()}};
    path = roots.ca_file();
    auto copy = roots;
    EXPECT_EQ(copy.ca_file(), path) << "copies share one file";
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = ca::certificate::chain_from_pem(text.str());
    ASSERT_EQ(parsed.size(), 2u);
    EXPECT_EQ(parsed[0], a.root());
    EXPECT_EQ(parsed[1], b.root());
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(TrustTest, EnvironmentPointsEveryKnownClientAtTheCaFile) {
  harness::trust roots{ca::certificate_authority::create().root()};
  std::string file = roots.ca_file().string();
  EXPECT_THAT(roots.environment(),
              ElementsAre(Pair("SSL_CERT_FILE", file), Pair("SSL_CERT_DIR", roots.ca_file().parent_path().string()),
                          Pair("CURL_CA_BUNDLE", file), Pair("REQUESTS_CA_BUNDLE", file),
                          Pair("NODE_EXTRA_CA_CERTS", file), Pair("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", file)));
}

TEST(TrustTest, CurlArgumentsResolveTheNameToLoopback) {
  harness::trust roots{ca::certificate_authority::create().root()};
  std::string file = roots.ca_file().string();
  std::string dir = roots.ca_file().parent_path().string();
  EXPECT_THAT(roots.curl_args("service.test.local", 8443),
              ElementsAre("--cacert", file, "--capath", dir, "--resolve", "service.test.local:8443:127.0.0.1"));
  EXPECT_THAT(roots.curl_args("service.test.local", 8443, "::1"),
              ElementsAre("--cacert", file, "--capath", dir, "--resolve", "service.test.local:8443:[::1]"));
}

TEST(TrustTest, InstallReplacesTheStoreAndTurnsOnVerification) {
  auto ca = ca::certificate_authority::create();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ASSERT_NE(ctx, nullptr);
  ASSERT_EQ(SSL_CTX_set_default_verify_paths(ctx), 1);  // what a careless client would do first
  harness::trust{ca.root()}.install(ctx);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER);
  auto* objects = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
  ASSERT_EQ(sk_X509_OBJECT_num(objects), 1);
  EXPECT_EQ(X509_cmp(X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, 0)), ca.root().native()), 0);
  SSL_CTX_free(ctx);
}

}  // namespace

namespace {

TEST(TrustFromFileTest, UsesTheGivenFileAsItsCaFile) {
  auto ca = tlsfix::ca::certificate_authority::create();
  tlsfix::ca::temp_file file{ca.root().to_pem(), "ca.crt"};
  {
    auto roots = tlsfix::harness::trust::from_file(file.path());
    ASSERT_EQ(roots.roots().size(), 1u);
    EXPECT_EQ(roots.roots()[0], ca.root());
    EXPECT_EQ(roots.ca_file(), file.path());
    EXPECT_EQ(roots.environment()[0].second, file.path().string());
  }
  EXPECT_TRUE(std::filesystem::exists(file.path())) << "a file it did not write is never removed";
  EXPECT_THROW(tlsfix::harness::trust::from_file(file.path().parent_path() / "missing.crt"), tlsfix::error);
}

}  // namespace
