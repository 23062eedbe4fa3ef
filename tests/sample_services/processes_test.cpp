// The sample services as separate processes, as a team runs them in CI: material written by
// `tlsfix init` from one spec, PostgreSQL 15 started as its own user with its key from that
// directory, each service started under `tlsfix run` (its flags from the environment `tlsfix env`
// describes, names resolving to loopback), and curl and tlsfix's client calling them by name.
// Every process is stopped by its PID, also when a test fails.
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <tlsfix/fixtures.hpp>

#include "postgres_server.hpp"
#include "support.hpp"

namespace tlsfix::samples {
namespace {

namespace fs = std::filesystem;
using namespace fixtures;
using ::testing::HasSubstr;

constexpr const char* spec = R"(services:
  - name: inventory.test.local
  - name: orders.test.local
    usage: both                  # its server identity, and its client identity towards inventory
  - name: postgres.test.local
    key_owner: postgres          # PostgreSQL takes its key only 0600 and its own
  - name: alice.test.local
    usage: client
)";

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The "listening HOST:PORT" line a service prints at start, or 0 when it exits or stays silent.
std::uint16_t listening_port(test::child& service) {
  static const std::regex line(R"(listening 127\.0\.0\.1:(\d+))");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    std::string log = read_text(service.log_path());
    if (std::regex_search(log, m, line)) return static_cast<std::uint16_t>(std::stoi(m[1]));
    if (!service.running()) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}

class ProcessesTest : public TlsTest {
 protected:
  void SetUp() override {
    if (auto why = test::postgres_unavailable(); !why.empty()) GTEST_SKIP() << why;
    dir_ = TempDir() / "tls";
    ca::write_file(TempDir() / "shop.yaml", spec, ca::file_mode::public_read);
    auto init = test::run({TLSFIX_EXE, "init", dir_.string(), "--spec", (TempDir() / "shop.yaml").string()});
    ASSERT_EQ(init.exit_status, 0) << init;
    // TempDir() is 0700 root: the database's user must pass through it to reach its files.
    fs::permissions(TempDir(), fs::perms::others_exec, fs::perm_options::add);
    database_.emplace(test::postgres_tls{dir_ / "postgres.test.local" / "fullchain.pem", dir_ / "postgres.test.local" / "key.pem",
                                         dir_ / "ca.crt"});
  }

  // `tlsfix run DIR -- PROGRAM ARGS...`: the program's flags come from the directory's environment.
  std::uint16_t Start(std::optional<test::child>& slot, const std::vector<std::string>& program) {
    std::vector<std::string> argv{TLSFIX_EXE, "run", dir_.string(), "--"};
    argv.insert(argv.end(), program.begin(), program.end());
    auto& started = slot.emplace(argv);
    std::uint16_t port = listening_port(started);
    EXPECT_NE(port, 0) << program.front() << " did not start:\n" << read_text(started.log_path());
    return port;
  }

  void StartShop() {
    inventory_port_ = Start(inventory_, {SAMPLE_INVENTORY_EXE});
    orders_port_ = Start(orders_, {SAMPLE_ORDERS_EXE, "--inventory-url", "https://inventory.test.local:" + std::to_string(inventory_port_),
                                   "--db", "host=postgres.test.local port=" + std::to_string(database_->port()) + " dbname=postgres user=orders"});
  }

