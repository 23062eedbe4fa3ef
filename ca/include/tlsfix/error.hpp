// The one exception type of tlsfix, thrown by every layer: the CA, the harness and the CLI.
//
// Setup failures and misuse throw `tlsfix::error`. It keeps apart what each layer knows, so that an
// outer layer can put a fault in its own terms without losing what the inner one found:
//   - field(): where the fault is, in the caller's terms: a field path ("cert_request.names[2]"),
//     a flag ("--allow-name") or a place in a spec file ("tls.yaml:12:5: services[1].name");
//   - problem(): what is wrong there ("'300.1.1.1' is not a valid IPv4 address");
//   - openssl_call() and openssl_errors(): the OpenSSL function that failed, and the error queue
//     it left, drained (so cleared) when the error was made.
// what() joins them: "cert_request.names[2]: '300.1.1.1' is not a valid IPv4 address". Failures a
// test expects, a handshake or a verification that should fail, are values, never this exception.
//
//   try {
//     auto leaf = ca.issue({.names = {"bad name"}});
//   } catch (const tlsfix::error& e) {
//     std::cerr << e.what() << '\n';   // cert_request.names[0]: 'bad name' is not a valid ...
//     assert(e.field() == "cert_request.names[0]");
//   }
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tlsfix {

class error : public std::runtime_error {
 public:
  // A problem that belongs to no one field ("tls_server: the handler is empty").
  explicit error(std::string problem);
  error(std::string field, std::string problem);
  // A failed OpenSSL call whose error queue the caller already took.
  error(std::string field, std::string problem, std::string openssl_call, std::vector<std::string> openssl_errors);
  // A failed OpenSSL call: takes (and so clears) this thread's OpenSSL error queue.
  static error from_openssl(std::string call, std::string problem, std::string field = {});

  const std::string& field() const noexcept { return field_; }
  const std::string& problem() const noexcept { return problem_; }
  // The OpenSSL function that failed, or empty when tlsfix found the fault itself.
  const std::string& openssl_call() const noexcept { return openssl_call_; }
  // OpenSSL's error queue at the time of failure, oldest first.
  const std::vector<std::string>& openssl_errors() const noexcept { return openssl_errors_; }

  // The same error as an outer layer reports it: `context` ("--service api.test.local") goes in
  // front of the field, and the problem and the OpenSSL details stay as they were.
  error within(std::string_view context) const;

 private:
  std::string field_;
  std::string problem_;
  std::string openssl_call_;
  std::vector<std::string> openssl_errors_;
};

}  // namespace tlsfix
