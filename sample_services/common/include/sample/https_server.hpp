// An HTTPS server for a real service: TLS material from files only, TLS 1.2 or later, client
// certificates verified against the service's CA (required, or verified when presented), one log
// line per request naming the peer's identity, and a clean stop. There is no plaintext mode.
//
//   sample::https_server server({.listen = "127.0.0.1:0",
//                                .tls = {.cert = "orders/fullchain.pem", .key = "orders/key.pem", .ca = "ca.crt"},
//                                .clients = sample::client_auth::required},
//                               [](const sample::request& req, const sample::peer& from) {
//                                 return sample::json_response(req, 200, {{"hello", from.identity}});
//                               });
//   std::cout << "listening " << server.address() << std::endl;  // "127.0.0.1:41234"
//   server.start();                                               // threads; stop() or the destructor ends them
//
// A handler may block (a database call, an outbound request): it runs on one of the server's
// threads, and the others keep serving.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

namespace sample {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;

// Who is calling: the address, and the identity in the client certificate (its first DNS or email
// subjectAltName), empty when the client presented none.
struct peer {
  std::string address;
  std::string identity;
};

using handler = std::function<response(const request&, const peer&)>;

// The TLS material of a service, from its configuration (--cert, --key, --ca).
struct tls_files {
  std::filesystem::path cert;  // the chain to present, leaf first (fullchain.pem)
  std::filesystem::path key;
  std::filesystem::path ca;  // the roots that callers' certificates (and outbound peers) must chain to
};

enum class client_auth {
  verified_if_presented,  // server-authenticated TLS; a client certificate, when sent, must verify
  required,               // mutual TLS: no certificate, no connection
};

struct server_options {
  std::string listen;  // "HOST:PORT", port 0 for any free one; "[::1]:0" for IPv6
  tls_files tls;
  client_auth clients = client_auth::verified_if_presented;
  std::string name = "service";  // the prefix of its log lines
  unsigned threads = 4;
};

class https_server {
 public:
  // Loads the TLS material and binds; listening when it returns. Throws std::runtime_error naming
  // the flag and the file when the material is missing or does not load.
  https_server(server_options options, handler h, std::ostream& log);
  ~https_server();
  https_server(const https_server&) = delete;
  https_server& operator=(const https_server&) = delete;

  // "127.0.0.1:41234", "[::1]:41234": what it is bound to.
  std::string address() const;
  unsigned short port() const;
  // Serves on its threads until stop().
  void start();
  // Lets the handshakes in progress finish and be logged (for 2 s at most), then ends every
  // connection and joins the threads. Idempotent; never throws.
  void stop() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// A response with a JSON body and the request's HTTP version and keep-alive.
response json_response(const request& req, unsigned status, const nlohmann::json& body);
// {"error": message}.
response error_response(const request& req, unsigned status, const std::string& message);

// Splits "HOST:PORT" or "[V6]:PORT"; throws std::runtime_error naming `flag` when malformed.
boost::asio::ip::tcp::endpoint parse_listen(const std::string& text, const std::string& flag);

}  // namespace sample
