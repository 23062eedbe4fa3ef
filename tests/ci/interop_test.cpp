// nginx and HAProxy serve straight from `tlsfix init` output; curl, openssl s_client, gnutls-cli
// and python3 verify them by name, and fail against the root of another init (negative control).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <optional>

#include "cli_support.hpp"

namespace {

using namespace tlsfix;
using namespace tlsfix::cli_test;
using ::testing::HasSubstr;

const std::string name = "service.test.local";

// One directory for all tests: the servers only read it.
class CliInteropTest : public InitDirectoriesTest {
 protected:
  static void SetUpTestSuite() { MakeDirectories(name, {"--ip", "127.0.0.1", "--client", "worker.test.local"}); }
  static fs::path service() { return dir() / name; }

  struct clients_result {
    test::run_result curl, openssl, gnutls, python;
  };
  static clients_result connect_all(std::uint16_t port, const fs::path& ca) {
    std::string p = std::to_string(port);
    clients_result out;
    out.curl = test::run(curl(ca, name, port));
    out.openssl = test::run({"openssl", "s_client", "-connect", "127.0.0.1:" + p, "-servername", name, "-verify_return_error",
                             "-verify_hostname", name, "-CAfile", ca.string()},
                            {}, std::chrono::seconds(10));
    out.gnutls = test::run({"gnutls-cli", "--x509cafile", ca.string(), "--verify-hostname", name, "-p", p, "127.0.0.1"}, {},
                           std::chrono::seconds(10));
    out.python = test::run({"python3", "-c",
                            "import socket, ssl, sys\n"
                            "ctx = ssl.create_default_context(cafile=sys.argv[1])\n"
                            "ctx.hostname_checks_common_name = False\n"
                            "with socket.create_connection(('127.0.0.1', int(sys.argv[2]))) as s:\n"
                            "    with ctx.wrap_socket(s, server_hostname=sys.argv[3]) as t:\n"
                            "        print('python verified', t.version())\n",
                            ca.string(), p, name},
                           {}, std::chrono::seconds(10));
    return out;
  }

  static void expect_all_verify(std::uint16_t port, const std::string& body) {
    auto r = connect_all(port, dir() / "ca.crt");
    EXPECT_EQ(r.curl.exit_status, 0) << r.curl.output;
    EXPECT_EQ(r.curl.output, body);
    EXPECT_EQ(r.openssl.exit_status, 0) << r.openssl.output;
    EXPECT_THAT(r.openssl.output, HasSubstr("Verify return code: 0 (ok)"));
    EXPECT_EQ(r.gnutls.exit_status, 0) << r.gnutls.output;
    EXPECT_THAT(r.gnutls.output, HasSubstr("The certificate is trusted"));
    EXPECT_EQ(r.python.exit_status, 0) << r.python.output;
    EXPECT_THAT(r.python.output, HasSubstr("python verified TLSv1.3"));
  }

