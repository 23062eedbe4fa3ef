// Private: the thread's OpenSSL error queue as text.
#pragma once

#include <string>
#include <vector>

namespace tlsfix::ca::detail {

// Empties the thread's OpenSSL error queue, returning its entries as text, oldest first.
std::vector<std::string> drain_openssl_errors();

}  // namespace tlsfix::ca::detail
