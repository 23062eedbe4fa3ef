// The command line's grammar (CLI11) on its own: words in, one verb's options out, and nothing run,
// written or started. run_command_line (commands.hpp) runs what it returns; the CLI's fuzz target
// (fuzz/cli_fuzz.cpp) only parses, so it links neither the verbs nor the harness.
//
//   auto parsed = tlsfix::cli::parse_command_line({"env", "tls", "--format", "github"}, std::cout, std::cerr);
//   if (const auto* c = std::get_if<tlsfix::cli::command>(&parsed)) {
//     const auto& o = std::get<tlsfix::cli::env_options>(c->options);   // o.dir == "tls"
//   } else {
//     return std::get<int>(parsed);          // --help or --version (0), or a usage error (1), printed
//   }
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "verbs.hpp"

namespace tlsfix::cli {

// The two trust verbs take the same flags; their own types tell them apart.
struct trust_install_options : trust_options {};
struct trust_uninstall_options : trust_options {};

using verb_options = std::variant<init_options, issue_options, env_options, run_options, probe_options, verify_options,
                                  check_expiry_options, serve_options, proxy_options, trust_install_options,
                                  trust_uninstall_options, check_client_options>;

struct command {
  std::string verb;  // the first word, as errors name it: "tlsfix <verb>: ..."
  verb_options options;
};

// Parses `args` (without the program's name). --help and --version print to `out`, a usage error to
// `err`, and then the result is the exit status (0 or 1) instead of a command. `catalog_help` ends
// check-client's --help: the impostor catalog's entries, which the harness lists.
std::variant<command, int> parse_command_line(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                                              std::string_view catalog_help = {});

}  // namespace tlsfix::cli
