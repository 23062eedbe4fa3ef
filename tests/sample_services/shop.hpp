// The sample services in-process, for their suites: inventory, orders and a real PostgreSQL, each
// given TLS material written by the test's CA, reachable by name (fixtures' in-process names).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include <tlsfix/fixtures.hpp>

#include "postgres_server.hpp"
#include "sample/https_server.hpp"
#include "sample/inventory.hpp"
#include "sample/orders.hpp"

namespace tlsfix::samples {

// A running service and its log (read once it has stopped).
template <typename Service>
struct running {
  std::unique_ptr<Service> service;
  std::ostringstream log;
  std::unique_ptr<sample::https_server> server;

  std::uint16_t port() const { return server->port(); }
  std::string stop_and_log() {
    server->stop();
    return log.str();
  }
};

class ShopTest : public fixtures::TlsTest {
 protected:
  void SetUp() override;

  // `identity` written under TempDir()/NAME (fullchain.pem, key.pem) with this test's root as ca.crt.
  sample::tls_files Files(const std::string& name, const ca::issued_cert& identity);
  // A real PostgreSQL serving `identity` (by default postgres.test.local from Ca()).
  test::postgres_server& StartDatabase(std::optional<ca::issued_cert> identity = std::nullopt);
  running<sample::inventory::service>& StartInventory();
  // orders, calling inventory at `inventory_url` (by default the running inventory, by name) and
  // the running database; its CA file is `ca` (by default this test's root).
  running<sample::orders::service>& StartOrders(std::optional<std::string> inventory_url = std::nullopt,
                                                std::optional<std::filesystem::path> ca = std::nullopt);
  running<sample::orders::service>& StartOrders(const sample::orders::options& options);
  // What orders is given to reach the database.
  std::string DatabaseConninfo() const;
  sample::orders::options OrdersOptions(std::optional<std::string> inventory_url = std::nullopt,
                                        std::optional<std::filesystem::path> ca = std::nullopt);

  // A verifying client of a service by name, with `identity` when given (mTLS).
  harness::test_client Caller(const std::string& host, std::uint16_t port, std::optional<ca::issued_cert> identity = std::nullopt);
  // PUT /items/{id} on inventory; the response's status.
  unsigned PutItem(const std::string& id, const std::string& name, long long quantity);

  std::optional<ca::issued_cert> orders_identity_;  // orders' own certificate: server and client (towards inventory)
  sample::tls_files orders_files_;
  std::optional<test::postgres_server> database_;
  std::optional<running<sample::inventory::service>> inventory_;
  std::optional<running<sample::orders::service>> orders_;
};

}  // namespace tlsfix::samples
