// Starting other programs: the one implementation that the CLI (check-client, trust) and the
// tests (curl, openssl, nginx, the tlsfix binary) share. (Names for them: harness/nss_wrapper.hpp.)
//
// Every program gets its own process group, so that a deadline or a stop also ends what it
// started (a shell's children), and dies with this process (PR_SET_PDEATHSIG): a client under
// test or a server a test started never outlives whoever started it, not even a killed one. Exit
// statuses are a shell's: the program's own, 128 + N when signal N ended it.
//
//   auto r = run_captured({"curl", url}, {{"SSL_CERT_FILE", ca}}, std::chrono::seconds(10));
//   if (r.timed_out) ...                                  // killed, with its process group
//   background_process nginx({"nginx", "-g", "daemon off;"});
//   nginx.stop();                                         // SIGTERM, then SIGKILL, by its pid
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "private_mounts.hpp"

namespace tlsfix::cli {

using env_list = std::vector<std::pair<std::string, std::string>>;

struct captured_run {
  int exit_status = -1;  // 128 + signal when killed by one (timed_out says whether we did it)
  bool timed_out = false;
  std::string output;    // stdout and stderr interleaved, at most `output_limit` bytes
};
// "exit 60, output:\n..." (or "timed out, ..."), so that `EXPECT_EQ(r.exit_status, 0) << r` shows
// what the program said.
std::ostream& operator<<(std::ostream& out, const captured_run& r);

// Runs `argv` (PATH searched, no shell) with this process's environment plus `env` (overriding),
// `input` on stdin (nothing when empty), and `overlays` laid over system files for it alone (see
// private_mounts.hpp; check private_mounts_unavailable() first). At the deadline the program and
// its process group get SIGKILL. Throws `tlsfix::error` when the program cannot be started.
captured_run run_captured(const std::vector<std::string>& argv, const env_list& env, std::chrono::milliseconds timeout,
                          const std::string& input = {}, std::size_t output_limit = 64 * 1024,
                          const std::vector<overlay>& overlays = {});

// A program that keeps running (a server): its output goes to a log file, and it is stopped by its
// pid when this object goes (or at stop()), SIGTERM to its process group first, SIGKILL after a
// grace period.
class background_process {
 public:
  explicit background_process(const std::vector<std::string>& argv, const env_list& env = {});
  background_process(background_process&& other) noexcept;
  background_process& operator=(background_process&&) = delete;
  background_process(const background_process&) = delete;
  background_process& operator=(const background_process&) = delete;
  ~background_process();

  pid_t pid() const noexcept { return pid_; }
  bool running();
  // Stops it (if running) and returns its output so far.
  std::string stop(std::chrono::milliseconds grace = std::chrono::seconds(3)) noexcept;
  const std::filesystem::path& log_path() const noexcept { return log_; }

 private:
  pid_t pid_ = -1;
  std::filesystem::path log_;
};

// Whether `program` names an executable: a path, or a name found on PATH.
bool can_execute(const std::string& program);

}  // namespace tlsfix::cli
