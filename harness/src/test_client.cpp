#include "tlsfix/harness/test_client.hpp"

#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "detail/tls_common.hpp"
#include "tlsfix/ca/error.hpp"
#include "tlsfix/ca/verify.hpp"

namespace tlsfix::harness {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using stream_type = beast::ssl_stream<beast::tcp_stream>;

std::string handshake_result::message() const {
  if (ok()) return "verified " + version + " " + cipher;
  std::string text = error ? error.message() : "verification failed";
  if (verify_error != 0) text += "; certificate: " + std::string(X509_verify_cert_error_string(verify_error));
  if (alert_received >= 0) text += "; peer sent alert " + std::to_string(alert_received);
  return text;
}

namespace {

bool is_ip(const std::string& host) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 || inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

std::vector<tcp::endpoint> endpoints_for(const client_options& o) {
  std::vector<std::string> addresses;
  if (auto it = o.resolve.find(o.host); it != o.resolve.end()) addresses = it->second;
  else if (is_ip(o.host)) addresses = {o.host};
  else addresses = {"127.0.0.1"};
  std::vector<tcp::endpoint> out;
  for (const auto& text : addresses) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(text, ec);
    if (ec) throw ca::error("client_options.resolve['" + o.host + "']: '" + text + "' is not an IP address");
    if (!address.is_loopback())
      throw ca::error("client_options.resolve['" + o.host + "']: " + text +
                      " is not a loopback address; tlsfix never dials off this machine");
    out.emplace_back(address, o.port);
  }
  return out;
}

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

void collect(SSL* ssl, handshake_result& r) {
  long verify = SSL_get_verify_result(ssl);
  r.verify_error = static_cast<int>(verify);
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl))
    for (int i = 0; i < sk_X509_num(chain); ++i) r.peer_chain.push_back(ca::certificate::from_native(sk_X509_value(chain, i)));
  auto facts = detail::negotiated_on(ssl);
  r.version = std::move(facts.version);
  r.cipher = std::move(facts.cipher);
  r.alpn = std::move(facts.alpn);
}

// One io_context per calling thread, reused by every call: a new one per connection cost an epoll
// instance, an eventfd and a timerfd each time. Calls on one thread never overlap, and run()
// returns only when a call's work is done, so the context is idle between calls.
asio::io_context& calling_thread_context() {
  thread_local asio::io_context context{1};
  return context;
}

// One verified connection, driven by coroutines on the calling thread's io_context so that every step has
// a deadline and nothing can hang a test.
class connection {
 public:
  connection(const client_options& o, asio::ssl::context& ctx) : options_(o), stream_(ioc_, ctx) {
    detail::watch_alerts(stream_.native_handle(), &alert_);
  }

  // The first fatal alert the peer sent, or -1.
  int alert() const noexcept { return alert_; }

  template <typename Body>
  void run(Body body) {
    std::exception_ptr failure;
    ioc_.restart();
    asio::co_spawn(ioc_, body(*this), [&](std::exception_ptr e) { failure = e; });
    ioc_.run();
    if (failure) std::rethrow_exception(failure);
  }

  asio::awaitable<handshake_result> open() {
    handshake_result r;
    boost::system::error_code ec;
    auto& tcp_layer = stream_.next_layer();
    tcp_layer.expires_after(options_.timeout);
    co_await tcp_layer.async_connect(endpoints_for(options_), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      r.error = ec;
      co_return r;
    }
    tcp_layer.socket().set_option(tcp::no_delay(true), ec);  // no delayed-ACK stalls on loopback
    SSL* ssl = stream_.native_handle();
    if (!is_ip(options_.host) && SSL_set_tlsext_host_name(ssl, options_.host.c_str()) != 1)
      ca::detail::throw_openssl("SSL_set_tlsext_host_name", "client_options.host: '" + options_.host + "'");
    ca::apply_strict_policy(SSL_get0_param(ssl), options_.host, ca::purpose::server);
    co_await stream_.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    collect(ssl, r);
    r.error = ec;
    r.alert_received = alert_;
    // Belt and braces: never report success without a verified peer certificate.
    if (!ec && (SSL_get0_peer_certificate(ssl) == nullptr || SSL_get_verify_result(ssl) != X509_V_OK))
      r.error = std::make_error_code(std::errc::permission_denied);
    open_ = r.ok();
    co_return r;
  }

