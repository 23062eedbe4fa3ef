// `tlsfix run DIR -- CMD...`: runs an unmodified program that trusts the directory's CA and
// resolves its service names to loopback, without DNS.
//
// Where a private mount namespace is available (as root, or through an unprivileged user
// namespace: private_mounts.hpp), the program gets its own /etc/hosts (the directory's `hosts`
// added to the machine's), lookup from files alone and DNS on loopback only, so that every
// resolver sees the names, static Go binaries and the JVM included, and no lookup leaves the
// machine. Otherwise names come from nss_wrapper (Debian libnss-wrapper), LD_PRELOAD'ed to answer
// getaddrinfo() from the hosts file; programs that bypass the C library's resolver or drop
// LD_PRELOAD (setuid) do not see them, and the run says so on stderr.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "directory.hpp"
#include "outputs.hpp"
#include "private_mounts.hpp"
#include "tlsfix/ca/files.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/harness/nss_wrapper.hpp"
#include "verbs.hpp"

namespace tlsfix::cli {

namespace {

// Lays the name overlays over this process's view, which the program inherits through exec.
// False, with the reason, when no namespace is available here; a failure once the namespace is
// known to work throws, since the process may be half-changed (nothing must run in it then).
bool enter_private_names(const tlsfix_dir& dir, std::string& why_not) {
  why_not = private_mounts_unavailable();
  if (!why_not.empty()) return false;
  std::vector<ca::temp_file> files;
  prepared_overlays overlays(name_overlays(ca::read_file(dir.path() / "hosts"), files));
  int failed = -1;
  if (int err = overlays.enter(&failed))
    throw tlsfix::error(std::string("cannot give the program a private ") + (failed >= 0 ? overlays.target(failed) : "mount namespace") +
                        ": " + std::strerror(err));
  // The mounts hold the files open: `files` removes only their names as it goes.
  return true;
}

}  // namespace

verb_result run(const run_options& o) {
  auto dir = tlsfix_dir::open(o.dir);
  env_list vars = environment(harness::trust::from_file(dir.ca_file()), dir.path(), dir.services());
  if (std::string why; !enter_private_names(dir, why)) {
    for (auto& v : harness::nss_wrapper_environment(dir.path() / "hosts")) vars.push_back(std::move(v));
    std::cerr << "tlsfix run: " << why << ": " << nss_wrapper_misses << "\n";
  }
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
