// tlsfix::harness::test_client against real servers from Debian packages (nginx, HAProxy) that
// serve tlsfix-issued material from files, the way a deployment would. Each positive case is
// paired with negative controls that must fail with the specific X509_V_ERR_* code; the
// missing-intermediate control uses a server that really forgets to send it.
#include <openssl/x509_vfy.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "interop_peer.hpp"

namespace {

using namespace tlsfix;
using interop::kHost;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

// Issued below an intermediate, so that whether a server sends the whole chain matters.
class ServerPeerTest : public interop::PeerTest {
 protected:
  using PeerTest::PeerTest;

  void SetUp() override {
    PeerTest::SetUp();
    if (IsSkipped()) return;
    leaf_.write_to(material_);  // cert.pem (leaf only), key.pem, fullchain.pem, bundle.pem, ca.crt
  }

  harness::client_options client_for(std::uint16_t port) const {
    return {.host = kHost, .port = port, .trust = trust_};
  }

  // A fresh directory per server instance, for its configuration, logs and temp files.
  fs::path instance_dir(const std::string& program) {
    auto dir = dir_ / (program + "-" + std::to_string(++instances_));
    ca::create_private_directory(dir);
    return dir;
  }

  // The negative controls every server shares: the client is right to refuse both.
  void expect_client_refuses_impostor_setups(std::uint16_t port) {
    struct failure {
      std::string what;
      harness::client_options options;
      int verify_error;
    };
    auto another_root = client_for(port);
    another_root.trust = other_trust_;
    auto wrong_host = client_for(port);
    wrong_host.host = "other.test.local";  // the server answers any name with its one certificate
    for (const auto& c : {failure{"another CA's root", another_root, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
                          failure{"wrong host", wrong_host, X509_V_ERR_HOSTNAME_MISMATCH}}) {
      SCOPED_TRACE(c.what);
      harness::test_client client(c.options);
      auto result = client.handshake();
      EXPECT_FALSE(result.ok());
      EXPECT_EQ(result.failure.verify_error, c.verify_error) << result.message();
      EXPECT_THROW(client.get("/"), tlsfix::error) << "a request must never reach an unverified peer";
    }
  }

  ca::issued_cert leaf_ = ca_.make_intermediate().issue(kHost);
  fs::path material_ = dir_ / "tls";

 private:
  int instances_ = 0;
};

// ---------------------------------------------------------------------------------------------
// nginx

class NginxTest : public ServerPeerTest {
 protected:
  NginxTest() : ServerPeerTest("nginx") {}

  // nginx in the foreground as one process, everything under its own directory: Debian's
  // compiled-in paths (nginx -V: /run/nginx.pid, /var/lib/nginx/*, /var/log/nginx, /var/lock)
  // are all overridden, so it needs no root and shares nothing with a system nginx. `-e` covers
  // the time before the configuration's error_log takes over. `server_extra` goes into the
  // server block.
  test::listening_child start_nginx(const fs::path& certificate, const std::string& server_extra = {},
                                    const std::string& response = "\"hello from nginx\\n\"") {
    auto home = instance_dir("nginx");
    return test::start_listening([&](std::uint16_t port) {
      auto conf = home / ("nginx-" + std::to_string(port) + ".conf");
      ca::write_file(conf, config(home, port, certificate, server_extra, response), ca::file_mode::public_read);
      return std::vector<std::string>{"nginx", "-e", (home / "startup.log").string(), "-p", home.string() + "/",
                                      "-c", conf.string(), "-g", "daemon off; master_process off;"};
    });
  }

