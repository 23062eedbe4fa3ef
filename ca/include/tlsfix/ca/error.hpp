// The one exception type of tlsfix.
//
// Setup failures and misuse throw `tlsfix::ca::error`. Its message names the field or file at fault
// and the value ("cert_request.names[2]: '300.1.1.1' is not a valid DNS name or IP address"); when
// OpenSSL failed, it also carries the failing call and the drained OpenSSL error queue. Failures a
// test expects (a handshake or a verification that should fail) are values, never this exception.
//
//   try {
//     auto cert = ca.issue({.names = {"bad name"}});
//   } catch (const tlsfix::ca::error& e) {
//     std::cerr << e.what() << '\n';  // cert_request.names[0]: 'bad name' is not a valid ...
//   }
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace tlsfix::ca {

class error : public std::runtime_error {
 public:
  explicit error(const std::string& message);
  error(const std::string& message, std::string openssl_call, std::vector<std::string> openssl_errors);

  // The OpenSSL function that failed, or empty when the failure was found by tlsfix itself.
  const std::string& openssl_call() const noexcept { return openssl_call_; }
  // OpenSSL's error queue at the time of failure, oldest first.
  const std::vector<std::string>& openssl_errors() const noexcept { return openssl_errors_; }

 private:
  std::string openssl_call_;
  std::vector<std::string> openssl_errors_;
};

namespace detail {
// Throws `error` for a failed OpenSSL call, draining (and so clearing) the thread's error queue.
[[noreturn]] void throw_openssl(const std::string& call, const std::string& context);
// Empties the thread's OpenSSL error queue, returning its entries as text.
std::vector<std::string> drain_openssl_errors();
}  // namespace detail

}  // namespace tlsfix::ca
