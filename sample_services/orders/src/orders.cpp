#include "sample/orders.hpp"

#include <boost/beast/http/verb.hpp>

#include <charconv>

namespace sample::orders {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

client_options named(client_options o) {
  o.flag = "--inventory-url";
  return o;
}

json to_json(const order& o) {
  return {{"id", o.id}, {"item", o.item}, {"quantity", o.quantity}, {"customer", o.customer}};
}

}  // namespace

service::service(const options& o) : inventory_(named(o.inventory)), store_(o.db, o.ca) { store_.create_schema(); }

sample::handler service::http_handler() {
  return [this](const request& req, const peer& from) { return handle(req, from); };
}

response service::handle(const request& req, const peer& from) {
  std::string target(req.target());
  if (target == "/orders") {
    if (req.method() != http::verb::post) return error_response(req, 405, "use POST on /orders");
    json body = json::parse(req.body(), nullptr, false);
    if (!body.is_object() || !body.contains("item") || !body["item"].is_string() || !body.contains("quantity") ||
        !body["quantity"].is_number_integer() || body["quantity"].get<long long>() <= 0)
      return error_response(req, 400, R"(expected {"item": "{id}", "quantity": N} with N > 0)");
    std::string item = body["item"].get<std::string>();
    long long quantity = body["quantity"].get<long long>();
    if (item.empty() || item.find_first_of("/?#% ") != std::string::npos) return error_response(req, 400, "item id '" + item + "' is not valid");

    auto stock = inventory_.call(http::verb::get, "/items/" + item);
    if (!stock.error.empty()) return error_response(req, 503, "inventory " + inventory_.host() + ": " + stock.error);
    if (stock.status == 404) return error_response(req, 404, "no item '" + item + "'");
    json found = json::parse(stock.body, nullptr, false);
    if (stock.status != 200 || !found.is_object() || !found.contains("quantity") || !found["quantity"].is_number_integer())
      return error_response(req, 502, "inventory answered " + std::to_string(stock.status));
    if (found["quantity"].get<long long>() < quantity)
      return error_response(req, 409, "only " + std::to_string(found["quantity"].get<long long>()) + " of '" + item + "' in stock");
    try {
      return json_response(req, 201, to_json(store_.insert(item, quantity, from.identity)));
    } catch (const database_error& e) {
      return error_response(req, 503, e.what());
    }
  }
  const std::string prefix = "/orders/";
  if (!target.starts_with(prefix)) return error_response(req, 404, "no such resource: " + target);
  if (req.method() != http::verb::get) return error_response(req, 405, "use GET on /orders/{id}");
  std::string id_text = target.substr(prefix.size());
  long long id = 0;
  auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc{} || end != id_text.data() + id_text.size()) return error_response(req, 400, "order id '" + id_text + "' is not a number");
  try {
    auto found = store_.find(id);
    if (!found) return error_response(req, 404, "no order " + id_text);
    return json_response(req, 200, to_json(*found));
  } catch (const database_error& e) {
    return error_response(req, 503, e.what());
  }
}

}  // namespace sample::orders
