#include "support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace tlsfix::test {

namespace fs = std::filesystem;

run_result run(const std::vector<std::string>& argv, const environment& env, std::chrono::milliseconds timeout,
               const std::string& input) {
  // Tests read whole outputs (a JSON report, nginx's log), so the limit is generous.
  return cli::run_captured(argv, env, timeout, input, 16 * 1024 * 1024);
}

bool have_program(const std::string& program) { return cli::can_execute(program); }

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

namespace {

// A socket connected to 127.0.0.1:port, or -1.
int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  if (fd >= 0) ::close(fd);
  return -1;
}

}  // namespace

bool wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = connect_loopback(port);
    if (fd >= 0) {
      ::close(fd);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string plaintext_exchange(std::uint16_t port, std::string_view request, std::size_t limit,
                               std::chrono::milliseconds timeout) {
  int fd = connect_loopback(port);
  if (fd < 0) throw std::runtime_error("plaintext_exchange: nothing accepts connections on 127.0.0.1:" + std::to_string(port));
  // The timeout bounds each read: a server that holds the connection open without answering
  // returns what it sent so far instead of hanging the test.
  timeval tv{.tv_sec = static_cast<time_t>(timeout.count() / 1000), .tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (std::size_t sent = 0; sent < request.size();) {
    auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server closed first: what it said, if anything, is still readable
    sent += static_cast<std::size_t>(n);
  }
  std::string answer(limit, '\0');
  std::size_t got = 0;
  while (got < limit) {
    auto n = ::recv(fd, answer.data() + got, limit - got, 0);
    if (n <= 0) break;  // closed, reset or timed out
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  answer.resize(got);
  return answer;
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

scoped_environment::scoped_environment(const environment& vars) {
  for (const auto& [name, value] : vars) {
    const char* old = std::getenv(name.c_str());
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    ::setenv(name.c_str(), value.c_str(), 1);
  }
}

scoped_environment::~scoped_environment() {
  for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
    if (it->second) ::setenv(it->first.c_str(), it->second->c_str(), 1);
    else ::unsetenv(it->first.c_str());
  }
}

std::size_t open_fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

}  // namespace tlsfix::test
