#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include "tlsfix/error.hpp"

extern char** environ;

namespace tlsfix::cli {

namespace fs = std::filesystem;

namespace {

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

int run_program(const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  auto pointers = pointers_to(args);
  pid_t pid = -1;
  if (posix_spawnp(&pid, pointers[0], nullptr, nullptr, pointers.data(), environ) != 0) return 127;
  return wait_for(pid);
}

captured_run run_captured(const std::vector<std::string>& argv, const env_list& env, std::chrono::milliseconds timeout) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    auto eq = entry.find('=');
    if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> env_strings, args = argv;
  for (const auto& [k, v] : merged) env_strings.push_back(k + "=" + v);
  auto envp = pointers_to(env_strings);
  auto argp = pointers_to(args);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw tlsfix::error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group, so that a timeout also kills what it started (a shell's children).
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  pid_t pid = -1;
  int spawned = posix_spawnp(&pid, argp[0], &actions, &attributes, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(fds[1]);
  if (spawned != 0) {
    ::close(fds[0]);
    throw tlsfix::error("cannot start " + argv[0] + ": " + std::strerror(spawned));
  }

  captured_run result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline check above decides
    char buffer[4096];
    ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the program and its children closed their output
    if (result.output.size() < 64 * 1024) result.output.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  result.exit_status = wait_for(pid);
  return result;
}

bool can_execute(const std::string& program) {
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    fs::path dir = end == start ? fs::path(".") : fs::path(dirs.substr(start, end - start));
    if (::access((dir / program).c_str(), X_OK) == 0 && !fs::is_directory(dir / program)) return true;
    start = end + 1;
  }
  return false;
}

fs::path find_nss_wrapper() {
  if (const char* explicit_path = std::getenv("TLSFIX_NSS_WRAPPER")) return explicit_path;
  for (const char* candidate : {"/usr/lib/x86_64-linux-gnu/libnss_wrapper.so", "/usr/lib/aarch64-linux-gnu/libnss_wrapper.so",
                                "/usr/lib64/libnss_wrapper.so", "/usr/lib/libnss_wrapper.so", "/usr/local/lib/libnss_wrapper.so"})
    if (fs::exists(candidate)) return candidate;
  throw tlsfix::error("libnss_wrapper.so not found: install libnss-wrapper (Debian) or set TLSFIX_NSS_WRAPPER to its path");
}

env_list nss_wrapper_environment(const fs::path& hosts_file) {
  std::string preload = find_nss_wrapper().string();
  // nss_wrapper answers hosts lookups from its file; users and groups still come from the system.
  const char* existing = std::getenv("LD_PRELOAD");
  return {{"NSS_WRAPPER_HOSTS", hosts_file.string()},
          {"LD_PRELOAD", existing && *existing ? preload + ":" + existing : preload}};
}

}  // namespace tlsfix::cli
