// inventory: items and their stock, as an HTTPS JSON API (server-authenticated TLS; a client
// certificate, when one is sent, must come from the service's CA and is logged as the caller).
//
//   GET /items          -> 200 {"items": [{"id": "widget", "name": "Widget", "quantity": 3}, ...]}
//   GET /items/{id}     -> 200 {"id": ..., "name": ..., "quantity": ...} | 404
//   PUT /items/{id}     <- {"name": "Widget", "quantity": 3}  -> 200 (replaced) | 201 (created) | 400
//
//   sample::inventory::service items;
//   sample::https_server server(flags.options_for("inventory"), items.http_handler(), std::clog);
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "sample/https_server.hpp"

namespace sample::inventory {

struct item {
  std::string name;
  long long quantity = 0;
};

class service {
 public:
  // The request handler; the service must outlive the server it is given to.
  sample::handler http_handler();

  response handle(const request& req, const peer& from);

 private:
  std::mutex mutex_;
  std::map<std::string, item> items_;
};

}  // namespace sample::inventory
