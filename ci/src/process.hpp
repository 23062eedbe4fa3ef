// Starting other programs: helpers in the foreground (certutil, update-ca-certificates), clients
// under test with their output captured and a deadline, and nss_wrapper so that an unmodified
// program resolves test names to loopback.
//
//   int rc = run_program({"update-ca-certificates"});          // output goes straight to ours
//   auto r = run_captured({"curl", url}, {{"SSL_CERT_FILE", ca}}, std::chrono::seconds(10));
//   if (r.timed_out) ...                                        // killed, with its process group
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace tlsfix::cli {

using env_list = std::vector<std::pair<std::string, std::string>>;

// Exit status, or 127 when the program cannot be started (like a shell).
int run_program(const std::vector<std::string>& argv);

struct captured_run {
  int exit_status = -1;  // 128 + signal when killed by one
  bool timed_out = false;
  std::string output;    // stdout and stderr interleaved, at most 64 KiB
};

// Runs `argv` (PATH searched, no shell) with our environment plus `env` (overriding), stdin from
// /dev/null. At the deadline the program and everything it started in its process group get
// SIGKILL. Throws `tlsfix::error` when the program cannot be started.
captured_run run_captured(const std::vector<std::string>& argv, const env_list& env, std::chrono::milliseconds timeout);

// Whether `program` names an executable: a path, or a name found on PATH.
bool can_execute(const std::string& program);

// libnss_wrapper.so (Debian libnss-wrapper), or $TLSFIX_NSS_WRAPPER; throws saying what to install.
std::filesystem::path find_nss_wrapper();
// NSS_WRAPPER_HOSTS and LD_PRELOAD (ahead of any existing one): getaddrinfo() then answers from
// `hosts_file`. Programs that bypass the C library's resolver (pure-Go, c-ares) are not covered.
env_list nss_wrapper_environment(const std::filesystem::path& hosts_file);

}  // namespace tlsfix::cli
