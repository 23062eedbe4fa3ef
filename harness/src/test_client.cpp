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

#include "detail/client_connection.hpp"
#include "detail/tls_common.hpp"
#include "tlsfix/ca/error.hpp"
#include "tlsfix/ca/verify.hpp"

namespace tlsfix::harness {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string handshake_result::message() const {
  if (ok()) return "verified " + version + " " + cipher;
  std::string text = error ? error.message() : "verification failed";
  if (verify_error != 0) text += "; certificate: " + std::string(X509_verify_cert_error_string(verify_error));
  if (alert_received >= 0) text += "; peer sent alert " + std::to_string(alert_received);
  return text;
}

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
      ca::detail::throw_openssl("SSL_CTX_use_cert_and_key", "client_options.identity: cannot use it");
  }
  if (!o.alpn.empty()) {
    auto wire = detail::alpn_wire(o.alpn);
    // SSL_CTX_set_alpn_protos returns 0 on success, unlike most of OpenSSL.
    if (SSL_CTX_set_alpn_protos(ctx.native_handle(), wire.data(), static_cast<unsigned>(wire.size())) != 0)
      ca::detail::throw_openssl("SSL_CTX_set_alpn_protos", "client_options.alpn");
  }
  return ctx;
}

}  // namespace

test_client::test_client(client_options options) : options_(std::move(options)) {
  if (options_.host.empty()) throw ca::error("client_options.host: empty; give the name to dial and verify");
  if (options_.port == 0) throw ca::error("client_options.port: 0; give the server's port");
  detail::endpoints_for(options_);  // reject a bad resolve map here, not at the first call
  context_ = std::make_shared<asio::ssl::context>(make_context(options_));
}

handshake_result test_client::handshake() const {
  detail::client_connection c(options_, context_->native_handle());
  auto result = c.open();
  c.close();
  // OpenSSL ends a shutdown "successfully" when the peer's answer is a fatal alert, so the
  // alert is taken from what the connection read, not from the shutdown's result.
  if (result.ok() && c.alert() >= 0) {
    result.alert_received = c.alert();
    result.error = detail::alert_error(c.alert());
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
    http::write(c, req);
    http_response response;
    http::read(c, buffer, response);
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
  asio::write(c, asio::buffer(line + "\n"));
  std::string reply;
  std::size_t n = asio::read_until(c, asio::dynamic_buffer(reply), '\n');
  c.close();
  return reply.substr(0, n - 1);
}

}  // namespace tlsfix::harness