  // curl under `tlsfix run`, by name, trusting the directory's CA alone (Debian's curl also reads
  // /etc/ssl/certs unless --capath says otherwise).
  test::run_result Curl(std::vector<std::string> args) {
    std::vector<std::string> argv{TLSFIX_EXE, "run", dir_.string(), "--", "curl", "-sS", "--fail-with-body", "--cacert",
                                  (dir_ / "ca.crt").string(), "--capath", "/dev/null"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run(argv, {}, std::chrono::seconds(20));
  }
  std::vector<std::string> AsAlice() const {
    return {"--cert", (dir_ / "alice.test.local" / "cert.pem").string(), "--key", (dir_ / "alice.test.local" / "key.pem").string()};
  }

  fs::path dir_;
  std::optional<test::postgres_server> database_;
  std::optional<test::child> inventory_, orders_;
  std::uint16_t inventory_port_ = 0, orders_port_ = 0;
};

TEST_F(ProcessesTest, CurlPlacesAnOrderByNameOverMutualTls) {
  StartShop();
  std::string inventory = "https://inventory.test.local:" + std::to_string(inventory_port_);
  std::string orders = "https://orders.test.local:" + std::to_string(orders_port_);
  auto put = Curl({"-X", "PUT", "-H", "Content-Type: application/json", "-d", R"({"name": "Widget", "quantity": 4})", inventory + "/items/widget"});
  ASSERT_EQ(put.exit_status, 0) << put;
  auto args = AsAlice();
  for (std::string a : {"-X", "POST", "-H", "Content-Type: application/json", "-d", R"({"item": "widget", "quantity": 3})"}) args.push_back(a);
  args.push_back(orders + "/orders");
  auto placed = Curl(args);
  ASSERT_EQ(placed.exit_status, 0) << placed;
  auto order = nlohmann::json::parse(placed.output);
  EXPECT_EQ(order["customer"], "alice.test.local");
  EXPECT_EQ(order["quantity"], 3);

  // Negative control: the same request without alice's certificate is refused by orders' TLS.
  auto anonymous = Curl({"-X", "POST", "-d", "{}", orders + "/orders"});
  EXPECT_NE(anonymous.exit_status, 0);
  EXPECT_THAT(anonymous.output, HasSubstr("certificate required"));

  // SIGTERM, by PID: each service stops cleanly and says so.
  EXPECT_THAT(orders_->stop(), HasSubstr("stopped (SIGTERM)"));
  EXPECT_THAT(inventory_->stop(), HasSubstr("stopped (SIGTERM)"));
}

TEST_F(ProcessesTest, TlsfixsClientReadsTheOrderBackByName) {
  StartShop();
  auto alice = ca::issued_cert::from_pem(ca::read_file(dir_ / "alice.test.local" / "fullchain.pem"),
                                         ca::read_file(dir_ / "alice.test.local" / "key.pem"), ca::read_file(dir_ / "ca.crt"));
  auto roots = harness::trust::from_file(dir_ / "ca.crt");
  harness::test_client as_alice({.host = "orders.test.local", .port = orders_port_, .trust = roots, .identity = alice});
  EXPECT_THAT(as_alice.handshake(), AllOf(Succeeds(), NegotiatedVersion("TLSv1.3")));
  EXPECT_EQ(as_alice.get("/orders/999").result_int(), 404u);  // a verified answer from PostgreSQL's side
  harness::test_client anonymous({.host = "orders.test.local", .port = orders_port_, .trust = roots});
  EXPECT_THAT(anonymous.handshake(), ReceivedAlert(SSL_AD_CERTIFICATE_REQUIRED));
  harness::test_client wrong_trust({.host = "orders.test.local", .port = orders_port_, .trust = Trust(), .identity = alice});
  EXPECT_THAT(wrong_trust.handshake(), FailsVerificationWith(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY));
}

TEST_F(ProcessesTest, InitWroteThePostgresKeyForTheDatabaseUserAlone) {
  struct stat key{};
  ASSERT_EQ(::stat((dir_ / "postgres.test.local" / "key.pem").c_str(), &key), 0);
  EXPECT_EQ(key.st_mode & 0777, 0600u);
  EXPECT_EQ(key.st_uid, ::getpwnam("postgres")->pw_uid);
  struct stat other{};
  ASSERT_EQ(::stat((dir_ / "orders.test.local" / "key.pem").c_str(), &other), 0);
  EXPECT_EQ(other.st_uid, ::geteuid());  // the default is unchanged
  EXPECT_EQ(other.st_mode & 0777, 0600u);
}

TEST_F(ProcessesTest, OrdersRefusesToStartWithoutTlsMaterialOrAgainstAWeakDatabaseSetting) {
  // Outside `tlsfix run` the environment has no certificate for it: it refuses, and says why.
  auto bare = test::run({SAMPLE_ORDERS_EXE, "--inventory-url", "https://inventory.test.local:1", "--db", "host=postgres.test.local"},
                        {}, std::chrono::seconds(20));
  EXPECT_EQ(bare.exit_status, 1) << bare;
  EXPECT_THAT(bare.output, HasSubstr("--ca is required: this service has no plaintext mode"));
  auto weak = test::run({TLSFIX_EXE, "run", dir_.string(), "--", SAMPLE_ORDERS_EXE, "--inventory-url", "https://inventory.test.local:1",
                         "--db", "host=postgres.test.local port=" + std::to_string(database_->port()) + " user=orders sslmode=prefer"},
                        {}, std::chrono::seconds(20));
  EXPECT_EQ(weak.exit_status, 1) << weak;
  EXPECT_THAT(weak.output, HasSubstr("--db: sslmode=prefer would accept a server it has not verified"));
}

}  // namespace
}  // namespace tlsfix::samples
