// Test support: the words a user would see when a tlsfix call refuses its input.
//
//   EXPECT_THAT(error_from([&] { ca.issue("bad name"); }), HasSubstr("cert_request.names[0]"));
#pragma once

#include <exception>
#include <string>

#include "tlsfix/error.hpp"

namespace tlsfix::test {

// The message of the tlsfix::error that `f` throws; any other exception or none at all gives
// a text that no expectation about the message will match.
template <typename F>
std::string error_from(F&& f) {
  try {
    f();
  } catch (const tlsfix::error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("<wrong exception type> ") + e.what();
  }
  return "<no exception>";
}

}  // namespace tlsfix::test
