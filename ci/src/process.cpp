#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <thread>

#include "private_mounts.hpp"
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

std::vector<std::string> merged_environment(const env_list& extra) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    auto eq = entry.find('=');
    if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) merged[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : merged) out.push_back(k + "=" + v);
  return out;
}

// Starts `argv` with stdout and stderr on `out_fd` and stdin from `in_fd` (/dev/null when -1), in
// its own process group, seeing `overlays` in a mount namespace of its own when there are any.
// fork and exec rather than posix_spawn, for PR_SET_PDEATHSIG and the overlays.
pid_t spawn(const std::vector<std::string>& argv, const env_list& env, int out_fd, int in_fd,
            const std::vector<overlay>& overlays = {}) {
  if (argv.empty()) throw tlsfix::error("no program to run");
  // Everything the child needs is made before fork: after it, only async-signal-safe calls.
  auto args = argv;
  auto envs = merged_environment(env);
  auto arg_pointers = pointers_to(args);
  auto env_pointers = pointers_to(envs);
  prepared_overlays mounts(overlays);
  int null_fd = in_fd >= 0 ? -1 : ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // Carries {stage, errno} back when the overlays or exec fail; a successful exec closes it.
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) throw tlsfix::error(std::string("pipe: ") + std::strerror(errno));
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    ::dup2(in_fd >= 0 ? in_fd : null_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(out_fd, 2);
    // {stage: -1 exec, else the overlay that failed (or -2, the namespace), errno}
    int failure[2] = {-2, 0};
    int failed_overlay = -1;
    failure[1] = mounts.empty() ? 0 : mounts.enter(&failed_overlay);
    failure[0] = failed_overlay >= 0 ? failed_overlay : -2;
    if (failure[1] == 0) {
      ::execvpe(arg_pointers[0], arg_pointers.data(), env_pointers.data());
      failure[0] = -1;
      failure[1] = errno;
    }
    if (::write(status_pipe[1], failure, sizeof failure) < 0) {
    }
    ::_exit(127);
  }
  int failure[2] = {-1, pid < 0 ? errno : 0};
  ::close(status_pipe[1]);
  if (null_fd >= 0) ::close(null_fd);
  if (pid > 0) {
    ssize_t n = 0;
    while ((n = ::read(status_pipe[0], failure, sizeof failure)) < 0 && errno == EINTR) {
    }
    if (n == sizeof failure) ::waitpid(pid, nullptr, 0);
    else failure[1] = 0;
  }
  ::close(status_pipe[0]);
  if (failure[1] != 0 && failure[0] == -2)
    throw tlsfix::error("cannot give " + argv[0] + " a private mount namespace: " + std::strerror(failure[1]));
  if (failure[1] != 0 && failure[0] >= 0)
    throw tlsfix::error("cannot give " + argv[0] + " a private " + mounts.target(failure[0]) + ": " + std::strerror(failure[1]));
  if (failure[1] != 0) throw tlsfix::error("cannot start " + argv[0] + ": " + std::strerror(failure[1]));
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

captured_run run_captured(const std::vector<std::string>& argv, const env_list& env, std::chrono::milliseconds timeout,
                          const std::string& input, std::size_t output_limit, const std::vector<overlay>& overlays) {
  int out[2], in[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0) throw tlsfix::error(std::string("pipe: ") + std::strerror(errno));
  if (!input.empty() && ::pipe2(in, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw tlsfix::error(std::string("pipe: ") + std::strerror(errno));
  }
  pid_t pid = -1;
  try {
    pid = spawn(argv, env, out[1], in[0], overlays);
  } catch (...) {
    for (int fd : {out[0], out[1], in[0], in[1]})
      if (fd >= 0) ::close(fd);
    throw;
  }
  ::close(out[1]);
  if (in[0] >= 0) {
    ::close(in[0]);
    // Small inputs fit the pipe buffer; nothing here feeds more.
    if (::write(in[1], input.data(), input.size()) < 0) {
    }
    ::close(in[1]);
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
    pollfd p{out[0], POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready <= 0) continue;  // EINTR or the deadline: the check above decides
    char buffer[4096];
    ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the program and its children closed their output
    if (result.output.size() < output_limit)
      result.output.append(buffer, std::min(static_cast<std::size_t>(n), output_limit - result.output.size()));
  }
  ::close(out[0]);
  result.exit_status = wait_for(pid);
  return result;
}

std::ostream& operator<<(std::ostream& out, const captured_run& r) {
  if (r.timed_out) out << "timed out";
  else out << "exit " << r.exit_status;
  return out << ", output:\n" << r.output;
}

background_process::background_process(const std::vector<std::string>& argv, const env_list& env) {
  std::string pattern = (fs::temp_directory_path() / "tlsfix-process-XXXXXX").string();
  int fd = ::mkstemp(pattern.data());
  if (fd < 0) throw tlsfix::error(std::string("cannot create a log file: ") + std::strerror(errno));
  log_ = pattern;
  try {
    pid_ = spawn(argv, env, fd, -1);
  } catch (...) {
    ::close(fd);
    fs::remove(log_);
    throw;
  }
  ::close(fd);
}

background_process::background_process(background_process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), log_(std::exchange(other.log_, {})) {}

background_process::~background_process() {
  stop();
  std::error_code ignored;
  if (!log_.empty()) fs::remove(log_, ignored);
}

bool background_process::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
  // Reaped (or gone): forget the pid, so that stop() never signals a process group that a new
  // process may have taken over since.
  pid_ = -1;
  return false;
}

std::string background_process::stop(std::chrono::milliseconds grace) noexcept {
  if (pid_ > 0) {
    ::kill(-pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(-pid_, SIGKILL);
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
  }
  try {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  } catch (...) {
    return {};
  }
}

bool can_execute(const std::string& program) {
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0 && !fs::is_directory(program);
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    fs::path dir = end == start ? fs::path(".") : fs::path(dirs.substr(start, end - start));
    std::error_code ec;
    if (::access((dir / program).c_str(), X_OK) == 0 && !fs::is_directory(dir / program, ec)) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace tlsfix::cli
