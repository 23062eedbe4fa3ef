// The README's demo, the main job of the whole product in one run: a fresh CA; PostgreSQL,
// inventory and orders on verified TLS, by name, on loopback; one order placed over mutual TLS;
// a plaintext attempt and clients that cannot prove who they are, refused; and the services' own
// outbound clients held to the impostor catalog. It prints a short report and exits 0 only when
// every check came out as expected.
//
// It is built from the same parts as the sample services' suites (tests/sample_services): the
// fixtures give this process its in-process names, so orders' own Beast and libpq clients find
// inventory.test.local and postgres.test.local without DNS.
#include <openssl/ssl.h>

#include <chrono>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <tlsfix/fixtures.hpp>

#include "postgres_server.hpp"
#include "sample/https_server.hpp"
#include "sample/inventory.hpp"
#include "sample/orders.hpp"
#include "support.hpp"

namespace {

using namespace tlsfix;
namespace http = boost::beast::http;
namespace fs = std::filesystem;

// "rejected 23 impostors, accepted 4 positive controls" (what a passing client did).
std::string tally(const harness::check_report& check) {
  int rejected = 0, accepted = 0;
  for (const auto& row : check.rows) {
    if (row.skipped || !row.passed) continue;
    (row.entry.expected == harness::expectation::reject ? rejected : accepted) += 1;
  }
  std::string out = "rejected " + std::to_string(rejected) + " impostors, accepted " + std::to_string(accepted) + " positive controls";
  return check.passed() ? out : out + "; " + std::to_string(check.failures()) + " wrong:\n" + check.table();
}

struct report {
  int checks = 0, as_expected = 0;
  void line(bool ok, const std::string& what, const std::string& detail) {
    ++checks;
    as_expected += ok ? 1 : 0;
    std::cout << "  " << (ok ? "ok      " : "FAILED  ") << what << "\n          " << detail << "\n";
  }
};

sample::tls_files files_of(const ca::issued_cert& identity, const fs::path& dir) {
  identity.write_to(dir);
  return {dir / "fullchain.pem", dir / "key.pem", dir / "ca.crt"};
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

int demo() {
  auto started = std::chrono::steady_clock::now();
  test::temp_dir dir;
  auto ca = ca::certificate_authority::create();
  std::cout << "tlsfix demo: two services and PostgreSQL on verified TLS, by name, on loopback\n\n"
            << "  CA         a fresh root, " << ca.root().subject() << ", that may vouch only for test names\n";

  if (auto why = test::postgres_unavailable(); !why.empty()) {
    std::cout << "  cannot run: " << why << " (ci/install-deps installs it)\n";
    return 1;
  }
  test::postgres_server database(test::postgres_files(dir.path(), ca.issue("postgres.test.local"), ca.root()));
  std::cout << "  postgres   postgres.test.local:" << database.port() << "   PostgreSQL, TLS only (hostssl), run as user postgres\n";

  std::ostringstream inventory_log, orders_log;
  sample::inventory::service items;
  sample::https_server inventory({.listen = "127.0.0.1:0", .tls = files_of(ca.issue("inventory.test.local"), dir / "inventory"), .name = "inventory"},
                                 items.http_handler(), inventory_log);
  inventory.start();
  std::cout << "  inventory  inventory.test.local:" << inventory.port() << "  HTTPS\n";

  auto orders_identity = ca.issue({.names = {"orders.test.local"}, .usage = ca::usage::server_and_client});
  auto orders_tls = files_of(orders_identity, dir / "orders");
  sample::orders::options orders_options{
      .inventory = {.base_url = "https://inventory.test.local:" + std::to_string(inventory.port()), .ca = orders_tls.ca,
                    .cert = orders_tls.cert, .key = orders_tls.key},
      .db = "host=postgres.test.local port=" + std::to_string(database.port()) + " dbname=postgres user=" + database.role(),
      .ca = orders_tls.ca};
  sample::orders::service shop(orders_options);  // connects with sslmode=verify-full and creates its table
  sample::https_server orders({.listen = "127.0.0.1:0", .tls = orders_tls, .clients = sample::client_auth::required, .name = "orders"},
                              shop.http_handler(), orders_log);
  orders.start();
  std::cout << "  orders     orders.test.local:" << orders.port() << "     HTTPS, client certificates required\n\n";

  report r;
  harness::trust roots{ca.root()};
  auto client = [&](std::optional<ca::issued_cert> identity) {
    return harness::test_client({.host = "orders.test.local", .port = orders.port(), .trust = roots, .identity = std::move(identity)});
  };

  // The happy path: stock in inventory, then one order by alice, who proves who she is.
  harness::http_request put{http::verb::put, "/items/widget", 11};
  put.set(http::field::content_type, "application/json");
  put.body() = R"({"name": "Widget", "quantity": 5})";
  put.prepare_payload();
  harness::test_client({.host = "inventory.test.local", .port = inventory.port(), .trust = roots}).request(put);
  auto alice = ca.issue({.names = {"alice.test.local"}, .usage = ca::usage::client});
  harness::http_request post{http::verb::post, "/orders", 11};
  post.set(http::field::content_type, "application/json");
  post.body() = R"({"item": "widget", "quantity": 2})";
  post.prepare_payload();
  auto placed = client(alice).request(post);
  r.line(placed.result_int() == 201, "alice places an order by name over mutual TLS",
         std::to_string(placed.result_int()) + " " + first_line(placed.body()) +
             " (orders checked the stock with inventory over mTLS and stored it in PostgreSQL, verify-full)");

  // Plaintext where TLS belongs: no HTTP answer, and orders says what it refused.
  auto answer = test::plaintext_exchange(orders.port(), "POST /orders HTTP/1.1\r\nHost: orders.test.local\r\n\r\n", 64);
  r.line(answer.find("HTTP/") == std::string::npos, "plaintext HTTP to orders is refused",
         answer.empty() ? "no HTTP answer; the connection was closed" : "answered: " + first_line(answer));

  auto anonymous = client(std::nullopt).handshake();
  r.line(anonymous.failure.alert_received == SSL_AD_CERTIFICATE_REQUIRED, "a client without a certificate is refused", anonymous.message());
  auto stranger = client(ca::certificate_authority::create().issue({.names = {"alice.test.local"}, .usage = ca::usage::client})).handshake();
  r.line(stranger.failure.alert_received == SSL_AD_UNKNOWN_CA, "a client with a certificate from another CA is refused", stranger.message());

  // The services' own outbound clients (plain Beast and libpq, not tlsfix's) against a local
  // badssl.com: each must refuse every forged server and accept every positive control.
  const auto& https_catalog = fixtures::Impostors();
  auto inventory_report = fixtures::CheckClient([&](const harness::impostor& entry) {
    sample::https_client to_inventory({.base_url = entry.url(), .ca = https_catalog.trust().ca_file(), .cert = orders_tls.cert, .key = orders_tls.key});
    auto call = to_inventory.call(http::verb::get, "/items/widget");
    return harness::connect_outcome{call.error.empty(), call.error};
  });
  r.line(inventory_report.passed(), "orders' inventory client holds against the impostor catalog",
         tally(inventory_report));
  const auto& postgres_catalog = fixtures::Impostors(harness::protocol::postgres);
  auto database_report = fixtures::CheckClient(
      [&](const harness::impostor& entry) {
        try {
          sample::orders::store db("host=" + entry.host + " port=" + std::to_string(entry.port) + " dbname=orders user=orders connect_timeout=10",
                                   postgres_catalog.trust().ca_file());
          return harness::connect_outcome{true, "connected"};
        } catch (const std::exception& e) {
          return harness::connect_outcome{false, e.what()};
        }
      },
      {}, harness::protocol::postgres);
  r.line(database_report.passed(), "orders' PostgreSQL connection holds against the impostor catalog (SSLRequest, then TLS)",
         tally(database_report));

  orders.stop();
  inventory.stop();
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "\n" << r.as_expected << " of " << r.checks << " checks as expected, in " << std::fixed << std::setprecision(1) << seconds
            << " s\n";
  return r.as_expected == r.checks ? 0 : 1;
}

}  // namespace

int main() {
  try {
    return demo();
  } catch (const std::exception& e) {
    std::cout << "demo failed: " << e.what() << "\n";
    return 1;
  }
}
