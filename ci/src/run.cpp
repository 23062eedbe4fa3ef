// `tlsfix run DIR -- CMD...`: runs an unmodified program that trusts the directory's CA and
// resolves its service names to loopback, without DNS.
//
// Where a private mount namespace is available (as root, or through an unprivileged user
// namespace: private_mounts.hpp), the program gets its own /etc/hosts (the directory's `hosts`
// and localhost), files-then-DNS lookup and DNS on loopback only, so that every resolver sees the
// names, static Go binaries and the JVM included, and no lookup leaves the machine. Otherwise
// names come from nss_wrapper (Debian libnss-wrapper), LD_PRELOAD'ed to answer getaddrinfo() from
// the hosts file; programs that bypass the C library's resolver or drop LD_PRELOAD (setuid) do not
// see them, and the run says so on stderr.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "directory.hpp"
#include "outputs.hpp"
#include "private_mounts.hpp"
#include "tlsfix/ca/files.hpp"
#include "tlsfix/harness/nss_wrapper.hpp"
#include "verbs.hpp"

namespace tlsfix::cli {

namespace {

// Lays the name overlays over this process's view, which the program inherits through exec; ""
// when done, else why not.
std::string enter_private_names(const tlsfix_dir& dir) {
  if (auto why = private_mounts_unavailable(); !why.empty()) return why;
  std::vector<ca::temp_file> files;
  prepared_overlays overlays(name_overlays(ca::read_file(dir.path() / "hosts"), files));
  if (int err = overlays.enter()) return std::string("cannot lay a private /etc/hosts: ") + std::strerror(err);
  // The mounts hold the files open: `files` removes only their names as it goes.
  return {};
}

}  // namespace

verb_result run(const run_options& o) {
  auto dir = tlsfix_dir::open(o.dir);
  env_list vars = environment(harness::trust::from_file(dir.ca_file()), dir.path(), dir.services());
  if (auto why = enter_private_names(dir); !why.empty()) {
    for (auto& v : harness::nss_wrapper_environment(dir.path() / "hosts")) vars.push_back(std::move(v));
    std::cerr << "tlsfix run: " << why << ": names resolve through nss_wrapper, which static binaries (CGO_ENABLED=0 Go),"
              << " the JVM and setuid programs bypass\n";
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
