#include "tlsfix/harness/nss_wrapper.hpp"

#include <cstdlib>

#include "tlsfix/error.hpp"

namespace tlsfix::harness {

namespace fs = std::filesystem;

fs::path find_nss_wrapper() {
  if (const char* explicit_path = std::getenv("TLSFIX_NSS_WRAPPER")) return explicit_path;
  for (const char* candidate : {"/usr/lib/x86_64-linux-gnu/libnss_wrapper.so", "/usr/lib/aarch64-linux-gnu/libnss_wrapper.so",
                                "/usr/lib64/libnss_wrapper.so", "/usr/lib/libnss_wrapper.so", "/usr/local/lib/libnss_wrapper.so"})
    if (fs::exists(candidate)) return candidate;
  throw tlsfix::error("libnss_wrapper.so not found: install libnss-wrapper (Debian) or set TLSFIX_NSS_WRAPPER to its path");
}

std::vector<std::pair<std::string, std::string>> nss_wrapper_environment(const fs::path& hosts_file) {
  std::string preload = find_nss_wrapper().string();
  // nss_wrapper answers hosts lookups from its file; users and groups still come from the system.
  const char* existing = std::getenv("LD_PRELOAD");
  return {{"NSS_WRAPPER_HOSTS", hosts_file.string()},
          {"LD_PRELOAD", existing && *existing ? preload + ":" + existing : preload}};
}

}  // namespace tlsfix::harness