  // The negative control: a root from another init is no root of this server.
  static void expect_all_reject_other_root(std::uint16_t port) {
    auto r = connect_all(port, other() / "ca.crt");
    EXPECT_EQ(r.curl.exit_status, 60) << r.curl.output;
    EXPECT_THAT(r.curl.output, HasSubstr("unable to get local issuer certificate"));
    EXPECT_NE(r.openssl.exit_status, 0);
    EXPECT_THAT(r.openssl.output, HasSubstr("unable to get local issuer certificate"));
    EXPECT_NE(r.gnutls.exit_status, 0);
    EXPECT_THAT(r.gnutls.output, HasSubstr("The certificate is NOT trusted"));
    EXPECT_NE(r.python.exit_status, 0);
    EXPECT_THAT(r.python.output, HasSubstr("CERTIFICATE_VERIFY_FAILED"));
  }
};

TEST_F(CliInteropTest, NginxServesFullchainAndKey) {
  if (!test::have_program("nginx")) GTEST_SKIP() << "nginx not installed";
  test::temp_dir run;
  auto port = test::free_port(), mtls_port = test::free_port();
  std::string r = run.path().string();
  std::ofstream(run / "nginx.conf") << "daemon off;\nmaster_process off;\npid " << r << "/nginx.pid;\nerror_log " << r
                                    << "/error.log;\nevents {}\nhttp {\n  access_log off;\n  client_body_temp_path " << r
                                    << "/body;\n  proxy_temp_path " << r << "/proxy;\n  fastcgi_temp_path " << r
                                    << "/fastcgi;\n  uwsgi_temp_path " << r << "/uwsgi;\n  scgi_temp_path " << r << "/scgi;\n"
                                    << "  ssl_protocols TLSv1.2 TLSv1.3;\n"
                                    << "  ssl_certificate " << (service() / "fullchain.pem").string() << ";\n"
                                    << "  ssl_certificate_key " << (service() / "key.pem").string() << ";\n"
                                    << "  server {\n    listen 127.0.0.1:" << port << " ssl;\n    server_name " << name
                                    << ";\n    location / { return 200 \"nginx ok\\n\"; }\n  }\n"
                                    << "  server {\n    listen 127.0.0.1:" << mtls_port << " ssl;\n"
                                    << "    ssl_client_certificate " << (dir() / "ca.crt").string() << ";\n"
                                    << "    ssl_verify_client on;\n"
                                    << "    location / { return 200 \"hello $ssl_client_s_dn\\n\"; }\n  }\n}\n";
  test::child nginx({"nginx", "-p", r, "-c", (run / "nginx.conf").string()});
  ASSERT_TRUE(test::wait_for_port(port) && test::wait_for_port(mtls_port)) << slurp(run / "error.log") << nginx.stop();
  expect_all_verify(port, "nginx ok\n");
  expect_all_reject_other_root(port);

  // mTLS: the --client identity is accepted; no certificate, or another init's, is not.
  auto worker = dir() / "worker.test.local";
  auto args = curl(dir() / "ca.crt", name, mtls_port);
  args.insert(args.begin() + 1, {"--cert", (worker / "fullchain.pem").string(), "--key", (worker / "key.pem").string()});
  auto with_cert = test::run(args);
  EXPECT_EQ(with_cert.exit_status, 0) << with_cert.output;
  EXPECT_THAT(with_cert.output, HasSubstr("hello O=tlsfix"));
  auto without = test::run(curl(dir() / "ca.crt", name, mtls_port));
  EXPECT_THAT(without.output, HasSubstr("No required SSL certificate was sent"));
  auto foreign_key = other() / name;
  args = curl(dir() / "ca.crt", name, mtls_port);
  args.insert(args.begin() + 1, {"--cert", (foreign_key / "fullchain.pem").string(), "--key", (foreign_key / "key.pem").string()});
  EXPECT_THAT(test::run(args).output, HasSubstr("The SSL certificate error"));

  // probe --cert/--key presents the same identity (the negative cases are in run_test.cpp: nginx
  // completes the handshake and refuses at the HTTP layer, which probe does not reach).
  std::string mtls_url = "https://" + name + ":" + std::to_string(mtls_port) + "/";
  auto probe = tlsfix_cli({"probe", mtls_url, "--ca", (dir() / "ca.crt").string(), "--cert", (worker / "fullchain.pem").string(),
                           "--key", (worker / "key.pem").string()});
  EXPECT_EQ(probe.exit_status, 0) << probe.output;
}

TEST_F(CliInteropTest, HaproxyServesTheCombinedPem) {
  if (!test::have_program("haproxy")) GTEST_SKIP() << "haproxy not installed";
  test::temp_dir run;
  auto port = test::free_port();
  std::ofstream(run / "haproxy.cfg") << "defaults\n  mode http\n  timeout connect 5s\n  timeout client 10s\n  timeout server 10s\n"
                                     << "frontend tls\n  bind 127.0.0.1:" << port << " ssl crt "
                                     << (service() / "service.pem").string() << "\n"
                                     << "  http-request return status 200 content-type text/plain string \"haproxy ok\"\n";
  test::child haproxy({"haproxy", "-db", "-f", (run / "haproxy.cfg").string()});
  ASSERT_TRUE(test::wait_for_port(port)) << haproxy.stop();
  expect_all_verify(port, "haproxy ok");
  expect_all_reject_other_root(port);
}

}  // namespace