  asio::awaitable<void> ensure_open() {
    auto r = co_await open();
    if (!r.ok())
      throw ca::error("test_client: no verified connection to " + options_.host + ":" + std::to_string(options_.port) +
                      ": " + r.message());
  }

  asio::awaitable<http_response> send(http_request req) {
    if (req.find(http::field::host) == req.end()) req.set(http::field::host, options_.host + ":" + std::to_string(options_.port));
    if (req.find(http::field::user_agent) == req.end()) req.set(http::field::user_agent, "tlsfix-test-client");
    req.prepare_payload();
    stream_.next_layer().expires_after(options_.timeout);
    co_await http::async_write(stream_, req, asio::use_awaitable);
    http_response response;
    co_await http::async_read(stream_, buffer_, response, asio::use_awaitable);
    co_return response;
  }

  asio::awaitable<std::string> line(const std::string& text) {
    stream_.next_layer().expires_after(options_.timeout);
    co_await asio::async_write(stream_, asio::buffer(text + "\n"), asio::use_awaitable);
    std::string reply;
    std::size_t n = co_await asio::async_read_until(stream_, asio::dynamic_buffer(reply), '\n', asio::use_awaitable);
    co_return reply.substr(0, n - 1);
  }

  // close_notify, then the socket; a peer that does not answer in time is not waited for.
  // Returns what the shutdown read: in TLS 1.3 a server rejects a client certificate only after
  // the client's handshake has finished, so its alert arrives here.
  asio::awaitable<boost::system::error_code> close() {
    boost::system::error_code ec;
    if (!open_) co_return ec;
    open_ = false;
    stream_.next_layer().expires_after(std::min<std::chrono::milliseconds>(options_.timeout, std::chrono::seconds(2)));
    co_await stream_.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    stream_.next_layer().close();
    co_return ec;
  }

 private:
  const client_options& options_;
  asio::io_context& ioc_ = calling_thread_context();
  stream_type stream_;
  beast::flat_buffer buffer_;
  bool open_ = false;
  int alert_ = -1;
};

}  // namespace

test_client::test_client(client_options options) : options_(std::move(options)) {
  if (options_.host.empty()) throw ca::error("client_options.host: empty; give the name to dial and verify");
  if (options_.port == 0) throw ca::error("client_options.port: 0; give the server's port");
  endpoints_for(options_);  // reject a bad resolve map here, not at the first call
  context_ = std::make_shared<asio::ssl::context>(make_context(options_));
}

handshake_result test_client::handshake() const {
  handshake_result result;
  connection c(options_, *context_);
  c.run([&](connection& self) -> asio::awaitable<void> {
    result = co_await self.open();
    co_await self.close();
    // OpenSSL ends a shutdown "successfully" when the peer's answer is a fatal alert, so the
    // alert is taken from what the connection read, not from the shutdown's result.
    if (result.ok() && self.alert() >= 0) {
      result.alert_received = self.alert();
      result.error = detail::alert_error(self.alert());
    }
  });
  return result;
}

std::vector<http_response> test_client::request_all(std::vector<http_request> requests) const {
  std::vector<http_response> responses;
  connection c(options_, *context_);
  c.run([&](connection& self) -> asio::awaitable<void> {
    co_await self.ensure_open();
    for (auto& req : requests) {
      req.keep_alive(true);
      responses.push_back(co_await self.send(std::move(req)));
    }
    co_await self.close();
  });
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
  std::string reply;
  connection c(options_, *context_);
  c.run([&](connection& self) -> asio::awaitable<void> {
    co_await self.ensure_open();
    reply = co_await self.line(line);
    co_await self.close();
  });
  return reply;
}

}  // namespace tlsfix::harness
