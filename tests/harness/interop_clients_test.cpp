// Real TLS clients from Debian packages (curl, openssl s_client, gnutls-cli, python3 ssl) against
// tlsfix::harness::tls_server, on loopback only. Each positive handshake is paired with negative
// controls that must fail for the specific, named reason, so a client that accepted everything
// (or a server that sent nothing useful) could not make this suite pass.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "interop_peer.hpp"

namespace {

using namespace tlsfix;
using interop::kHost;
using ::testing::AnyOfArray;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr auto kRunTimeout = std::chrono::seconds(15);
constexpr const char* kBody = "hello from tlsfix";

harness::http_handler hello() {
  return [](const harness::http_request& req) { return harness::text_response(req, 200, kBody); };
}

harness::tls_server serve(const ca::issued_cert& identity, harness::server_options options = {}) {
  return harness::tls_server::start(identity, hello(), std::move(options));
}

// A client identity with a subject, so that "the server saw the client" cannot pass on two empty
// strings.
ca::issued_cert client_identity(const ca::certificate_authority& issuer) {
  return issuer.issue({.names = {"alice@test.local"}, .common_name = "alice", .usage = ca::usage::client});
}

harness::server_options requiring_client_certs(const ca::certificate_authority& client_ca) {
  return {.client_auth = harness::client_auth::required, .client_trust = harness::trust{client_ca.root()}};
}

// ---------------------------------------------------------------------------------------------
// curl

class CurlTest : public interop::PeerTest {
 protected:
  CurlTest() : PeerTest("curl") {}

  // `-q` first (no ~/.curlrc) and no proxy: the environment must not be able to route a test
  // request anywhere but the loopback server.
  static std::vector<std::string> curl_command() {
    return {"curl", "-q", "--silent", "--show-error", "--noproxy", "*", "--max-time", "10"};
  }

