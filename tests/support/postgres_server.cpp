#include "postgres_server.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tlsfix/ca/files.hpp"

namespace tlsfix::test {

namespace fs = std::filesystem;

namespace {

// Debian installs the server under /usr/lib/postgresql/VERSION/bin, off PATH; the newest wins.
fs::path bin_dir() {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec))
    if (fs::exists(entry.path() / "bin" / "postgres")) found.push_back(entry.path() / "bin");
  if (found.empty()) return {};
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return std::stoi(a.parent_path().filename().string()) < std::stoi(b.parent_path().filename().string());
  });
  return found.back();
}

struct account {
  uid_t uid;
  gid_t gid;
};

std::optional<account> lookup(const std::string& user) {
  passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) return std::nullopt;
  return account{pw->pw_uid, pw->pw_gid};
}

// The command line run as `os_user` when we are root (PostgreSQL refuses to run as root). The
// server is its own process once setpriv has exec'd it, so its PID is the one we stop; setpriv
// keeps the parent-death signal that changing users would clear.
std::vector<std::string> as_user(const std::string& os_user, std::vector<std::string> argv) {
  if (::geteuid() != 0) return argv;
  std::vector<std::string> out{"setpriv", "--reuid=" + os_user, "--regid=" + os_user, "--init-groups", "--pdeathsig=KILL", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

void give(const fs::path& path, const std::string& os_user) {
  if (::geteuid() != 0) return;
  auto who = lookup(os_user);
  if (!who || ::chown(path.c_str(), who->uid, who->gid) != 0)
    throw std::runtime_error("postgres_server: cannot give " + path.string() + " to " + os_user);
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("postgres_server: cannot write " + path.string());
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// postmaster.pid's eighth line is the server's status; "ready" once it accepts connections.
bool ready(const fs::path& data) {
  std::ifstream in(data / "postmaster.pid");
  std::string line;
  for (int i = 0; i < 8 && std::getline(in, line); ++i) {
  }
  return line.find("ready") != std::string::npos;
}

}  // namespace

std::string postgres_unavailable(const std::string& os_user) {
  if (bin_dir().empty()) return "PostgreSQL's server is not installed (Debian package postgresql)";
  if (!have_program("setpriv")) return "setpriv (util-linux) is missing";
  if (::geteuid() == 0 && !lookup(os_user)) return "no user '" + os_user + "' to run PostgreSQL as";
  return {};
}

postgres_tls postgres_files(const fs::path& dir, const ca::issued_cert& identity, const ca::certificate& root,
                            const std::string& os_user, const std::string& name) {
  fs::path home = dir / name;
  fs::create_directories(home);
  fs::permissions(home, fs::perms::owner_all);
  ca::write_file(home / "fullchain.pem", identity.fullchain_pem(), ca::file_mode::public_read);
  ca::write_file(home / "key.pem", identity.key_pem(), ca::file_mode::secret);
  ca::write_file(home / "ca.crt", root.to_pem(), ca::file_mode::public_read);
  give(home, os_user);
  give(home / "key.pem", os_user);
  // The test's own directory (0700 root) must let the server through to its files.
  fs::permissions(dir, fs::perms::others_exec, fs::perm_options::add);
  return {home / "fullchain.pem", home / "key.pem", home / "ca.crt"};
}

postgres_server::postgres_server(const postgres_options& options) : role_(options.role) {
  if (auto why = postgres_unavailable(options.os_user); !why.empty()) throw std::runtime_error("postgres_server: " + why);
  fs::path bin = bin_dir();
  std::string pattern = (fs::temp_directory_path() / "tlsfix-postgres-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("postgres_server: mkdtemp failed");
  dir_ = pattern;
  try {
    give(dir_, options.os_user);
    fs::path data = dir_ / "data";
    auto init = run(as_user(options.os_user, {(bin / "initdb").string(), "-D", data.string(), "-U", options.role, "-A", "trust",
                                              "-E", "UTF8", "--no-sync", "--no-instructions"}),
                    {}, std::chrono::seconds(60));
    if (init.exit_status != 0) throw std::runtime_error("postgres_server: initdb failed: " + init.output);
    // TLS or nothing: no "host" or "local" line, so a plaintext connection finds no entry.
    write_text(data / "pg_hba.conf", "hostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n");
    give(data / "pg_hba.conf", options.os_user);
    auto started = start_listening(
        [&](std::uint16_t port) {
          return as_user(options.os_user,
                         {(bin / "postgres").string(), "-D", data.string(), "-p", std::to_string(port), "-c",
                          "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "ssl=on", "-c",
                          "ssl_cert_file=" + options.tls.cert.string(), "-c", "ssl_key_file=" + options.tls.key.string(), "-c",
                          "ssl_ca_file=" + options.tls.ca.string(), "-c", "fsync=off", "-c", "max_connections=20", "-c",
                          "shared_buffers=16MB"});
        },
        {}, 3, std::chrono::seconds(30));
    port_ = started.port;
    server_.emplace(std::move(started.process));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!ready(data)) {
      if (!server_->running() || std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("postgres_server: the server did not become ready; its log:\n" + server_->stop());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  } catch (...) {
    stop();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    throw;
  }
}

postgres_server::~postgres_server() {
  stop();
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::string postgres_server::log() const { return server_ ? read_text(server_->log_path()) : std::string(); }

std::string postgres_server::stop() noexcept {
  if (!server_) return {};
  std::string out = server_->stop();
  server_.reset();
  return out;
}

}  // namespace tlsfix::test
