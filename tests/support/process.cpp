#include "process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace tlsfix::test {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> merged_environment(const environment& extra) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    bool overridden = false;
    for (const auto& [k, v] : extra) overridden = overridden || entry.starts_with(k + "=");
    if (!overridden) out.push_back(entry);
  }
  for (const auto& [k, v] : extra) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Spawns with stdout+stderr to `out_fd` and stdin from `in_fd` (or /dev/null when -1).
// fork+exec rather than posix_spawn, for PR_SET_PDEATHSIG: a server started by a test dies with
// the test process even when that is killed outright (a ctest timeout), and never outlives it.
pid_t spawn(const std::vector<std::string>& argv, const environment& env, int out_fd, int in_fd) {
  if (argv.empty()) throw std::invalid_argument("spawn: empty argv");
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  auto args = argv;
  auto envs = merged_environment(env);
  auto arg_pointers = pointers(args);
  auto env_pointers = pointers(envs);
  int null_fd = in_fd >= 0 ? -1 : ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int status_pipe[2];  // carries errno back when exec fails; closed by a successful exec
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);  // its own process group, so that stopping it also stops what it started
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the test died before prctl took effect
    ::dup2(in_fd >= 0 ? in_fd : null_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(out_fd, 2);
    ::execvpe(arg_pointers[0], arg_pointers.data(), env_pointers.data());
    int err = errno;
    if (::write(status_pipe[1], &err, sizeof err) < 0) {}
    ::_exit(127);
  }
  int err = pid < 0 ? errno : 0;
  ::close(status_pipe[1]);
  if (null_fd >= 0) ::close(null_fd);
  if (pid > 0 && ::read(status_pipe[0], &err, sizeof err) == sizeof err) ::waitpid(pid, nullptr, 0);
  else if (pid > 0) err = 0;
  ::close(status_pipe[0]);
  if (err != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(err));
  return pid;
}

int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

}  // namespace

run_result run(const std::vector<std::string>& argv, const environment& env, std::chrono::milliseconds timeout,
               const std::string& input) {
  int out[2], in[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  if (!input.empty() && pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = spawn(argv, env, out[1], in[0]);
  ::close(out[1]);
  if (in[0] >= 0) {
    ::close(in[0]);
    // Small inputs fit the pipe buffer; tests never feed more.
    if (::write(in[1], input.data(), input.size()) < 0) {}
    ::close(in[1]);
  }
  run_result result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n <= 0) break;
    result.output.append(buffer, static_cast<size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = result.timed_out ? -1 : exit_code_of(status);
  return result;
}

std::ostream& operator<<(std::ostream& out, const run_result& r) {
  if (r.timed_out) out << "timed out";
  else out << "exit " << r.exit_code;
  return out << ", output:\n" << r.output;
}

bool have_program(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (::access((fs::path(dir) / program).c_str(), X_OK) == 0) return true;
  return false;
}

child::child(const std::vector<std::string>& argv, const environment& env) {
  char pattern[] = "/tmp/tlsfix-child-XXXXXX";
  int fd = ::mkstemp(pattern);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
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

child::child(child&& other) noexcept : pid_(std::exchange(other.pid_, -1)), log_(std::exchange(other.log_, {})) {}

child::~child() {
  stop();
  std::error_code ignored;
  if (!log_.empty()) fs::remove(log_, ignored);
}

bool child::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
  // Reaped (or gone): forget the PID, so that stop() never signals a process group that a new
  // process may have taken over since.
  pid_ = -1;
  return false;
}

std::string child::stop(std::chrono::milliseconds grace) noexcept {
  if (pid_ > 0) {
    ::kill(-pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
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

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0)
    throw std::runtime_error("free_port: cannot bind");
  ::close(fd);
  return ntohs(addr.sin_port);
}

reserved_port::reserved_port() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int on = 1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  if (fd_ < 0 || ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
      ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("reserved_port: cannot bind 127.0.0.1:0");
  }
  port_ = ntohs(addr.sin_port);
}

reserved_port::~reserved_port() { ::close(fd_); }

bool wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool have_ipv6_loopback() {
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

listening_child start_listening(const std::function<std::vector<std::string>(std::uint16_t)>& argv_for,
                                const environment& env, int attempts, std::chrono::milliseconds timeout) {
  std::string program, last_output;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    // Held until the server listens, so that no other test takes the port meanwhile.
    reserved_port reservation;
    std::uint16_t port = reservation.port();
    auto argv = argv_for(port);
    program = argv.empty() ? "" : argv.front();
    child process(argv, env);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    // Checked in turn, so that a server that died is noticed at once and a port that someone
    // else holds is not mistaken for this server listening.
    while (process.running() && std::chrono::steady_clock::now() < deadline) {
      if (wait_for_port(port, std::chrono::milliseconds(100)))
        if (process.running()) return {std::move(process), port};
    }
    last_output = process.stop();
  }
  throw std::runtime_error("start_listening: " + program + " did not listen after " +
                           std::to_string(attempts) + " attempts; its output:\n" + last_output);
}

temp_dir::temp_dir() {
  std::string pattern = (fs::temp_directory_path() / "tlsfix-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::size_t open_fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

}  // namespace tlsfix::test
