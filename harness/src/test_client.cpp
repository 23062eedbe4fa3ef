#include "tlsfix/harness/test_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <ostream>

#include "detail/client_connection.hpp"
#include "detail/tls_common.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/ca/verify.hpp"

namespace tlsfix::harness {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string handshake_result::message() const { return ok() ? "verified " + version + " " + cipher : failure.message(); }

namespace {

asio::ssl::context make_context(const client_options& o) {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  detail::harden(ctx.native_handle(), o.versions);
  o.trust.install(ctx);
  SSL_CTX_set_verify(ctx.native_handle(), SSL_VERIFY_PEER, ca::strict_verify_callback);
  if (o.identity) {
    auto chain = detail::intermediates(*o.identity);
    if (SSL_CTX_use_cert_and_key(ctx.native_handle(), o.identity->cert().native(), o.identity->key().native(),
                                 chain.get(), 1) != 1)
      throw tlsfix::error::from_openssl("SSL_CTX_use_cert_and_key", "client_options.identity: cannot use it");
  }
  if (!o.alpn.empty()) {
    auto wire = detail::alpn_wire(o.alpn);
    // SSL_CTX_set_alpn_protos returns 0 on success, unlike most of OpenSSL.
    if (SSL_CTX_set_alpn_protos(ctx.native_handle(), wire.data(), static_cast<unsigned>(wire.size())) != 0)
      throw tlsfix::error::from_openssl("SSL_CTX_set_alpn_protos", "client_options.alpn");
  }
  return ctx;
}

}  // namespace

test_client::test_client(client_options options) : options_(std::move(options)) {
  if (options_.host.empty()) throw tlsfix::error("client_options.host", "empty; give the name to dial and verify");
  if (options_.port == 0) throw tlsfix::error("client_options.port", "0; give the server's port");
  detail::endpoints_for(options_);  // reject a bad resolve map here, not at the first call
  context_ = std::make_shared<asio::ssl::context>(make_context(options_));
}

handshake_result test_client::handshake() const {
  detail::client_connection c(options_, context_->native_handle());
  auto result = c.open();
  c.close();
  // OpenSSL ends a shutdown "successfully" when the peer's answer is a fatal alert (in TLS 1.3 a
  // server refuses a client certificate only after the client's handshake finished), so the alert
  // is taken from what the connection read, not from the shutdown's result.
  if (result.ok() && c.alerts().received >= 0) {
    result.failure.kind = failure_kind::alert;
    result.failure.alert_received = c.alerts().received;
  }
  return result;
}

std::vector<http_response> test_client::request_all(std::vector<http_request> requests) const {
  std::vector<http_response> responses;
  detail::client_connection c(options_, context_->native_handle());
  c.ensure_open();
  beast::flat_buffer buffer;
  for (auto& req : requests) {
    req.keep_alive(true);
    if (req.find(http::field::host) == req.end()) req.set(http::field::host, options_.host + ":" + std::to_string(options_.port));
    if (req.find(http::field::user_agent) == req.end()) req.set(http::field::user_agent, "tlsfix-test-client");
    req.prepare_payload();
    c.start_deadline(options_.timeout);
    boost::system::error_code ec;
    http::write(c, req, ec);
    http_response response;
    if (!ec) http::read(c, buffer, response, ec);
    if (ec) c.fail(ec);
    responses.push_back(std::move(response));
  }
  c.close();
  return responses;
}

http_response test_client::request(http_request req) const {
  std::vector<http_request> one;
  one.push_back(std::move(req));
  return std::move(request_all(std::move(one)).front());
}

http_response test_client::get(const std::string& target) const {
  return request(http_request{http::verb::get, target, 11});
}

http_response test_client::post(const std::string& target, std::string body, const std::string& content_type) const {
  http_request req{http::verb::post, target, 11};
  req.set(http::field::content_type, content_type);
  req.body() = std::move(body);
  return request(std::move(req));
}

std::string test_client::exchange_line(const std::string& line) const {
  detail::client_connection c(options_, context_->native_handle());
  c.ensure_open();
  c.start_deadline(options_.timeout);
  boost::system::error_code ec;
  asio::write(c, asio::buffer(line + "\n"), ec);
  std::string reply;
  std::size_t n = ec ? 0 : asio::read_until(c, asio::dynamic_buffer(reply), '\n', ec);
  if (ec) c.fail(ec);
  c.close();
  return reply.substr(0, n - 1);
}

std::ostream& operator<<(std::ostream& out, const handshake_result& result) {
  out << result.message();
  if (!result.peer_chain.empty()) out << "; the peer sent " << result.peer_chain.front();
  return out;
}

}  // namespace tlsfix::harness
