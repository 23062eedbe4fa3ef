// Test support: run a real program (curl, openssl, nginx, ...) as a child process, ports, and
// temporary directories.
//
// `run()` waits for the program and returns its exit status and output; `child` keeps a server
// running and kills it by PID when it goes out of scope, also when the test fails.
//
//   auto r = tlsfix::test::run({"curl", "--cacert", ca.string(), url}, {}, std::chrono::seconds(10));
//   EXPECT_EQ(r.exit_status, 0) << r;
//   tlsfix::test::child nginx({"nginx", "-c", conf.string(), "-g", "daemon off;"});
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "process.hpp"  // ci/src: the one implementation

namespace tlsfix::test {

// The one implementation of starting programs is the CLI's (ci/src/process.hpp); tests use it
// under these names. exit_status follows a shell: the program's own, 128 + N for signal N.
using environment = cli::env_list;
using run_result = cli::captured_run;
using child = cli::background_process;

// Runs `argv` with the current environment plus `env`, feeding `input` on stdin.
run_result run(const std::vector<std::string>& argv, const environment& env = {},
               std::chrono::milliseconds timeout = std::chrono::seconds(30), const std::string& input = {});

// Whether `program` is on PATH.
bool have_program(const std::string& program);

// A port that was free a moment ago, for programs that cannot be told to use port 0.
std::uint16_t free_port();

// A loopback port held for as long as this object lives, for programs that must be told their
// port: a socket bound to 127.0.0.1:0 with SO_REUSEADDR that never listens. Linux lets a server
// that also sets SO_REUSEADDR (tls_server, nginx, HAProxy) listen on the port meanwhile, while
// port-0 binds elsewhere pass it over, so no other test can take it between choosing and binding.
class reserved_port {
 public:
  reserved_port();
  ~reserved_port();
  reserved_port(const reserved_port&) = delete;
  reserved_port& operator=(const reserved_port&) = delete;
  std::uint16_t port() const noexcept { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// Polls until something accepts TCP connections on 127.0.0.1:port, or the timeout passes.
bool wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Plaintext where TLS belongs: connects to 127.0.0.1:port, sends `request` in the clear and returns
// what came back before the server closed the connection (at most `limit` bytes, waiting at most
// `timeout`). A TLS server that refuses plaintext answers nothing, or a TLS alert: never "HTTP/".
std::string plaintext_exchange(std::uint16_t port, std::string_view request, std::size_t limit = 256,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Whether [::1] can be bound here (containers often run with IPv6 disabled).
bool have_ipv6_loopback();

struct listening_child {
  child process;
  std::uint16_t port = 0;
};

// Starts a server that must be told its port up front (nginx, HAProxy): reserves a port, lets
// `argv_for(port)` write any configuration and return the command line, starts it and waits until
// the port accepts connections. The reservation only holds against servers that set SO_REUSEADDR
// (both of these do); when the server exits before listening, it tries again on a new port, up to
// `attempts` times, then throws with the server's output.
listening_child start_listening(const std::function<std::vector<std::string>(std::uint16_t port)>& argv_for,
                                const environment& env = {}, int attempts = 3,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A fresh directory under the temp dir, removed with its contents on destruction.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Environment variables set for one scope and restored (or unset again) when it ends, also when
// the test fails or throws. Tests run one at a time, so nothing else sees them.
class scoped_environment {
 public:
  explicit scoped_environment(const environment& vars);
  ~scoped_environment();
  scoped_environment(const scoped_environment&) = delete;
  scoped_environment& operator=(const scoped_environment&) = delete;

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// The number of open file descriptors of this process (for leak checks).
std::size_t open_fd_count();

}  // namespace tlsfix::test
