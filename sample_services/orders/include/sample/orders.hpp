// orders: places orders for inventory's items, as an HTTPS JSON API that requires a client
// certificate from every caller (mutual TLS). Before it stores an order in PostgreSQL it checks
// the stock with inventory, calling it by name with its own client certificate.
//
//   POST /orders       <- {"item": "widget", "quantity": 2}
//                      -> 201 {"id": 1, "item": "widget", "quantity": 2, "customer": "alice.test.local"}
//                      |  400 | 404 (no such item) | 409 (not enough stock) | 503 (inventory or database unreachable or unverified)
//   GET /orders/{id}   -> 200 {...} | 404
//
//   sample::orders::service orders({.inventory = {.base_url = "https://inventory.test.local:8443", .ca = "ca.crt",
//                                                 .cert = "orders/fullchain.pem", .key = "orders/key.pem"},
//                                   .db = "host=postgres.test.local port=5432 dbname=postgres user=orders",
//                                   .ca = "ca.crt"});   // connects and creates its table, or throws
//   sample::https_server server({.listen = "127.0.0.1:0", .tls = tls,
//                                .clients = sample::client_auth::required},
//                               orders.http_handler(), std::clog);
#pragma once

#include <filesystem>
#include <string>

#include "sample/https_client.hpp"
#include "sample/https_server.hpp"
#include "sample/store.hpp"

namespace sample::orders {

struct options {
  client_options inventory;  // inventory's URL, the CA, and orders' own client identity
  std::string db;            // a libpq connection string (sslmode is always verify-full)
  std::filesystem::path ca;  // sslrootcert when the connection string names none
};

class service {
 public:
  // Connects to the database and creates the table if it does not exist. Throws database_error
  // (a server that is unreachable, or whose certificate does not verify), std::invalid_argument or
  // std::runtime_error (configuration), each naming what is wrong.
  explicit service(const options& o);

  // The request handler; the service must outlive the server it is given to.
  sample::handler http_handler();
  response handle(const request& req, const peer& from);

 private:
  https_client inventory_;
  store store_;
};

}  // namespace sample::orders
