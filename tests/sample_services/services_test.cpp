// The sample services end to end, in-process: inventory and orders on verified TLS and mTLS, by
// name, with a real PostgreSQL behind orders, and the services' own outbound clients (Beast and
// libpq, not tlsfix's) held to the impostor catalog.
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <libpq-fe.h>

#include "shop.hpp"
#include "support.hpp"

namespace tlsfix::samples {
namespace {

namespace http = boost::beast::http;
using namespace fixtures;
using nlohmann::json;
using ::testing::HasSubstr;

harness::http_request Post(const std::string& target, const json& body) {
  harness::http_request req{http::verb::post, target, 11};
  req.set(http::field::content_type, "application/json");
  req.body() = body.dump();
  req.prepare_payload();
  return req;
}

using ServicesTest = ShopTest;

TEST_F(ServicesTest, PlacesAnOrderByNameThroughBothServicesAndTheDatabase) {
  StartDatabase();
  StartInventory();
  ASSERT_EQ(PutItem("widget", "Widget", 5), 201u);
  auto& orders = StartOrders();
  auto alice = Issue({.names = {"alice.test.local"}, .usage = ca::usage::client});

  auto placed = Caller("orders.test.local", orders.port(), alice).request(Post("/orders", {{"item", "widget"}, {"quantity", 2}}));
  ASSERT_EQ(placed.result_int(), 201u) << placed.body();
  auto order = json::parse(placed.body());
  EXPECT_EQ(order["item"], "widget");
  EXPECT_EQ(order["quantity"], 2);
  EXPECT_EQ(order["customer"], "alice.test.local");  // from the client certificate, not the request

  auto fetched = Caller("orders.test.local", orders.port(), alice).get("/orders/" + std::to_string(order["id"].get<long long>()));
  ASSERT_EQ(fetched.result_int(), 200u) << fetched.body();
  EXPECT_EQ(json::parse(fetched.body()), order);  // read back from PostgreSQL

  auto too_many = Caller("orders.test.local", orders.port(), alice).request(Post("/orders", {{"item", "widget"}, {"quantity", 9}}));
  EXPECT_EQ(too_many.result_int(), 409u) << too_many.body();
  auto unknown = Caller("orders.test.local", orders.port(), alice).request(Post("/orders", {{"item", "gadget"}, {"quantity", 1}}));
  EXPECT_EQ(unknown.result_int(), 404u) << unknown.body();

  auto items = json::parse(Caller("inventory.test.local", inventory_->port()).get("/items").body());
  EXPECT_EQ(items["items"][0]["quantity"], 5);
  std::string orders_log = orders.stop_and_log(), inventory_log = inventory_->stop_and_log();
  EXPECT_THAT(orders_log, HasSubstr("POST /orders 201 peer=alice.test.local"));
  EXPECT_THAT(inventory_log, HasSubstr("GET /items/widget 200 peer=orders.test.local"));  // orders' own client identity
}

TEST_F(ServicesTest, OrdersRefusesACallerWithoutACertificate) {
  StartDatabase();
  StartInventory();
  auto& orders = StartOrders();
  EXPECT_THAT(Caller("orders.test.local", orders.port()).handshake(), ReceivedAlert(SSL_AD_CERTIFICATE_REQUIRED));
  EXPECT_THAT(orders.stop_and_log(), HasSubstr("peer did not return a certificate"));
}

TEST_F(ServicesTest, OrdersRefusesACertificateFromAnotherCa) {
  StartDatabase();
  StartInventory();
  auto& orders = StartOrders();
  auto stranger = ca::certificate_authority::create().issue({.names = {"alice.test.local"}, .usage = ca::usage::client});
  EXPECT_THAT(Caller("orders.test.local", orders.port(), stranger).handshake(), ReceivedAlert(SSL_AD_UNKNOWN_CA));
  // Positive control: the same name from the right CA gets in.
  EXPECT_THAT(Caller("orders.test.local", orders.port(), Issue({.names = {"alice.test.local"}, .usage = ca::usage::client})).handshake(),
              Succeeds());
}

TEST_F(ServicesTest, OrdersRefusesAnExpiredClientCertificate) {
  StartDatabase();
  StartInventory();
  auto& orders = StartOrders();
  // Expired by the fixture clock's now: orders checks against the real time, which is the same.
  auto now = Clock().Now();
  auto expired = Issue({.names = {"alice.test.local"},
                        .validity = {.not_before = now - std::chrono::hours(2), .not_after = now - std::chrono::hours(1)},
                        .usage = ca::usage::client});
  EXPECT_THAT(Caller("orders.test.local", orders.port(), expired).handshake(), ReceivedAlert(SSL_AD_CERTIFICATE_EXPIRED));
  EXPECT_THAT(orders.stop_and_log(), HasSubstr("certificate verify failed (certificate has expired)"));
}

TEST_F(ServicesTest, OrdersAcceptsARotatedClientCertificateAfterTheDrill) {
  StartDatabase();
  StartInventory();
  auto next = ca::certificate_authority::create();
  auto old_alice = Issue({.names = {"alice.test.local"}, .usage = ca::usage::client});
  auto new_alice = next.issue({.names = {"alice.test.local"}, .usage = ca::usage::client});
  // The drill's first step: orders trusts both roots while callers move to the new one.
  auto both = TempDir() / "both-roots.crt";
  ca::write_file(both, Ca().root().to_pem() + next.root().to_pem(), ca::file_mode::public_read);
  // The database keeps its own CA (sslrootcert in the connection string): this drill rotates the
  // callers' root alone.
  auto options = OrdersOptions(std::nullopt, both);
  options.db += " sslrootcert=" + orders_files_.ca.string();
  auto& during = StartOrders(options);
  EXPECT_THAT(Caller("orders.test.local", during.port(), new_alice).handshake(), Succeeds());
  EXPECT_THAT(Caller("orders.test.local", during.port(), old_alice).handshake(), Succeeds());
  during.stop_and_log();
  // The last step: the old root is dropped; the rotated certificate still gets in, the old one not.
  auto only_next = TempDir() / "next-root.crt";
  ca::write_file(only_next, next.root().to_pem(), ca::file_mode::public_read);
  options = OrdersOptions(std::nullopt, only_next);
  options.db += " sslrootcert=" + orders_files_.ca.string();
  auto& after = StartOrders(options);
  auto rotated = Client(harness::client_options{.host = "orders.test.local", .port = after.port(), .trust = harness::trust{Ca().root()},
                                                .identity = new_alice});
  EXPECT_THAT(rotated.handshake(), Succeeds());
  EXPECT_THAT(Caller("orders.test.local", after.port(), old_alice).handshake(), ReceivedAlert(SSL_AD_UNKNOWN_CA));
}

TEST_F(ServicesTest, OrdersAnswers503WhenInventoryCannotBeVerified) {
  StartDatabase();
  // An inventory whose certificate comes from another CA: orders must not fall back to anything.
  auto other = ca::certificate_authority::create();
  auto dir = TempDir() / "forged";
  other.issue("inventory.test.local").write_to(dir);
  sample::inventory::service items;
  std::ostringstream log;
  sample::https_server forged({.listen = "127.0.0.1:0", .tls = {dir / "fullchain.pem", dir / "key.pem", dir / "ca.crt"}}, items.http_handler(), log);
  forged.start();
  auto& orders = StartOrders("https://inventory.test.local:" + std::to_string(forged.port()));
  auto alice = Issue({.names = {"alice.test.local"}, .usage = ca::usage::client});
  auto placed = Caller("orders.test.local", orders.port(), alice).request(Post("/orders", {{"item", "widget"}, {"quantity", 1}}));
  EXPECT_EQ(placed.result_int(), 503u);
  EXPECT_THAT(placed.body(), HasSubstr("certificate verify failed (unable to get local issuer certificate)"));
}

TEST_F(ServicesTest, OrdersToInventoryClientRejectsImpostors) {
  auto roots = Impostors().trust().ca_file();
  auto orders_client = [&](const harness::impostor& entry) {
    sample::https_client inventory({.base_url = entry.url(), .ca = roots, .cert = orders_files_.cert, .key = orders_files_.key});
    auto r = inventory.call(http::verb::get, "/items/widget");
    return harness::connect_outcome{r.error.empty(), r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error};
  };
  EXPECT_CLIENT_REJECTS_IMPOSTORS(orders_client);
}

TEST_F(ServicesTest, OrdersToPostgresConnectionRejectsImpostors) {
  const auto& catalog = Impostors(harness::protocol::postgres);
  auto orders_database = [&](const harness::impostor& entry) {
    try {
      sample::orders::store db("host=" + entry.host + " port=" + std::to_string(entry.port) + " dbname=orders user=orders connect_timeout=10",
                               catalog.trust().ca_file());
      return harness::connect_outcome{true, "connected"};
    } catch (const std::exception& e) {
      return harness::connect_outcome{false, e.what()};
    }
  };
  EXPECT_CLIENT_REJECTS_IMPOSTORS(orders_database, harness::protocol::postgres);
}

TEST_F(ServicesTest, OrdersRefusesADatabaseCertificateFromAnotherCa) {
  StartDatabase(ca::certificate_authority::create().issue("postgres.test.local"));
  StartInventory();
  try {
    sample::orders::service orders(OrdersOptions());
    FAIL() << "orders started against an unverified database";
  } catch (const sample::orders::database_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("certificate verify failed"));
  }
}

TEST_F(ServicesTest, OrdersRefusesADatabaseCertificateForAnotherHost) {
  StartDatabase(Issue("other.test.local"));
  StartInventory();
  try {
    sample::orders::service orders(OrdersOptions());
    FAIL() << "orders started against a database that is not postgres.test.local";
  } catch (const sample::orders::database_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("does not match host name \"postgres.test.local\""));
  }
}

