#include "tlsfix/ca/error.hpp"

#include <openssl/err.h>

namespace tlsfix::ca {

error::error(const std::string& message) : std::runtime_error(message) {}

namespace {
std::string with_queue(const std::string& message, const std::string& call,
                       const std::vector<std::string>& queue) {
  std::string text = message;
  if (!call.empty()) text += " (" + call + " failed";
  for (const auto& entry : queue) text += "; " + entry;
  if (!call.empty()) text += ")";
  return text;
}
}  // namespace

error::error(const std::string& message, std::string openssl_call, std::vector<std::string> openssl_errors)
    : std::runtime_error(with_queue(message, openssl_call, openssl_errors)),
      openssl_call_(std::move(openssl_call)),
      openssl_errors_(std::move(openssl_errors)) {}

namespace detail {

std::vector<std::string> drain_openssl_errors() {
  std::vector<std::string> queue;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    queue.emplace_back(buffer);
  }
  return queue;
}

void throw_openssl(const std::string& call, const std::string& context) {
  throw error(context, call, drain_openssl_errors());
}

}  // namespace detail
}  // namespace tlsfix::ca
