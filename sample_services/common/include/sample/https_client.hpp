// A service's outbound HTTPS client: plain Boost.Beast over asio::ssl, verifying the peer the way
// every client should and few do by default: the chain against the service's CA file only, the
// host name against the certificate's subjectAltName (never the CN), TLS 1.2 or later, SNI, and a
// deadline on every call. With a client certificate it speaks mutual TLS.
//
//   sample::https_client inventory({.base_url = "https://inventory.test.local:8443", .ca = "ca.crt",
//                                   .cert = "orders/fullchain.pem", .key = "orders/key.pem"});
//   auto r = inventory.call(boost::beast::http::verb::get, "/items/widget");
//   if (!r.error.empty()) ...    // "certificate verify failed (unable to get local issuer certificate)"
//   else if (r.status == 200) ... r.body ...
//
// Only https:// URLs: there is no plaintext mode. Names resolve with the system's resolver
// (getaddrinfo), so a test points `inventory.test.local` at loopback without touching this code.
#pragma once

#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

namespace sample {

struct client_options {
  std::string base_url;  // "https://host:port", no path
  std::filesystem::path ca;
  std::filesystem::path cert;  // the client identity (mutual TLS); both empty for none
  std::filesystem::path key;
  std::chrono::milliseconds timeout = std::chrono::seconds(10);
  std::string flag = "url";  // what the configuration calls base_url, for error messages
};

struct call_result {
  std::string error;  // why no response came: connection, TLS verification, timeout; empty on a response
  unsigned status = 0;
  std::string body;
};

class https_client {
 public:
  // Loads the CA and identity and checks the URL; throws std::runtime_error naming the flag.
  explicit https_client(client_options options);
  ~https_client();
  https_client(https_client&&) noexcept;
  https_client& operator=(https_client&&) noexcept;

  // One request on a fresh connection. Safe to call from several threads at once.
  call_result call(boost::beast::http::verb method, const std::string& target, const std::string& json_body = {}) const;

  const std::string& host() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

struct url_parts {
  std::string host;  // without brackets for IPv6
  std::string port;
};
// Splits "https://host:port" (the port defaults to 443); throws std::runtime_error naming `flag`
// for any other scheme, a path, or no host.
url_parts parse_https_url(const std::string& url, const std::string& flag);

}  // namespace sample
