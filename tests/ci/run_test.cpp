// The verbs that start or reach servers: `run` (names for any program, trust through the environment),
// `serve`, `proxy` in front of a plaintext python http.server, and `probe`, each next to the
// negative control that must fail with its specific reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>
#include <thread>

#include "cli_support.hpp"

namespace {

using namespace tlsfix;
using namespace tlsfix::cli_test;
using ::testing::AllOf;
using ::testing::HasSubstr;

const std::string name = "service.test.local";

class CliServeTest : public InitDirectoriesTest {
 protected:
  static void SetUpTestSuite() { MakeDirectories(name, {"--client", "worker.test.local"}); }
};

TEST_F(CliServeTest, RunResolvesNamesAndTrustsTheCaWithoutFlags) {
  if (auto missing = nss_wrapper_missing(); !missing.empty()) GTEST_SKIP() << missing;
  auto serve = tlsfix_child({"serve", dir().string(), "--service", name});  // any free port, printed
  auto served = wait_for_line(serve, "https://" + name + ":");
  ASSERT_FALSE(served.empty()) << serve.stop();
  std::string url = served + "hello";

  auto r = tlsfix_cli({"run", dir().string(), "--", "curl", "-sS", "--max-time", "10", url});
  EXPECT_EQ(r.exit_status, 0) << r.output;
  EXPECT_EQ(r.output, "tlsfix serve: " + name + " GET /hello\n");
  auto python = tlsfix_cli({"run", dir().string(), "--", "python3", "-c",
                            "import urllib.request; print(urllib.request.urlopen('" + url + "').read().decode(), end='')"});
  EXPECT_EQ(python.exit_status, 0) << python.output;
  EXPECT_EQ(python.output, r.output);

  // Without run, the name does not resolve; under another directory, the root is wrong.
  auto bare = test::run({"curl", "-sS", "--max-time", "10", url});
  EXPECT_EQ(bare.exit_status, 6) << bare.output;
  auto wrong_root = tlsfix_cli({"run", other().string(), "--", "curl", "-sS", "--max-time", "10", url});
  EXPECT_EQ(wrong_root.exit_status, 60) << wrong_root.output;
  EXPECT_THAT(wrong_root.output, HasSubstr("unable to get local issuer certificate"));

  EXPECT_EQ(tlsfix_cli({"run", dir().string(), "--", "sh", "-c", "exit 7"}).exit_status, 7);
  auto missing = tlsfix_cli({"run", dir().string(), "--", "no-such-program-tlsfix"});
  EXPECT_EQ(missing.exit_status, 127);
  EXPECT_THAT(missing.output, HasSubstr("cannot start no-such-program-tlsfix"));
  serve.stop();
}

// A static Go binary never sees nss_wrapper: run gives it a private /etc/hosts instead, where a
// mount namespace is available, and DNS only on loopback. Without one, run says what it misses.
TEST_F(CliServeTest, RunResolvesNamesForAStaticGoBinaryAndKeepsDnsOnLoopback) {
  std::string why;
  auto go = go_client(why);
  if (go.empty()) GTEST_SKIP() << why;
  if (auto no_mounts = private_mounts_missing(); !no_mounts.empty()) GTEST_SKIP() << no_mounts;
  auto serve = tlsfix_child({"serve", dir().string(), "--service", name});
  auto url = wait_for_line(serve, "https://" + name + ":");
  ASSERT_FALSE(url.empty()) << serve.stop();

  auto r = tlsfix_cli({"run", dir().string(), "--", go.string(), (dir() / "ca.crt").string(), url + "go"});
  EXPECT_EQ(r.exit_status, 0) << r.output;
  EXPECT_EQ(r.output, "tlsfix serve: " + name + " GET /go\n");
  auto wrong_root = tlsfix_cli({"run", dir().string(), "--", go.string(), (other() / "ca.crt").string(), url});
  EXPECT_EQ(wrong_root.exit_status, 1);
  EXPECT_THAT(wrong_root.output, HasSubstr("x509: certificate signed by unknown authority"));
  auto view = tlsfix_cli({"run", dir().string(), "--", "sh", "-c",
                         "grep '^hosts:' /etc/nsswitch.conf; getent hosts " + name + "; getent hosts localhost; cat /etc/resolv.conf"});
  EXPECT_THAT(view.output, AllOf(HasSubstr("hosts: files\n"), ::testing::ContainsRegex("(127\\.0\\.0\\.1|::1) +.*" + name),
                                 ::testing::ContainsRegex("\n(127\\.0\\.0\\.1|::1) +localhost")))
      << "the machine's entries stay";
  if (fs::exists("/etc/resolv.conf")) {
    EXPECT_THAT(view.output, HasSubstr("nameserver 127.0.0.1\n"));
  }
  EXPECT_THAT(slurp("/etc/hosts"), ::testing::Not(HasSubstr(name))) << "only the program's view changed";

  // The fallback says what it cannot cover (a Go lookup there would ask the machine's DNS, so none
  // is made).
  if (auto missing = nss_wrapper_missing(); !missing.empty()) GTEST_SKIP() << missing;
  auto fallback = tlsfix_cli({"run", dir().string(), "--", "true"}, {{"TLSFIX_PRIVATE_MOUNTS", "0"}});
  EXPECT_EQ(fallback.exit_status, 0) << fallback.output;
  EXPECT_THAT(fallback.output, HasSubstr("tlsfix run: TLSFIX_PRIVATE_MOUNTS=0: names resolve through nss_wrapper, which"
                                         " static binaries (CGO_ENABLED=0 Go)"));
  serve.stop();
}

TEST_F(CliServeTest, ProbeReportsTheVerifiedChainOrTheReason) {
  auto serve = tlsfix_child({"serve", dir().string(), "--service", name});
  auto url = wait_for_line(serve, "https://");
  ASSERT_FALSE(url.empty()) << serve.stop();
  auto port = url.substr(url.rfind(':') + 1, url.size() - url.rfind(':') - 2);

  auto ok = tlsfix_cli({"probe", url, "--ca", (dir() / "ca.crt").string()});
  EXPECT_EQ(ok.exit_status, 0) << ok.output;
  EXPECT_THAT(ok.output, AllOf(HasSubstr("verified " + name + ":" + port), HasSubstr("version: TLSv1.3"), HasSubstr("cipher: TLS_"),
                               HasSubstr("alpn: (none)"), HasSubstr("  1 subject: CN=tlsfix test CA")));
  auto json = tlsfix_cli({"probe", url, "--ca", (dir() / "ca.crt").string(), "--json",
                          "--resolve", name + ":" + port + ":127.0.0.1"});
  ASSERT_EQ(json.exit_status, 0) << json.output;
  auto result = nlohmann::json::parse(json.output);
  EXPECT_EQ(result["ok"], true);
  EXPECT_EQ(result["chain"].size(), 2u) << "leaf and the root it chains to";

  auto foreign = tlsfix_cli({"probe", url, "--ca", (other() / "ca.crt").string()});
  EXPECT_EQ(foreign.exit_status, 2);
  EXPECT_THAT(foreign.output, HasSubstr("unable to get local issuer certificate"));
  auto by_ip = tlsfix_cli({"probe", "https://127.0.0.1:" + port + "/", "--ca", (dir() / "ca.crt").string()});
  EXPECT_EQ(by_ip.exit_status, 2);
  EXPECT_THAT(by_ip.output, HasSubstr("IP address mismatch"));
  auto off_machine = tlsfix_cli({"probe", url, "--ca", (dir() / "ca.crt").string(), "--resolve", name + ":" + port + ":192.0.2.1"});
  EXPECT_EQ(off_machine.exit_status, 1);
  EXPECT_THAT(off_machine.output, HasSubstr("is not a loopback address"));
  auto not_https = tlsfix_cli({"probe", "http://" + name + "/", "--ca", (dir() / "ca.crt").string()});
  EXPECT_EQ(not_https.exit_status, 1);
  EXPECT_THAT(not_https.output, HasSubstr("URL: 'http://" + name + "/' must start with https://"));
  serve.stop();
}

// A probe ends with both sides closing at once, which leaves serve's end in TIME_WAIT on its port:
// a restart on that port must still bind, whichever client ran last.
TEST_F(CliServeTest, ServeRestartsOnItsPortRightAfterAProbe) {
  auto first = tlsfix_child({"serve", dir().string(), "--service", name});
  auto url = wait_for_line(first, "https://");
  ASSERT_FALSE(url.empty()) << first.stop();
  auto port = url.substr(url.rfind(':') + 1, url.size() - url.rfind(':') - 2);
  auto probe = tlsfix_cli({"probe", url, "--ca", (dir() / "ca.crt").string()});
  ASSERT_EQ(probe.exit_status, 0) << probe.output;
  first.stop();

  auto again = tlsfix_child({"serve", dir().string(), "--service", name, "--port", port});
  EXPECT_EQ(wait_for_line(again, "https://"), url) << again.stop();
  EXPECT_EQ(tlsfix_cli({"probe", url, "--ca", (dir() / "ca.crt").string()}).exit_status, 0);
  again.stop();
}

// --background returns once the server listens, with the URL alone on stdout and its standard
// streams closed (so `url=$(tlsfix serve ...)` returns); the pid file names the server, which
// stops on SIGTERM and removes it.
TEST_F(CliServeTest, ServeInTheBackgroundPrintsItsUrlAndStopsByItsPid) {
  test::temp_dir tmp;
  auto pid_file = tmp / "serve.pid";
  background_server server(pid_file);
  auto r = tlsfix_cli({"serve", dir().string(), "--service", name, "--background", "--pid-file", pid_file.string()},
                      {}, std::chrono::seconds(10));
  ASSERT_EQ(r.exit_status, 0) << r;
  ASSERT_FALSE(r.timed_out) << "the server kept the caller's output open";
  ASSERT_THAT(r.output, ::testing::MatchesRegex("https://service\\.test\\.local:[0-9]+/\n"));
  std::string url = r.output.substr(0, r.output.size() - 1);
  pid_t pid = server.pid();
  ASSERT_GT(pid, 1);
  auto probe = tlsfix_cli({"probe", url, "--ca", (dir() / "ca.crt").string()});
  EXPECT_EQ(probe.exit_status, 0) << probe.output;

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (fs::exists(pid_file) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(fs::exists(pid_file)) << "removed when the server stops";
  EXPECT_EQ(tlsfix_cli({"probe", url, "--ca", (dir() / "ca.crt").string()}).exit_status, 2) << "nothing listens any more";
}

TEST_F(CliServeTest, ServeInTheBackgroundReportsWhyItCouldNotStart) {
  test::temp_dir tmp;
  auto missing = tmp / "no-such-dir" / "serve.pid";
  auto r = tlsfix_cli({"serve", dir().string(), "--service", name, "--background", "--pid-file", missing.string()},
                      {}, std::chrono::seconds(10));
  EXPECT_EQ(r.exit_status, 1) << r;
  EXPECT_THAT(r.output, AllOf(HasSubstr("tlsfix serve: " + missing.string()), HasSubstr("No such file or directory")));

  auto proxy_pid = tmp / "proxy.pid";
  background_server background_proxy(proxy_pid);
  auto proxy = tlsfix_cli({"proxy", "--service", name, "--to", "127.0.0.1:9", "--background", "--pid-file",
                           proxy_pid.string()}, {}, std::chrono::seconds(10));
  ASSERT_EQ(proxy.exit_status, 0) << proxy;
  // The URL on stdout, the CA and upstream lines on stderr (interleaved here).
  EXPECT_THAT(proxy.output, AllOf(HasSubstr("https://service.test.local:"), HasSubstr("upstream: http://127.0.0.1:9")));
  EXPECT_GT(background_proxy.pid(), 1);
}

// serve and proxy --dir serve the certificate on disk: a client sees the manifest's serial, and no
// CA key is needed.
TEST_F(CliServeTest, ServeAndProxyServeTheCertificateOnDisk) {
  auto manifest = read_json(dir() / "manifest.json");
  nlohmann::json serial;
  for (const auto& service : manifest["services"])
    if (service["name"] == name) serial = service["serial"];
  ASSERT_FALSE(serial.is_null());
  auto served_serial = [&](const std::string& url) {
    auto r = tlsfix_cli({"probe", url, "--ca", (dir() / "ca.crt").string(), "--json"});
    EXPECT_EQ(r.exit_status, 0) << r.output;
    return r.exit_status == 0 ? nlohmann::json::parse(r.output)["chain"][0]["serial"] : nlohmann::json();
  };
  ASSERT_FALSE(fs::exists(dir() / "ca.key"));
  auto serve = tlsfix_child({"serve", dir().string(), "--service", name});
  auto url = wait_for_line(serve, "https://");
  ASSERT_FALSE(url.empty()) << serve.stop();
  EXPECT_EQ(served_serial(url), serial);
  serve.stop();

  auto proxy = tlsfix_child({"proxy", "--dir", dir().string(), "--service", name, "--to", "127.0.0.1:9"});
  url = wait_for_line(proxy, "https://");
  ASSERT_FALSE(url.empty()) << proxy.stop();
  EXPECT_EQ(served_serial(url), serial);
  proxy.stop();

  auto r = tlsfix_cli({"serve", dir().string(), "--service", "ghost.test.local"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_THAT(r.output, HasSubstr("--service: 'ghost.test.local' is not in"));
}

TEST_F(CliServeTest, ProbePresentsAClientCertificateToServeWithClientAuth) {
  auto serve = tlsfix_child({"serve", dir().string(), "--service", name, "--client-auth"});
  auto url = wait_for_line(serve, "https://");
  ASSERT_FALSE(url.empty()) << serve.stop();
  auto worker = dir() / "worker.test.local", ca = dir() / "ca.crt";

  auto ok = tlsfix_cli({"probe", url, "--ca", ca.string(), "--cert", (worker / "fullchain.pem").string(), "--key",
                        (worker / "key.pem").string()});
  EXPECT_EQ(ok.exit_status, 0) << ok.output;
  EXPECT_THAT(ok.output, HasSubstr("verified " + name));
  auto anonymous = tlsfix_cli({"probe", url, "--ca", ca.string()});
  EXPECT_EQ(anonymous.exit_status, 2) << anonymous.output;
  // 116 is certificate_required, which the harness names itself (OpenSSL 3.0 has no text for it).
  EXPECT_THAT(anonymous.output, HasSubstr("peer sent alert: certificate required"));
  auto foreign = tlsfix_cli({"probe", url, "--ca", ca.string(), "--cert", (other() / name / "fullchain.pem").string(), "--key",
                             (other() / name / "key.pem").string()});
  EXPECT_EQ(foreign.exit_status, 2) << foreign.output << "another directory's identity is no client of this one";
  auto mismatched = tlsfix_cli({"probe", url, "--ca", ca.string(), "--cert", (worker / "fullchain.pem").string(), "--key",
                                (dir() / name / "key.pem").string()});
  EXPECT_EQ(mismatched.exit_status, 1) << mismatched.output;
  EXPECT_THAT(mismatched.output, HasSubstr("--cert " + (worker / "fullchain.pem").string() + " with --key"));
  auto half = tlsfix_cli({"probe", url, "--ca", ca.string(), "--cert", (worker / "fullchain.pem").string()});
  EXPECT_EQ(half.exit_status, 1);
  EXPECT_THAT(half.output, HasSubstr("--cert: requires --key"));
  serve.stop();
}

TEST_F(CliServeTest, ProxyPutsVerifiedTlsInFrontOfAPlaintextServer) {
  test::temp_dir site;
  std::ofstream(site / "index.txt") << "plaintext dev server\n";
  auto upstream_port = test::free_port();
  test::child upstream({"python3", "-m", "http.server", std::to_string(upstream_port), "--bind", "127.0.0.1", "--directory",
                        site.path().string()});
  ASSERT_TRUE(test::wait_for_port(upstream_port)) << upstream.stop();

  auto port = test::free_port();
  auto ca = site / "proxy-ca.crt";
  auto proxy = tlsfix_child({"proxy", "--service", "app.test.local", "--to", "127.0.0.1:" + std::to_string(upstream_port),
                             "--port", std::to_string(port), "--ca-out", ca.string()});
  ASSERT_FALSE(wait_for_line(proxy, "upstream:").empty()) << proxy.stop();

  auto r = test::run(curl(ca, "app.test.local", port, "/index.txt"));
  EXPECT_EQ(r.exit_status, 0) << r.output;
  EXPECT_EQ(r.output, "plaintext dev server\n");
  auto args = curl(ca, "app.test.local", port, "/missing");
  args.insert(args.begin() + 1, {"-o", "/dev/null", "-w", "%{http_code}"});
  EXPECT_EQ(test::run(args).output, "404") << "upstream statuses pass through";
  auto foreign = test::run(curl(other() / "ca.crt", "app.test.local", port, "/index.txt"));
  EXPECT_EQ(foreign.exit_status, 60) << foreign.output;

  upstream.stop();
  args = curl(ca, "app.test.local", port, "/index.txt");
  args.insert(args.begin() + 1, {"-w", "\n%{http_code}"});
  auto down = test::run(args);
  EXPECT_THAT(down.output, AllOf(HasSubstr("tlsfix proxy: upstream 127.0.0.1:" + std::to_string(upstream_port) +
                                           " failed: Connection refused"),
                                 HasSubstr("\n502")));
  proxy.stop();

  auto off_machine = tlsfix_cli({"proxy", "--service", "app.test.local", "--to", "192.0.2.1:80"});
  EXPECT_EQ(off_machine.exit_status, 1);
  EXPECT_THAT(off_machine.output, HasSubstr("--to: '192.0.2.1:80' is not a loopback address"));
}

}  // namespace