 private:
  std::string config(const fs::path& home, std::uint16_t port, const fs::path& certificate,
                     const std::string& server_extra, const std::string& response) const {
    auto at = [&](const std::string& name) { return (home / name).string(); };
    return "pid " + at("nginx.pid") + ";\n"
           "lock_file " + at("nginx.lock") + ";\n"
           "error_log " + at("error.log") + " info;\n"
           "error_log stderr warn;\n"  // also in the child's output, which a failed start reports
           "events { worker_connections 64; }\n"
           "http {\n"
           "  access_log " + at("access.log") + ";\n"
           "  client_body_temp_path " + at("client_body") + ";\n"
           "  proxy_temp_path " + at("proxy") + ";\n"
           "  fastcgi_temp_path " + at("fastcgi") + ";\n"
           "  uwsgi_temp_path " + at("uwsgi") + ";\n"
           "  scgi_temp_path " + at("scgi") + ";\n"
           "  default_type text/plain;\n"
           "  server {\n"
           "    listen 127.0.0.1:" + std::to_string(port) + " ssl;\n"
           "    server_name " + kHost + ";\n"
           "    ssl_certificate " + certificate.string() + ";\n"
           "    ssl_certificate_key " + (material_ / "key.pem").string() + ";\n"
           "    ssl_protocols TLSv1.2 TLSv1.3;\n"
           "    " + server_extra + "\n"
           "    location / { return 200 " + response + "; }\n"
           "  }\n"
           "}\n";
  }
};

TEST_F(NginxTest, ServesTheFullChainToAVerifyingClient) {
  auto nginx = start_nginx(material_ / "fullchain.pem");
  harness::test_client client(client_for(nginx.port));
  auto result = client.handshake();
  ASSERT_TRUE(result.ok()) << result.message();
  ASSERT_EQ(result.peer_chain.size(), 2u) << "leaf and intermediate";
  EXPECT_EQ(result.peer_chain[0], leaf_.cert());
  EXPECT_EQ(result.peer_chain[1], leaf_.chain()[1]);

  auto response = client.get("/");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "hello from nginx\n");
}

TEST_F(NginxTest, FailsEachNegativeControlForItsReason) {
  auto nginx = start_nginx(material_ / "fullchain.pem");
  expect_client_refuses_impostor_setups(nginx.port);
}

// The classic deployment mistake: ssl_certificate names the leaf alone. Browsers with cached
// intermediates may hide it; a strict client must not.
TEST_F(NginxTest, WithoutItsIntermediateFailsVerification) {
  auto nginx = start_nginx(material_ / "cert.pem");
  auto result = harness::test_client(client_for(nginx.port)).handshake();
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.peer_chain.size(), 1u);
  EXPECT_EQ(result.failure.verify_error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) << result.message();
}

TEST_F(NginxTest, VerifiesTheClientCertificateForMutualTls) {
  auto client_ca = ca::certificate_authority::create();
  auto client_ca_file = dir_ / "client-ca.pem";
  ca::write_file(client_ca_file, client_ca.root().to_pem(), ca::file_mode::public_read);
  // nginx finishes the handshake either way and answers 400 itself; $ssl_client_s_dn shows
  // which client it verified.
  auto nginx = start_nginx(material_ / "fullchain.pem",
                           "ssl_verify_client on; ssl_client_certificate " + client_ca_file.string() + ";",
                           "\"client=$ssl_client_s_dn\\n\"");

  auto alice = client_for(nginx.port);
  alice.identity = client_ca.issue({.names = {"alice@test.local"}, .common_name = "alice", .usage = ca::usage::client});
  auto response = harness::test_client(alice).get("/");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "client=" + alice.identity->cert().subject() + "\n");
  EXPECT_THAT(response.body(), HasSubstr("CN=alice"));

  response = harness::test_client(client_for(nginx.port)).get("/");
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_THAT(response.body(), HasSubstr("No required SSL certificate was sent"));

  auto mallory = client_for(nginx.port);
  mallory.identity = ca::certificate_authority::create().issue(
      {.names = {"mallory@test.local"}, .common_name = "mallory", .usage = ca::usage::client});
  response = harness::test_client(mallory).get("/");
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_THAT(response.body(), HasSubstr("The SSL certificate error"));
}

// ---------------------------------------------------------------------------------------------
// HAProxy

class HaproxyTest : public ServerPeerTest {
 protected:
  HaproxyTest() : ServerPeerTest("haproxy") {}

  // In the foreground (-db), no chroot, no user switch, no backend: the frontend answers itself.
  // `crt` takes one file with the chain and the key, which is what bundle_pem() is for.
  test::listening_child start_haproxy() {
    auto home = instance_dir("haproxy");
    return test::start_listening([&](std::uint16_t port) {
      auto cfg = home / ("haproxy-" + std::to_string(port) + ".cfg");
      ca::write_file(cfg,
                     "global\n"
                     "  maxconn 64\n"
                     "defaults\n"
                     "  mode http\n"
                     "  timeout connect 5s\n"
                     "  timeout client 10s\n"
                     "  timeout server 10s\n"
                     "frontend tls\n"
                     "  bind 127.0.0.1:" + std::to_string(port) + " ssl crt " + (material_ / "bundle.pem").string() + "\n"
                     "  http-request return status 200 content-type text/plain string \"hello from haproxy\"\n",
                     ca::file_mode::public_read);
      return std::vector<std::string>{"haproxy", "-db", "-f", cfg.string()};
    });
  }
};

TEST_F(HaproxyTest, ServesTheBundleToAVerifyingClient) {
  auto haproxy = start_haproxy();
  harness::test_client client(client_for(haproxy.port));
  auto result = client.handshake();
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(result.peer_chain.size(), 2u) << "leaf and intermediate from the bundle";

  auto response = client.get("/");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "hello from haproxy");
}

TEST_F(HaproxyTest, FailsEachNegativeControlForItsReason) {
  auto haproxy = start_haproxy();
  expect_client_refuses_impostor_setups(haproxy.port);
}

}  // namespace
