#include "cli_support.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "commands.hpp"
#include "private_mounts.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/harness/nss_wrapper.hpp"

namespace tlsfix::cli_test {

test::run_result tlsfix_verb(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  test::run_result r;
  r.exit_status = cli::run_command_line(args, out, err);
  r.output = out.str() + err.str();
  return r;
}

test::run_result tlsfix_cli(std::vector<std::string> args, const test::environment& env, std::chrono::milliseconds timeout) {
  args.insert(args.begin(), TLSFIX_EXE);
  return test::run(args, env, timeout);
}

test::child tlsfix_child(std::vector<std::string> args) {
  args.insert(args.begin(), TLSFIX_EXE);
  return test::child(args);
}

std::string wait_for_line(const test::child& c, const std::string& prefix, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::istringstream log(slurp(c.log_path()));
    for (std::string line; std::getline(log, line);)
      if (line.starts_with(prefix)) return line;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {};
}

pid_t background_server::pid() const {
  std::ifstream in(pid_file_);
  pid_t pid = -1;
  return in >> pid ? pid : -1;
}

background_server::~background_server() {
  pid_t p = pid();
  if (p <= 1 || ::kill(p, SIGTERM) != 0) return;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (::kill(p, 0) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(p, SIGKILL);
}

nlohmann::json json_of(const std::string& output) {
  auto end = output.rfind("\n}\n");
  return nlohmann::json::parse(end == std::string::npos ? output : output.substr(0, end + 3));
}

std::string private_mounts_missing() { return cli::private_mounts_unavailable(); }

fs::path go_client(std::string& why) {
  static std::optional<test::temp_dir> built;  // removed at exit; every test reuses the binary
  static std::string failure;
  if (!built && failure.empty()) {
    if (!test::have_program("go")) {
      failure = "go not installed (Debian golang-go)";
    } else {
      built.emplace();
      test::environment env{{"CGO_ENABLED", "0"}, {"GOPROXY", "off"}, {"GOFLAGS", ""}, {"GO111MODULE", "off"}};
      if (std::getenv("HOME") == nullptr) env.emplace_back("GOCACHE", (*built / "cache").string());
      auto r = test::run({"go", "build", "-o", (*built / "go-client").string(), TLSFIX_TEST_CLIENTS "/go_client.go"}, env,
                         std::chrono::minutes(3));
      if (r.exit_status != 0) failure = "go build failed: " + r.output;
    }
  }
  why = failure;
  return failure.empty() ? *built / "go-client" : fs::path();
}

fs::path java_client(std::string& why) {
  static std::optional<test::temp_dir> built;  // removed at exit
  static std::string failure;
  if (!built && failure.empty()) {
    if (!test::have_program("javac") || !test::have_program("java")) {
      failure = "no JDK installed (Debian openjdk-17-jdk-headless)";
    } else {
      built.emplace();
      auto r = test::run({"javac", "-d", built->path().string(), TLSFIX_TEST_CLIENTS "/JavaClient.java"}, {},
                         std::chrono::minutes(3));
      if (r.exit_status != 0) failure = "javac failed: " + r.output;
    }
  }
  why = failure;
  return failure.empty() ? built->path() : fs::path();
}

std::string nss_wrapper_missing() {
  try {
    harness::find_nss_wrapper();
    return {};
  } catch (const tlsfix::error& e) {
    return e.what();
  }
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

nlohmann::json read_json(const fs::path& path) { return nlohmann::json::parse(slurp(path)); }

unsigned mode_of(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0;
  return info.st_mode & 07777;
}

std::vector<std::string> curl(const fs::path& ca, const std::string& name, std::uint16_t port, const std::string& path) {
  return {"curl", "-sS", "--max-time", "10", "--cacert", ca.string(), "--resolve",
          name + ":" + std::to_string(port) + ":127.0.0.1", "https://" + name + ":" + std::to_string(port) + path};
}

}  // namespace tlsfix::cli_test
