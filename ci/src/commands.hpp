// The command line's grammar (CLI11): one subcommand per verb in verbs.hpp. The callbacks only
// move parsed flags into a verb's options and call it. Errors become the documented exit statuses
// (verbs.hpp) and a message that starts with "tlsfix <verb>:" and names the file, flag or spec
// position at fault; an OpenSSL failure's error queue follows on lines of its own.
//
//   int main(int argc, char** argv) {
//     return tlsfix::cli::run_command_line({argv + 1, argv + argc}, std::cout, std::cerr);
//   }
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace tlsfix::cli {

// Parses `args` (without the program's name), runs the verb and returns its exit status. Tests
// call it in-process; `run` replaces the calling process, and `serve`/`proxy` block until SIGTERM.
int run_command_line(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tlsfix::cli
