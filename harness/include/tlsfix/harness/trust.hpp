// The roots a client trusts: only these, never the system store.
//
// A `trust` holds one or more root certificates (several while a test rotates its CA). It installs
// them into an Asio or raw OpenSSL context, writes them as a CA file, and hands subprocess clients
// the environment variables and curl arguments that make them trust the same roots.
//
//   tlsfix::harness::trust roots{ca.root()};
//   roots.install(ssl_ctx);                          // an SSL_CTX* or boost::asio::ssl::context
//   auto env = roots.environment();                  // SSL_CERT_FILE=..., CURL_CA_BUNDLE=..., ...
//   auto args = roots.curl_args("service.test.local", server.port());
//   // {"--cacert", "/tmp/tlsfix-XXXX/ca.pem", "--capath", "/tmp/tlsfix-XXXX",
//   //  "--resolve", "service.test.local:4431:127.0.0.1"}
#pragma once

#include <openssl/types.h>

#include <iosfwd>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tlsfix/ca/certificate.hpp"

namespace boost::asio::ssl {
class context;
}

namespace tlsfix::harness {

class trust {
 public:
  trust(ca::certificate root);  // NOLINT(google-explicit-constructor): a root is a trust
  explicit trust(std::vector<ca::certificate> roots);
  // The roots in an existing PEM file, which then serves as ca_file() itself.
  static trust from_file(const std::filesystem::path& ca_file);

  const std::vector<ca::certificate>& roots() const noexcept { return roots_; }

  // Replaces the context's store with one holding only these roots and turns on peer
  // verification. Chain and name policy are per connection (see test_client).
  void install(SSL_CTX* ctx) const;
  void install(boost::asio::ssl::context& ctx) const;

  // A PEM file with the roots: the one given to from_file(), or one written on first use and
  // deleted when the last copy of this trust goes.
  const std::filesystem::path& ca_file() const;

  // SSL_CERT_FILE, CURL_CA_BUNDLE, REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS and
  // GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, all pointing at ca_file(); SSL_CERT_DIR at a directory
  // with no roots, so that OpenSSL's default store holds these roots and nothing else.
  std::vector<std::pair<std::string, std::string>> environment() const;

  // --cacert, --capath (rootless) and --resolve arguments: curl dials `name` on loopback and
  // trusts these roots only.
  std::vector<std::string> curl_args(const std::string& name, std::uint16_t port,
                                     const std::string& address = "127.0.0.1") const;

 private:
  std::vector<ca::certificate> roots_;
  struct file_state;
  std::shared_ptr<file_state> file_;
};

// "trust of 1 root: 'CN=tlsfix test CA ...'".
std::ostream& operator<<(std::ostream& out, const trust& roots);

}  // namespace tlsfix::harness
