// The verbs of the `tlsfix` command line, one registration function each.
//
// main.cpp builds the CLI11 app and calls every `add_*` below; each verb lives in its own file,
// adds its subcommand with an example in its help text, and reports its outcome through `status`
// (CLI11 callbacks return nothing). Exit statuses are the same for every verb:
//
//   0  success
//   1  usage or input error: bad flags, unreadable or malformed files, refused overwrites
//   2  a check failed: probe could not verify, verify rejected, check-expiry found something,
//      check-client's client accepted an impostor or rejected a control
//   `run` exits with the status of the program it ran (127 when it cannot be started).
//
//   CLI::App app{"tlsfix"};
//   int status = 0;
//   tlsfix::cli::add_init(app, status);
#pragma once

#include <CLI/CLI.hpp>

namespace tlsfix::cli {

enum exit_status : int { success = 0, usage_error = 1, check_failed = 2 };

void add_init(CLI::App& app, int& status);
void add_issue(CLI::App& app, int& status);
void add_env(CLI::App& app, int& status);
void add_run(CLI::App& app, int& status);
void add_probe(CLI::App& app, int& status);
void add_verify(CLI::App& app, int& status);
void add_check_expiry(CLI::App& app, int& status);
void add_serve(CLI::App& app, int& status);
void add_proxy(CLI::App& app, int& status);
void add_trust(CLI::App& app, int& status);
void add_check_client(CLI::App& app, int& status);

}  // namespace tlsfix::cli
