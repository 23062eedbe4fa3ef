// A real PostgreSQL server (Debian's, 15) for a test: a fresh cluster in a temporary directory,
// on a free loopback port, TLS only (pg_hba.conf has hostssl lines alone), run as a non-root
// user, and stopped by its PID when the object goes, also when the test fails.
//
//   auto files = tlsfix::test::postgres_files(dir, ca.issue("postgres.test.local"), ca.root());
//   tlsfix::test::postgres_server db(files);       // listening and accepting when it returns
//   std::string conninfo = "host=postgres.test.local port=" + std::to_string(db.port()) +
//                          " dbname=postgres user=" + db.role();
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "support.hpp"
#include "tlsfix/ca/certificate.hpp"
#include "tlsfix/ca/issued_cert.hpp"

namespace tlsfix::test {

struct postgres_tls {
  std::filesystem::path cert;  // the chain to serve
  std::filesystem::path key;   // PostgreSQL's rule: 0600 owned by the server's user, or 0640 root:its group
  std::filesystem::path ca;    // ssl_ca_file: the roots client certificates must chain to
};

struct postgres_options {
  postgres_tls tls;
  std::string os_user = "postgres";  // who the server runs as when the test runs as root
  std::string role = "orders";       // the superuser role initdb creates (trust over TLS)
};

// Empty when a server can be started here (initdb and postgres found, a non-root user to run
// them as); otherwise why not, for GTEST_SKIP.
std::string postgres_unavailable(const std::string& os_user = "postgres");

// Writes `identity` (fullchain, key) and `root` under `dir`/NAME in the form PostgreSQL accepts:
// the directory and the key owned by `os_user` with mode 0700/0600 (when running as root).
postgres_tls postgres_files(const std::filesystem::path& dir, const ca::issued_cert& identity, const ca::certificate& root,
                            const std::string& os_user = "postgres", const std::string& name = "postgres");

class postgres_server {
 public:
  explicit postgres_server(const postgres_options& options);
  explicit postgres_server(const postgres_tls& tls) : postgres_server(postgres_options{.tls = tls}) {}
  ~postgres_server();
  postgres_server(const postgres_server&) = delete;
  postgres_server& operator=(const postgres_server&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  pid_t pid() const noexcept { return server_ ? server_->pid() : -1; }
  const std::string& role() const noexcept { return role_; }
  // The server's log so far.
  std::string log() const;
  // Stops it by its PID (SIGTERM, then SIGKILL) and returns its log. Idempotent.
  std::string stop() noexcept;

 private:
  std::filesystem::path dir_;
  std::optional<child> server_;
  std::uint16_t port_ = 0;
  std::string role_;
};

}  // namespace tlsfix::test
