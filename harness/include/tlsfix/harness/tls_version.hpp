// TLS protocol versions a tlsfix server or client may use. There is no way to ask for anything
// older than TLS 1.2: those versions are refused in both directions.
#pragma once

#include <iosfwd>
#include <string_view>

namespace tlsfix::harness {

enum class tls_version { tls1_2, tls1_3 };

struct tls_version_range {
  tls_version min = tls_version::tls1_2;
  tls_version max = tls_version::tls1_3;
};

// "TLSv1.2", "TLSv1.3" (OpenSSL's spelling, as SSL_get_version prints it).
std::string_view to_string(tls_version v) noexcept;
std::ostream& operator<<(std::ostream& out, tls_version v);
std::ostream& operator<<(std::ostream& out, const tls_version_range& range);  // "TLSv1.2 to TLSv1.3"

}  // namespace tlsfix::harness
