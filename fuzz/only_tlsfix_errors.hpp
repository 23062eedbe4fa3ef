// What the parsers' fuzz targets hold each parser to: on bad input it throws tlsfix::error, naming
// the fault, and nothing else. Any other exception escapes, and libFuzzer reports it as a crash.
#pragma once

#include "tlsfix/error.hpp"

template <typename F>
void expect_only_tlsfix_errors(F f) {
  try {
    f();
  } catch (const tlsfix::error&) {
  }
}
