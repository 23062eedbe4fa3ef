#include "sample/https_server.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <ostream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tls_context.hpp"

namespace sample {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto handshake_deadline = 10s;
constexpr auto idle_deadline = 30s;
constexpr std::size_t max_body = 1 << 20;

std::string format(const tcp::endpoint& ep) {
  auto host = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(ep.port());
}

// The first DNS name or email in the client certificate's subjectAltName: the name tlsfix (and
// most CAs) issue client identities under. The CN is not looked at.
std::string identity_of(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return {};
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  std::string out;
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans) && out.empty(); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
    if (name->type == GEN_DNS || name->type == GEN_EMAIL) {
      const ASN1_IA5STRING* text = name->type == GEN_DNS ? name->d.dNSName : name->d.rfc822Name;
      out.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)), static_cast<std::size_t>(ASN1_STRING_length(text)));
    }
  }
  GENERAL_NAMES_free(sans);
  return out;
}

}  // namespace

tcp::endpoint parse_listen(const std::string& text, const std::string& flag) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error(flag + " '" + text + "': expected HOST:PORT (port 0 picks a free one)");
  std::string host = text.substr(0, colon), port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
    throw std::runtime_error(flag + " '" + text + "': '" + port_text + "' is not a port (0-65535)");
  boost::system::error_code bad;
  auto address = asio::ip::make_address(host, bad);
  if (bad) throw std::runtime_error(flag + " '" + text + "': '" + host + "' is not an IP address");
  return {address, static_cast<unsigned short>(port)};
}

response json_response(const request& req, unsigned status, const nlohmann::json& body) {
  response res{static_cast<http::status>(status), req.version()};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = body.dump() + "\n";
  res.prepare_payload();
  return res;
}

response error_response(const request& req, unsigned status, const std::string& message) {
  return json_response(req, status, {{"error", message}});
}

struct https_server::impl {
  server_options options;
  handler handle;
  std::ostream& log;
  std::mutex log_mutex;
  asio::io_context ioc;
  asio::ssl::context ctx;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  bool stopped = false;
  // Handshakes begun and not yet logged: stop() lets them finish, so that a refusal the peer has
  // already seen (its alert) is in the log too.
  std::mutex flight_mutex;
  std::condition_variable flight_done;
  int handshakes_in_flight = 0;

  impl(server_options o, handler h, std::ostream& l)
      : options(std::move(o)), handle(std::move(h)), log(l),
        ctx(server_context(options.tls, options.clients == client_auth::required)),
        acceptor(ioc) {
    auto endpoint = parse_listen(options.listen, "--listen");
    boost::system::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("--listen " + options.listen + ": " + ec.message());
  }

  void write_log(const std::string& line) {
    std::lock_guard lock(log_mutex);
    log << options.name << ": " << line << std::endl;
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;  // a client that went away before we took it
      asio::co_spawn(ioc, session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    boost::system::error_code ignored;
    std::string from = format(socket.remote_endpoint(ignored));
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), ctx);
    // A caller that never finishes its handshake (or its request) must not hold a connection forever.
    beast::get_lowest_layer(stream).expires_after(handshake_deadline);
    {
      std::lock_guard lock(flight_mutex);
      ++handshakes_in_flight;
    }
    auto [hs] = co_await stream.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    if (hs) write_log("refused " + from + ": " + handshake_error(stream.native_handle(), hs));
    {
      std::lock_guard lock(flight_mutex);
      --handshakes_in_flight;
    }
    flight_done.notify_all();
    if (hs) co_return;
    peer caller{from, identity_of(stream.native_handle())};
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(max_body);
      beast::get_lowest_layer(stream).expires_after(idle_deadline);
      auto [read, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      if (read) break;  // the caller closed, went idle, or sent something that is not HTTP
      const request& req = parser.get();
      response res;
      try {
        res = handle(req, caller);
      } catch (const std::exception& e) {
        res = error_response(req, 500, e.what());
      }
      write_log(std::string(req.method_string()) + " " + std::string(req.target()) + " " + std::to_string(res.result_int()) +
                " peer=" + (caller.identity.empty() ? "-" : caller.identity) + " from=" + from);
      auto [written, m] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      if (written || !res.keep_alive()) break;
    }
    beast::get_lowest_layer(stream).expires_after(handshake_deadline);
    co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
  }
};

https_server::https_server(server_options options, handler h, std::ostream& log)
    : impl_(std::make_unique<impl>(std::move(options), std::move(h), log)) {}

https_server::~https_server() { stop(); }

std::string https_server::address() const { return format(impl_->acceptor.local_endpoint()); }
unsigned short https_server::port() const { return impl_->acceptor.local_endpoint().port(); }

void https_server::start() {
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
  for (unsigned i = 0; i < std::max(1u, impl_->options.threads); ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
}

void https_server::stop() noexcept {
  if (impl_->stopped) return;
  impl_->stopped = true;
  {
    // A peer that has had its alert gets its log line: the handshakes in flight may finish, for a
    // moment only, so that a client stalling mid-handshake cannot hold up a stop.
    std::unique_lock lock(impl_->flight_mutex);
    impl_->flight_done.wait_for(lock, std::chrono::seconds(2), [&] { return impl_->handshakes_in_flight == 0; });
  }
  // Stopping the context abandons every connection mid-flight: for a service shutting down (or a
  // test ending) that is the point. Their coroutines are destroyed with the context.
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
}

}  // namespace sample
