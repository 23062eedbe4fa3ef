// `tlsfix env`: the directory's environment variables for shells, GitHub Actions, dotenv or JSON.
// Paths are computed from where the directory is now, so a moved directory still works.
#include <iostream>

#include "cli.hpp"
#include "directory.hpp"
#include "outputs.hpp"

namespace tlsfix::cli {

void add_env(CLI::App& app, int& status) {
  struct options {
    std::string dir;
    std::string format = "shell";
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("env", "Print environment variables that make clients trust the directory's CA");
  cmd->footer("Example:\n  eval \"$(tlsfix env tls)\"\n  tlsfix env tls --format github >> \"$GITHUB_ENV\"");
  cmd->add_option("DIR", o->dir, "A tlsfix directory")->required();
  cmd->add_option("--format", o->format, "shell, github ($GITHUB_ENV), dotenv or json")->capture_default_str();
  cmd->callback([o, &status] {
    auto format = parse_env_format(o->format);
    auto dir = tlsfix_dir::open(o->dir);
    std::cout << format_env(environment(harness::trust::from_file(dir.ca_file()), dir.path(), dir.services()), format);
    status = success;
  });
}

}  // namespace tlsfix::cli
