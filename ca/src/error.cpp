#include "tlsfix/error.hpp"

#include <openssl/err.h>

#include "detail/openssl_errors.hpp"

namespace tlsfix {

namespace {

std::string describe(const std::string& field, const std::string& problem, const std::string& call,
                     const std::vector<std::string>& queue) {
  std::string text = field.empty() ? problem : field + ": " + problem;
  if (!call.empty()) text += " (" + call + " failed";
  for (const auto& entry : queue) text += "; " + entry;
  if (!call.empty()) text += ")";
  return text;
}

}  // namespace

error::error(std::string problem) : error({}, std::move(problem), {}, {}) {}

error::error(std::string field, std::string problem) : error(std::move(field), std::move(problem), {}, {}) {}

error::error(std::string field, std::string problem, std::string call, std::vector<std::string> queue)
    : std::runtime_error(describe(field, problem, call, queue)),
      field_(std::move(field)),
      problem_(std::move(problem)),
      openssl_call_(std::move(call)),
      openssl_errors_(std::move(queue)) {}

error error::from_openssl(std::string call, std::string problem, std::string field) {
  return error(std::move(field), std::move(problem), std::move(call), ca::detail::drain_openssl_errors());
}

error error::within(std::string_view context) const {
  std::string outer(context);
  if (!field_.empty()) outer = outer.empty() ? field_ : outer + ": " + field_;
  return error(std::move(outer), problem_, openssl_call_, openssl_errors_);
}

namespace ca::detail {

std::vector<std::string> drain_openssl_errors() {
  std::vector<std::string> queue;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    queue.emplace_back(buffer);
  }
  return queue;
}

}  // namespace ca::detail
}  // namespace tlsfix
