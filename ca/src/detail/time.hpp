// Private helpers between std::chrono and ASN1_TIME.
#pragma once

#include <openssl/asn1.h>

#include <chrono>
#include <ctime>
#include <string>

#include "tlsfix/ca/cert_request.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::ca::detail {

inline clock::time_point to_time_point(const ASN1_TIME* time) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) throw error::from_openssl("ASN1_TIME_to_tm", "reading a certificate time");
  return clock::from_time_t(timegm(&tm));
}

inline std::time_t to_time_t(clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// ASN1_TIME_set picks UTCTime before 2050 and GeneralizedTime after, as RFC 5280 requires.
inline void set_time(ASN1_TIME* target, clock::time_point t) {
  if (ASN1_TIME_set(target, to_time_t(t)) == nullptr) throw error::from_openssl("ASN1_TIME_set", "setting a certificate time");
}

}  // namespace tlsfix::ca::detail