  test::run_result curl(const harness::trust& trust, std::uint16_t port, const std::string& url,
                        const std::vector<std::string>& extra = {}, const std::string& address = "127.0.0.1") {
    auto argv = curl_command();
    for (const auto& arg : trust.curl_args(kHost, port, address)) argv.push_back(arg);
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(url);
    return test::run(argv, {}, kRunTimeout);
  }
};

TEST_F(CurlTest, VerifiesTheServerByName) {
  auto server = serve(ca_.issue(kHost));
  auto r = curl(trust_, server.port(), server.url());
  EXPECT_EQ(r.exit_status, 0) << r;
  EXPECT_EQ(r.output, kBody);
  ASSERT_TRUE(server.wait_for_handshakes(1));
  EXPECT_EQ(server.handshakes().front().sni, kHost);
}

// trust::environment() is how a test hands its root to a client it cannot give flags to.
TEST_F(CurlTest, TrustsTheRootFromTheEnvironment) {
  auto server = serve(ca_.issue(kHost));
  auto argv = curl_command();
  argv.insert(argv.end(), {"--resolve", std::string(kHost) + ":" + std::to_string(server.port()) + ":127.0.0.1",
                           server.url()});
  auto r = test::run(argv, trust_.environment(), kRunTimeout);
  EXPECT_EQ(r.exit_status, 0) << r;
  EXPECT_EQ(r.output, kBody);

  r = test::run(argv, other_trust_.environment(), kRunTimeout);
  EXPECT_EQ(r.exit_status, 60) << r;
  EXPECT_THAT(r.output, HasSubstr("unable to get local issuer certificate")) << r;
}

TEST_F(CurlTest, VerifiesAChainThroughAnIntermediate) {
  auto server = serve(ca_.make_intermediate().issue(kHost));
  auto r = curl(trust_, server.port(), server.url());
  EXPECT_EQ(r.exit_status, 0) << r;
  EXPECT_EQ(r.output, kBody);
}

TEST_F(CurlTest, VerifiesOverIpv6Loopback) {
  if (!test::have_ipv6_loopback()) GTEST_SKIP() << "no [::1] on this machine (IPv6 disabled in the container?)";
  auto server = serve(ca_.issue(kHost), {.listen_ipv6 = true});
  ASSERT_NE(server.port_v6(), 0);
  auto url = "https://" + std::string(kHost) + ":" + std::to_string(server.port_v6()) + "/";
  auto r = curl(trust_, server.port_v6(), url, {}, "::1");
  EXPECT_EQ(r.exit_status, 0) << r;
  EXPECT_EQ(r.output, kBody);
  ASSERT_TRUE(server.wait_for_handshakes(1));
  EXPECT_THAT(server.handshakes().front().remote, HasSubstr("::1"));
}

TEST_F(CurlTest, PresentsAClientCertificateForMutualTls) {
  auto client_ca = ca::certificate_authority::create();
  auto server = serve(ca_.issue(kHost), requiring_client_certs(client_ca));
  auto alice = client_identity(client_ca);
  alice.write_to(dir_ / "alice");
  auto r = curl(trust_, server.port(), server.url(),
                {"--cert", (dir_ / "alice" / "cert.pem").string(), "--key", (dir_ / "alice" / "key.pem").string()});
  EXPECT_EQ(r.exit_status, 0) << r;
  ASSERT_TRUE(server.wait_for_handshakes(1));
  EXPECT_EQ(server.handshakes().front().client_subject, alice.cert().subject());
}

TEST_F(CurlTest, NegotiatesAlpnHttp11) {
  auto server = serve(ca_.issue(kHost), {.alpn = {"http/1.1"}});
  auto r = curl(trust_, server.port(), server.url(), {"--http1.1", "--verbose"});
  EXPECT_EQ(r.exit_status, 0) << r;
  EXPECT_THAT(r.output, HasSubstr("ALPN: server accepted http/1.1"));
  ASSERT_TRUE(server.wait_for_handshakes(1));
  EXPECT_EQ(server.handshakes().front().alpn, "http/1.1");
}

// Each negative control with curl's specific exit code and message. curl 60 is "peer certificate
// cannot be authenticated"; 35 a handshake error; 56 a receive error (in TLS 1.3 a server rejects a
// missing client certificate only after the client has finished its handshake, so curl learns of
// it when it reads the response).
struct curl_failure {
  std::string what;
  ca::issued_cert identity;
  harness::server_options options;
  bool trust_another_root = false;
  bool dial_the_address = false;  // https://127.0.0.1:PORT/: no SNI, and the leaf names no IP
  std::vector<int> exit_codes;
  std::string message;
  std::string server_failure;     // what the server's handshake record says, when it is ours to know
};

TEST_F(CurlTest, FailsEachNegativeControlForItsReason) {
  auto leaf = ca_.issue(kHost);
  auto client_ca = ca::certificate_authority::create();
  std::vector<curl_failure> cases{
      {.what = "another CA's root", .identity = leaf, .trust_another_root = true,
       .exit_codes = {60}, .message = "unable to get local issuer certificate"},
      {.what = "an address the certificate does not name", .identity = leaf, .dial_the_address = true,
       .exit_codes = {60}, .message = "no alternative certificate subject name matches target host name '127.0.0.1'"},
      {.what = "an expired leaf", .identity = ca_.issue({.names = {kHost}, .validity = ca::validity::expired()}),
       .exit_codes = {60}, .message = "certificate has expired"},
      {.what = "a server without its intermediate", .identity = ca_.make_intermediate().issue(kHost).without_intermediates(),
       .exit_codes = {60}, .message = "unable to get local issuer certificate"},
      {.what = "mTLS required, no client certificate", .identity = leaf, .options = requiring_client_certs(client_ca),
       .exit_codes = {56, 35}, .message = "alert certificate required",
       .server_failure = "peer did not return a certificate"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto server = serve(c.identity, c.options);
    auto url = c.dial_the_address ? "https://127.0.0.1:" + std::to_string(server.port()) + "/" : server.url();
    auto r = curl(c.trust_another_root ? other_trust_ : trust_, server.port(), url);
    EXPECT_THAT(r.exit_status, AnyOfArray(c.exit_codes)) << r;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << r;
    EXPECT_THAT(r.output, Not(HasSubstr(kBody))) << "no response may come over a rejected connection";
    if (!c.server_failure.empty()) {
      ASSERT_TRUE(server.wait_for_handshakes(1));
      EXPECT_THAT(server.handshakes().front().failure.reason, HasSubstr(c.server_failure));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// openssl s_client

class OpenSslClientTest : public interop::PeerTest {
 protected:
  OpenSslClientTest() : PeerTest("openssl") {}

  // -no-CApath/-no-CAstore: only the given CA file is trusted, never the system store. stdin
  // is empty, so s_client closes (with close_notify) right after the handshake.
  test::run_result s_client(std::uint16_t port, const std::string& verify_name, const harness::trust& trust,
                            const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                                  "-servername", kHost, "-verify_return_error", "-verify_hostname", verify_name,
                                  "-CAfile", trust.ca_file().string(), "-no-CApath", "-no-CAstore", "-brief"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::run(argv, {}, kRunTimeout);
  }
};

TEST_F(OpenSslClientTest, VerifiesTheServerByName) {
  auto server = serve(ca_.make_intermediate().issue(kHost));
  auto r = s_client(server.port(), kHost, trust_);
  EXPECT_EQ(r.exit_status, 0) << r;
  EXPECT_THAT(r.output, HasSubstr("Verification: OK"));
  EXPECT_THAT(r.output, HasSubstr("Verified peername: service.test.local"));
}

TEST_F(OpenSslClientTest, FailsEachNegativeControlForItsReason) {
  auto server = serve(ca_.issue(kHost));
  struct failure {
    std::string what, verify_name;
    const harness::trust& trust;
    std::string message;
  };
  // The server is asked for its own name by SNI in both cases, so the client's check is what fails.
  for (const auto& c : {failure{"wrong host", "other.test.local", trust_, "verify error:num=62:hostname mismatch"},
                        failure{"another CA's root", kHost, other_trust_,
                                "verify error:num=20:unable to get local issuer certificate"}}) {
    SCOPED_TRACE(c.what);
    auto r = s_client(server.port(), c.verify_name, c.trust);
    EXPECT_NE(r.exit_status, 0) << r;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << r;
    EXPECT_THAT(r.output, Not(HasSubstr("Verification: OK")));
  }
}

TEST_F(OpenSslClientTest, NegotiatesEachTlsVersion) {
  auto server = serve(ca_.issue(kHost));
  for (const auto& [flag, version] : {std::pair{"-tls1_2", "TLSv1.2"}, std::pair{"-tls1_3", "TLSv1.3"}}) {
    SCOPED_TRACE(flag);
    auto before = server.totals().connections;
    auto r = s_client(server.port(), kHost, trust_, {flag});
    EXPECT_EQ(r.exit_status, 0) << r;
    EXPECT_THAT(r.output, HasSubstr(std::string("Protocol version: ") + version));
    ASSERT_TRUE(server.wait_for_handshakes(before + 1));
    auto record = server.handshakes().back();
    EXPECT_TRUE(record.ok()) << record.failure;
    EXPECT_EQ(record.version, version);
  }
}

TEST_F(OpenSslClientTest, PresentsAClientCertificateForMutualTls) {
  auto client_ca = ca::certificate_authority::create();
  auto server = serve(ca_.issue(kHost), requiring_client_certs(client_ca));
  auto alice = client_identity(client_ca);
  alice.write_to(dir_ / "alice");
  auto r = s_client(server.port(), kHost, trust_,
                    {"-cert", (dir_ / "alice" / "cert.pem").string(), "-key", (dir_ / "alice" / "key.pem").string()});
  EXPECT_EQ(r.exit_status, 0) << r;
  EXPECT_THAT(r.output, HasSubstr("Verification: OK"));
  ASSERT_TRUE(server.wait_for_handshakes(1));
  auto record = server.handshakes().front();
  EXPECT_TRUE(record.ok()) << record.failure;
  EXPECT_EQ(record.client_subject, alice.cert().subject());
  EXPECT_THAT(record.client_subject, HasSubstr("CN=alice"));
}

// ---------------------------------------------------------------------------------------------
// gnutls-cli: a second TLS stack and a second X.509 verifier.

class GnutlsClientTest : public interop::PeerTest {
 protected:
  GnutlsClientTest() : PeerTest("gnutls-cli") {}

  // --x509cafile replaces the system trust. SNI is given apart from the name to verify, so that
  // the wrong-host control reaches the certificate check instead of the server's SNI refusal.
  test::run_result gnutls_cli(std::uint16_t port, const std::string& verify_name, const harness::trust& trust) {
    return test::run({"gnutls-cli", "--x509cafile", trust.ca_file().string(), "--verify-hostname", verify_name,
                      "--sni-hostname", kHost, "-p", std::to_string(port), "127.0.0.1"},
                     {}, kRunTimeout);
  }
};

TEST_F(GnutlsClientTest, VerifiesTheServerByName) {
  auto server = serve(ca_.make_intermediate().issue(kHost));
  auto r = gnutls_cli(server.port(), kHost, trust_);
  EXPECT_EQ(r.exit_status, 0) << r;
  EXPECT_THAT(r.output, HasSubstr("Status: The certificate is trusted."));
  EXPECT_THAT(r.output, HasSubstr("Handshake was completed"));
}

TEST_F(GnutlsClientTest, FailsEachNegativeControlForItsReason) {
  auto server = serve(ca_.issue(kHost));
  struct failure {
    std::string what, verify_name;
    const harness::trust& trust;
    std::string message;
  };
  for (const auto& c : {failure{"wrong host", "other.test.local", trust_,
                                "The name in the certificate does not match the expected"},
                        failure{"another CA's root", kHost, other_trust_, "The certificate issuer is unknown"}}) {
    SCOPED_TRACE(c.what);
    auto r = gnutls_cli(server.port(), c.verify_name, c.trust);
    EXPECT_NE(r.exit_status, 0) << r;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << r;
    EXPECT_THAT(r.output, HasSubstr("PKI verification of server certificate failed")) << r;
  }
}

// ---------------------------------------------------------------------------------------------
// python3 ssl: what most test suites in the wild use.

class PythonSslTest : public interop::PeerTest {
 protected:
  PythonSslTest() : PeerTest("python3") {}

  // -I: isolated from PYTHON* variables and user site-packages. create_default_context with a
  // cafile loads only that file; hostname_checks_common_name = False so that only the SAN counts.
  // Without `trust`, the script uses the default verify paths, which `env` may redirect.
  test::run_result python_get(std::uint16_t port, const std::string& server_hostname,
                              const harness::trust* trust, const test::environment& env = {}) {
    static constexpr const char* kScript = R"(
import socket, ssl, sys
cafile, port, name = sys.argv[1] or None, int(sys.argv[2]), sys.argv[3]
context = ssl.create_default_context(cafile=cafile)
context.hostname_checks_common_name = False
with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
    with context.wrap_socket(raw, server_hostname=name) as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: " + name.encode() + b"\r\nConnection: close\r\n\r\n")
        response = b""
        while chunk := tls.recv(4096):
            response += chunk
        print(tls.version())
print(response.decode())
)";
    return test::run({"python3", "-I", "-c", kScript, trust ? trust->ca_file().string() : "", std::to_string(port),
                      server_hostname},
                     env, kRunTimeout);
  }
};

TEST_F(PythonSslTest, VerifiesTheServerByName) {
  auto server = serve(ca_.make_intermediate().issue(kHost));
  auto r = python_get(server.port(), kHost, &trust_);
  EXPECT_EQ(r.exit_status, 0) << r;
  EXPECT_THAT(r.output, StartsWith("TLSv1.3\nHTTP/1.1 200 OK"));
  EXPECT_THAT(r.output, HasSubstr(kBody));
}

// SSL_CERT_FILE from trust::environment() replaces OpenSSL's default CA file, which is what an
// unmodified Python service under test would use.
TEST_F(PythonSslTest, TrustsTheRootFromTheEnvironment) {
  auto server = serve(ca_.issue(kHost));
  auto r = python_get(server.port(), kHost, nullptr, trust_.environment());
  EXPECT_EQ(r.exit_status, 0) << r;
  EXPECT_THAT(r.output, HasSubstr(kBody));

  r = python_get(server.port(), kHost, nullptr, other_trust_.environment());
  EXPECT_EQ(r.exit_status, 1) << r;
  EXPECT_THAT(r.output, HasSubstr("unable to get local issuer certificate")) << r;
}

TEST_F(PythonSslTest, FailsEachNegativeControlForItsReason) {
  auto server = serve(ca_.issue(kHost));
  struct failure {
    std::string what, server_hostname;
    const harness::trust& trust;
    std::string message;
  };
  // An IP as server_hostname sends no SNI; the server then presents its only identity, whose
  // SAN names no address.
  for (const auto& c : {failure{"another CA's root", kHost, other_trust_, "unable to get local issuer certificate"},
                        failure{"an address the certificate does not name", "127.0.0.1", trust_,
                                "IP address mismatch, certificate is not valid for '127.0.0.1'"}}) {
    SCOPED_TRACE(c.what);
    auto r = python_get(server.port(), c.server_hostname, &c.trust);
    EXPECT_EQ(r.exit_status, 1) << r;
    EXPECT_THAT(r.output, HasSubstr("ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED]")) << r;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << r;
  }
}

}  // namespace
