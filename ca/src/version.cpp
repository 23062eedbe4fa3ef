#include "tlsfix/version.hpp"

namespace tlsfix {

std::string_view version() noexcept { return TLSFIX_VERSION_STRING; }

}  // namespace tlsfix
