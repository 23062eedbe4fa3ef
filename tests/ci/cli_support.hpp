// Helpers for the tests of the `tlsfix` command line: run a verb in this process through the same
// grammar and error reporting as the binary (tlsfix_verb), or run the binary itself (tlsfix_cli,
// tlsfix_child, for the end-to-end tests and the verbs that block or exec); read what it wrote;
// wait for a server it started to print its URL.
//
//   auto r = tlsfix_verb({"init", (dir / "tls").string(), "--service", "service.test.local"});
//   ASSERT_EQ(r.exit_status, 0) << r;
//   auto m = read_json(dir / "tls" / "manifest.json");
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support.hpp"

namespace tlsfix::cli_test {

namespace fs = std::filesystem;

// The command line run in this process (cli::run_command_line): what it wrote to stdout, then what
// it wrote to stderr, and its exit status. Not for `run` (it replaces the process) or `serve` and
// `proxy` (they block until SIGTERM).
test::run_result tlsfix_verb(const std::vector<std::string>& args);
// The tlsfix binary.
test::run_result tlsfix_cli(std::vector<std::string> args, const test::environment& env = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));
// Starts a long-running verb (serve, proxy) as a child process.
test::child tlsfix_child(std::vector<std::string> args);
// Waits until the child's output holds a line starting with `prefix`; returns that line or "".
std::string wait_for_line(const test::child& c, const std::string& prefix,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A server started with --background --pid-file FILE: while FILE exists (the server removes it
// when it stops), the pid it names is killed when this goes out of scope, also when a test fails.
class background_server {
 public:
  explicit background_server(fs::path pid_file) : pid_file_(std::move(pid_file)) {}
  ~background_server();
  background_server(const background_server&) = delete;
  background_server& operator=(const background_server&) = delete;
  const fs::path& pid_file() const noexcept { return pid_file_; }
  // The pid the file names, or -1 when there is none.
  pid_t pid() const;

 private:
  fs::path pid_file_;
};

// Why nss_wrapper cannot be used here, found the way the CLI finds it (harness::find_nss_wrapper), or
// empty when it can: tests that need it skip with this reason.
std::string nss_wrapper_missing();

// Why this process cannot give a program private /etc files (cli::private_mounts_unavailable),
// or empty when it can: tests of what only a mount namespace covers skip with this reason.
std::string private_mounts_missing();

// tests/ci/clients/go_client.go built static (CGO_ENABLED=0, Go's own resolver), once per process,
// with the module proxy off; empty when Go is not installed (`why` says so) or the build failed
// (`why` holds go's output).
fs::path go_client(std::string& why);
// tests/ci/clients/JavaClient.java compiled (javac), once per process: the directory to give
// `java -cp`; empty when no JDK is installed or javac failed (`why` says which).
fs::path java_client(std::string& why);

// The JSON a verb printed, without what it wrote to stderr after it (tlsfix_verb appends that).
nlohmann::json json_of(const std::string& output);

std::string slurp(const fs::path& path);
nlohmann::json read_json(const fs::path& path);
// Permission bits, e.g. 0600.
unsigned mode_of(const fs::path& path);

// curl's --cacert/--resolve arguments for https://NAME:PORT/ on 127.0.0.1.
std::vector<std::string> curl(const fs::path& ca, const std::string& name, std::uint16_t port,
                              const std::string& path = "/");

// Two directories made once per test suite by `tlsfix init` (the servers and clients only read
// them): dir() with the service, other() with an unrelated CA for the negative controls. A suite
// calls MakeDirectories() from its own SetUpTestSuite with the extra init arguments it needs.
class InitDirectoriesTest : public ::testing::Test {
 protected:
  static void MakeDirectories(const std::string& service, const std::vector<std::string>& extra_init_args) {
    tmp_ = new test::temp_dir();
    std::vector<std::string> args{"init", dir().string(), "--service", service};
    args.insert(args.end(), extra_init_args.begin(), extra_init_args.end());
    auto r = tlsfix_cli(args);
    ASSERT_EQ(r.exit_status, 0) << r.output;
    r = tlsfix_cli({"init", other().string(), "--service", service});
    ASSERT_EQ(r.exit_status, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }
  static fs::path dir() { return *tmp_ / "tls"; }
  static fs::path other() { return *tmp_ / "other"; }

  static inline test::temp_dir* tmp_ = nullptr;
};

// `tlsfix init` into a fresh temporary directory (dir_), in-process; the fixture of the init and
// key-access tests.
class CliInitTest : public ::testing::Test {
 protected:
  test::temp_dir tmp_;
  fs::path dir_ = tmp_ / "tls";

  void init(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"init", dir_.string(), "--service", "service.test.local", "--ip", "127.0.0.1"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = tlsfix_verb(args);
    ASSERT_EQ(r.exit_status, 0) << r.output;
  }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(tmp_ / name) << text;
    return (tmp_ / name).string();
  }
};

}  // namespace tlsfix::cli_test
