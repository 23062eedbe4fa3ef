// A real TLS server on loopback for tests: listening before start() returns, stopped by close().
//
// Serve HTTP (a Beast request in, a response out, HTTP/1.1 keep-alive), a line protocol, or
// PostgreSQL's (server_options::protocol = postgres: the SSLRequest before TLS, then a stand-in
// backend that lets libpq and psql connect and query; see postgres_handler). Every
// server has its own SSL_CTX (no shared tickets or session caches), refuses TLS below 1.2,
// renegotiation and 0-RTT, picks its certificate by SNI (an unknown name gets the
// unrecognized_name alert, never another service's certificate, unless answer_any_name asks for
// the first identity instead), and records every connection: the last
// server_options::max_handshake_records of them in full, and all of them in totals().
//
//   auto ca = tlsfix::ca::certificate_authority::create();
//   auto server = tlsfix::harness::tls_server::start(ca.issue("service.test.local"),
//       [](const tlsfix::harness::http_request& req) {
//         return tlsfix::harness::text_response(req, 200, "hello");
//       });
//   auto response = server.client().get("/");      // verified, by name, on 127.0.0.1
//   server.close();                                // also done by the destructor
//
// @par Thread safety
// Handlers run on the server's threads and may be called concurrently for different connections.
// All member functions may be called from any thread.
#pragma once

#include <iosfwd>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tlsfix/ca/issued_cert.hpp"
#include "tlsfix/harness/handshake_record.hpp"
#include "tlsfix/harness/test_client.hpp"
#include "tlsfix/harness/tls_version.hpp"
#include "tlsfix/harness/trust.hpp"

namespace tlsfix::harness {

namespace detail {
struct server_state;  // the running server (harness/src/detail/server_impl.hpp)
}

using http_handler = std::function<http_response(const http_request&)>;
// Called once per received line (without the '\n'); the returned text is sent back followed by
// '\n'. Returning nullopt closes the connection.
using line_handler = std::function<std::optional<std::string>(const std::string&)>;
// For a PostgreSQL client (server_options::protocol = postgres): called once per simple query;
// the returned text is the one row of a one-column result. Any user logs in without a password:
// this is a stand-in that lets libpq or psql connect over TLS, not a database.
using postgres_handler = std::function<std::string(const std::string& query)>;
using handler = std::variant<http_handler, line_handler, postgres_handler>;

// A response with the request's version and keep-alive, content type text/plain.
http_response text_response(const http_request& req, unsigned status, std::string body);
// A line handler that sends every line back.
line_handler echo();

enum class client_auth { none, optional, required };

// What comes before the TLS handshake: nothing (HTTPS and every TLS-first protocol), or
// PostgreSQL's SSLRequest, answered with 'S' as a PostgreSQL server does. A postgres server takes
// a postgres_handler.
enum class protocol { tls, postgres };

struct server_options {
  harness::protocol protocol = harness::protocol::tls;
  harness::client_auth client_auth = harness::client_auth::none;
  // Roots a client certificate must chain to; required unless client_auth is none.
  std::optional<harness::trust> client_trust;
  // Protocols in preference order; a client offering none of them gets no_application_protocol.
  std::vector<std::string> alpn;
  tls_version_range versions;
  // 0 (the default, and what tests should use): any free port. A fixed port is for tools
  // that serve a developer on a known address.
  std::uint16_t port = 0;
  bool listen_ipv6 = false;  // also listen on [::1] (on the same port when `port` is set)
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds(5);
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(30);
  std::size_t max_connections = 4096;
  // How many records handshakes() keeps, the most recent; the oldest is dropped for each new one
  // beyond this. Bounded so that a server that runs for hours (`tlsfix serve`, a shared impostor
  // catalog) does not grow with every connection: a record holds about 500 bytes. totals()
  // and wait_for_handshakes() count every connection whatever this is. A test that inspects more
  // records than this at once raises it; std::numeric_limits<std::size_t>::max() keeps them all.
  std::size_t max_handshake_records = 1024;
  // Serve the first identity to a client that asks (by SNI) for a name no identity has, instead of
  // refusing it with unrecognized_name: the client's own name check is then what must fail, which
  // is how a wrong-host test by name works.
  bool answer_any_name = false;
  // Verify client certificates as of this time instead of now, so that a test sees an expired one
  // refused live without waiting (X509_VERIFY_PARAM_set_time).
  std::optional<ca::clock::time_point> verify_time;
  // Worker threads, each with its own event loop. A connection stays on the worker that took it
  // (the accepting one unless another has clearly fewer connections), so its steps never hop
  // between threads; a burst of clients still spreads over all of them.
  unsigned threads = 2;
};

class tls_server {
 public:
  // Listening on 127.0.0.1:0 when it returns. Several identities are chosen by SNI; the first is
  // served to clients that send none (e.g. those dialling an IP address).
  static tls_server start(ca::issued_cert identity, handler h, server_options options = {});
  static tls_server start(std::vector<ca::issued_cert> identities, handler h, server_options options = {});

  tls_server(tls_server&&) noexcept;
  tls_server& operator=(tls_server&&) noexcept;
  ~tls_server();

  std::uint16_t port() const noexcept;
  std::uint16_t port_v6() const noexcept;  // 0 unless listen_ipv6
  // "127.0.0.1:PORT"
  std::string endpoint() const;
  // "https://service.test.local:PORT/": name() on the port it is served on (port_v6() for an IPv6
  // address when listen_ipv6 is set, else port()).
  std::string url() const;
  // The name clients should dial: the first identity's first DNS name (or IP address).
  const std::string& name() const noexcept;

  // New handshakes get the new identities; open connections keep theirs and stay open.
  void reload(ca::issued_cert identity);
  void reload(std::vector<ca::issued_cert> identities);

  // The most recent records (at most server_options::max_handshake_records), oldest first. Once
  // older ones have been dropped, its size() no longer counts connections: totals() does.
  std::vector<handshake_record> handshakes() const;
  // Every connection since start(), by outcome; nothing is ever dropped from these.
  handshake_totals totals() const;
  // Waits until at least `count` connections have been recorded since start(), i.e. until
  // totals().connections >= count: a count that only grows, so waiting for "one more than
  // before" works after old records are dropped. False on timeout.
  bool wait_for_handshakes(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // totals().failed(failure_kind::plaintext)
  std::size_t plaintext_attempts() const noexcept;
  std::size_t open_connections() const noexcept;

  // A client that trusts the first identity's root and dials `name()` on this server's port.
  test_client client() const;
  harness::client_options client_config() const;

  // Stops accepting, closes every connection, joins the threads. Idempotent, never throws, never
  // waits for a stuck client.
  void close() noexcept;

 private:
  explicit tls_server(std::unique_ptr<detail::server_state> p);
  std::unique_ptr<detail::server_state> impl_;
};

std::ostream& operator<<(std::ostream& out, client_auth mode);  // "none", "optional", "required"

}  // namespace tlsfix::harness
