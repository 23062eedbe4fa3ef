// Names for unmodified subprocess clients: nss_wrapper (Debian libnss-wrapper), LD_PRELOAD'ed
// into a program, answers its getaddrinfo() from a hosts file, so that curl, python3 or a service
// under test dial service.test.local on loopback without DNS, root or /etc/hosts.
//
//   auto env = roots.environment();                               // trust
//   for (auto& v : tlsfix::harness::nss_wrapper_environment(hosts_file)) env.push_back(v);
//   // run the client with `env`: names in hosts_file resolve as that file says
//
// Programs that bypass the C library's resolver (pure-Go binaries, c-ares) or drop LD_PRELOAD
// (setuid) do not see these names.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace tlsfix::harness {

// libnss_wrapper.so, or $TLSFIX_NSS_WRAPPER; throws `tlsfix::error` saying what to install.
std::filesystem::path find_nss_wrapper();

// NSS_WRAPPER_HOSTS, and LD_PRELOAD with nss_wrapper ahead of any existing preload.
std::vector<std::pair<std::string, std::string>> nss_wrapper_environment(const std::filesystem::path& hosts_file);

}  // namespace tlsfix::harness
