// `tlsfix run DIR -- CMD...`: runs an unmodified program that trusts the directory's CA and
// resolves its service names to loopback, without root, DNS or /etc/hosts.
//
// Names resolve through nss_wrapper (Debian libnss-wrapper): LD_PRELOAD'ed into the program, it
// answers getaddrinfo() from NSS_WRAPPER_HOSTS, which is the directory's `hosts` file. Programs
// that bypass the C library's resolver (Go binaries with the pure-Go resolver, c-ares) or drop
// LD_PRELOAD (setuid) do not see these names; they need --resolve or /etc/hosts instead.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "directory.hpp"
#include "outputs.hpp"
#include "process.hpp"
#include "tlsfix/harness/nss_wrapper.hpp"
#include "verbs.hpp"

namespace tlsfix::cli {

verb_result run(const run_options& o) {
  auto dir = tlsfix_dir::open(o.dir);
  env_list vars = environment(harness::trust::from_file(dir.ca_file()), dir.path(), dir.services());
  for (auto& v : harness::nss_wrapper_environment(dir.path() / "hosts")) vars.push_back(std::move(v));
  for (const auto& [k, v] : vars) ::setenv(k.c_str(), v.c_str(), 1);
  std::vector<std::string> command = o.command;
  std::vector<char*> argv;
  for (auto& arg : command) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::cout.flush();
  ::execvp(argv[0], argv.data());
  int err = errno;
  return {.status = 127, .err = "tlsfix run: cannot start " + o.command[0] + ": " + std::strerror(err) + "\n"};
}

}  // namespace tlsfix::cli