TEST_F(ServicesTest, OrdersRefusesAWeakerSslmode) {
  StartDatabase();
  StartInventory();
  auto options = OrdersOptions();
  options.db += " sslmode=require";
  try {
    sample::orders::service orders(options);
    FAIL() << "orders accepted sslmode=require";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("--db: sslmode=require would accept a server it has not verified"));
  }
}

TEST_F(ServicesTest, TheDatabaseServesTlsOnly) {
  StartDatabase();
  // The negative control for every database test: plaintext finds no pg_hba.conf entry.
  PGconn* plain = PQconnectdb((DatabaseConninfo() + " sslmode=disable").c_str());
  EXPECT_NE(PQstatus(plain), CONNECTION_OK);
  EXPECT_THAT(PQerrorMessage(plain), HasSubstr("no encryption"));
  PQfinish(plain);
  EXPECT_NO_THROW(sample::orders::store(DatabaseConninfo(), TempDir() / "postgres" / "ca.crt"));
}

TEST_F(ServicesTest, ServicesRefuseToStartWithoutTlsMaterial) {
  sample::inventory::service items;
  std::ostringstream log;
  try {
    sample::https_server server({.listen = "127.0.0.1:0", .tls = {}}, items.http_handler(), log);
    FAIL() << "a server started without TLS material";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "--cert is required: this service has no plaintext mode");
  }
  try {
    sample::https_client plain({.base_url = "http://inventory.test.local:80", .ca = orders_files_.ca, .flag = "--inventory-url"});
    FAIL() << "a client accepted http://";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("--inventory-url 'http://inventory.test.local:80': only https:// URLs"));
  }
}

TEST_F(ServicesTest, InventoryRefusesPlaintextAndKeepsServing) {
  auto& inventory = StartInventory();
  auto answer = test::plaintext_exchange(inventory.port(), "GET /items HTTP/1.1\r\nHost: inventory.test.local\r\n\r\n");
  EXPECT_EQ(answer.find("HTTP/"), std::string::npos) << "inventory answered plaintext: " << answer;
  EXPECT_EQ(PutItem("widget", "Widget", 1), 201u);  // still serving, over TLS
  EXPECT_THAT(inventory.stop_and_log(), HasSubstr("http request"));
}

}  // namespace
}  // namespace tlsfix::samples
