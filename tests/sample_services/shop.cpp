#include "shop.hpp"

namespace tlsfix::samples {

void ShopTest::SetUp() {
  if (auto why = test::postgres_unavailable(); !why.empty()) GTEST_SKIP() << why;
  orders_identity_ = Issue({.names = {"orders.test.local"}, .usage = ca::usage::server_and_client});
  orders_files_ = Files("orders.test.local", *orders_identity_);
}

sample::tls_files ShopTest::Files(const std::string& name, const ca::issued_cert& identity) {
  auto dir = TempDir() / name;
  identity.write_to(dir);
  return {dir / "fullchain.pem", dir / "key.pem", dir / "ca.crt"};
}

test::postgres_server& ShopTest::StartDatabase(std::optional<ca::issued_cert> identity) {
  auto files = test::postgres_files(TempDir(), identity ? *identity : Issue("postgres.test.local"), Ca().root());
  return database_.emplace(files);
}

running<sample::inventory::service>& ShopTest::StartInventory() {
  auto& r = inventory_.emplace();
  r.service = std::make_unique<sample::inventory::service>();
  r.server = std::make_unique<sample::https_server>(
      sample::server_options{.listen = "127.0.0.1:0", .tls = Files("inventory.test.local", Issue("inventory.test.local")), .name = "inventory"},
      r.service->http_handler(), r.log);
  r.server->start();
  return r;
}

std::string ShopTest::DatabaseConninfo() const {
  return "host=postgres.test.local port=" + std::to_string(database_->port()) + " dbname=postgres user=" + database_->role() +
         " connect_timeout=10";
}

sample::orders::options ShopTest::OrdersOptions(std::optional<std::string> inventory_url, std::optional<std::filesystem::path> ca) {
  auto root = ca ? *ca : orders_files_.ca;
  return {.inventory = {.base_url = inventory_url ? *inventory_url : "https://inventory.test.local:" + std::to_string(inventory_->port()),
                        .ca = root,
                        .cert = orders_files_.cert,
                        .key = orders_files_.key},
          .db = DatabaseConninfo(),
          .ca = root};
}

running<sample::orders::service>& ShopTest::StartOrders(std::optional<std::string> inventory_url, std::optional<std::filesystem::path> ca) {
  return StartOrders(OrdersOptions(inventory_url, ca));
}

running<sample::orders::service>& ShopTest::StartOrders(const sample::orders::options& options) {
  auto& r = orders_.emplace();
  r.service = std::make_unique<sample::orders::service>(options);
  auto tls = orders_files_;
  tls.ca = options.ca;
  r.server = std::make_unique<sample::https_server>(
      sample::server_options{.listen = "127.0.0.1:0", .tls = tls, .clients = sample::client_auth::required, .name = "orders"},
      r.service->http_handler(), r.log);
  r.server->start();
  return r;
}

harness::test_client ShopTest::Caller(const std::string& host, std::uint16_t port, std::optional<ca::issued_cert> identity) {
  return Client(harness::client_options{.host = host, .port = port, .trust = Trust(), .identity = std::move(identity)});
}

unsigned ShopTest::PutItem(const std::string& id, const std::string& name, long long quantity) {
  harness::http_request req{boost::beast::http::verb::put, "/items/" + id, 11};
  req.set(boost::beast::http::field::content_type, "application/json");
  req.body() = nlohmann::json{{"name", name}, {"quantity", quantity}}.dump();
  req.prepare_payload();
  return Caller("inventory.test.local", inventory_->port()).request(req).result_int();
}

}  // namespace tlsfix::samples
