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

#include "cli.hpp"
#include "directory.hpp"
#include "outputs.hpp"
#include "process.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::cli {

void add_run(CLI::App& app, int& status) {
  struct options {
    std::string dir;
    std::vector<std::string> command;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("run", "Run a program that trusts the directory's CA and resolves its names to loopback");
  cmd->footer("Example:\n  tlsfix run tls -- curl https://service.test.local:8443/\n"
              "Exits with the program's status (127 when it cannot be started).");
  cmd->add_option("DIR", o->dir, "A tlsfix directory")->required();
  cmd->add_option("CMD", o->command, "The program and its arguments, after --")->required();
  cmd->callback([o, &status] {
    auto dir = tlsfix_dir::open(o->dir);
    env_list vars = environment(harness::trust::from_file(dir.ca_file()), dir.path(), dir.services());
    for (auto& v : nss_wrapper_environment(dir.path() / "hosts")) vars.push_back(std::move(v));
    for (const auto& [k, v] : vars) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    for (auto& arg : o->command) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::cout.flush();
    ::execvp(argv[0], argv.data());
    int err = errno;
    std::cerr << "tlsfix run: cannot start " << o->command[0] << ": " << std::strerror(err) << '\n';
    status = 127;
  });
}

}  // namespace tlsfix::cli
