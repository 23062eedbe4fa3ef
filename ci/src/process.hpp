// Runs a helper program (certutil, update-ca-certificates) in the foreground and returns its exit
// status; its output goes straight to ours so that the user sees what it said.
//
//   int rc = run_program({"update-ca-certificates"});
#pragma once

#include <string>
#include <vector>

namespace tlsfix::cli {

// Exit status, or 127 when the program cannot be started (like a shell).
int run_program(const std::vector<std::string>& argv);

}  // namespace tlsfix::cli
