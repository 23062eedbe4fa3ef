#include "sample/inventory.hpp"

#include <boost/beast/http/verb.hpp>

namespace sample::inventory {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

json to_json(const std::string& id, const item& it) { return {{"id", id}, {"name", it.name}, {"quantity", it.quantity}}; }

// An id is one path segment of letters, digits, '-' and '_'.
bool valid_id(const std::string& id) {
  return !id.empty() && id.size() <= 64 && id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == std::string::npos;
}

}  // namespace

sample::handler service::http_handler() {
  return [this](const request& req, const peer& from) { return handle(req, from); };
}

response service::handle(const request& req, const peer&) {
  std::string target(req.target());
  if (target == "/items") {
    if (req.method() != http::verb::get) return error_response(req, 405, "use GET on /items");
    json list = json::array();
    std::lock_guard lock(mutex_);
    for (const auto& [id, it] : items_) list.push_back(to_json(id, it));
    return json_response(req, 200, {{"items", list}});
  }
  const std::string prefix = "/items/";
  if (!target.starts_with(prefix)) return error_response(req, 404, "no such resource: " + target);
  std::string id = target.substr(prefix.size());
  if (!valid_id(id)) return error_response(req, 400, "item id '" + id + "': letters, digits, '-' and '_' only");
  if (req.method() == http::verb::get) {
    std::lock_guard lock(mutex_);
    auto found = items_.find(id);
    if (found == items_.end()) return error_response(req, 404, "no item '" + id + "'");
    return json_response(req, 200, to_json(id, found->second));
  }
  if (req.method() != http::verb::put) return error_response(req, 405, "use GET or PUT on /items/{id}");
  json body = json::parse(req.body(), nullptr, false);
  if (!body.is_object() || !body.contains("name") || !body["name"].is_string() || !body.contains("quantity") ||
      !body["quantity"].is_number_integer() || body["quantity"].get<long long>() < 0)
    return error_response(req, 400, R"(expected {"name": "...", "quantity": N} with N >= 0)");
  item it{body["name"].get<std::string>(), body["quantity"].get<long long>()};
  std::lock_guard lock(mutex_);
  bool created = items_.insert_or_assign(id, it).second;
  return json_response(req, created ? 201 : 200, to_json(id, it));
}

}  // namespace sample::inventory
