// One connection to a tls_server: sniff for plaintext, handshake with a deadline, record what was
// negotiated, then serve HTTP or lines until the peer leaves or goes idle.
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "detail/server_impl.hpp"
#include "detail/tls_common.hpp"
#include "tlsfix/ca/certificate.hpp"

namespace tlsfix::harness::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace asio::experimental::awaitable_operators;
using tcp = asio::ip::tcp;
using stream_type = beast::ssl_stream<beast::tcp_stream>;

namespace {

// The first byte of every TLS connection is 0x16, a handshake record. Anything else ("GET /",
// garbage) is not TLS at all and is closed without an answer.
constexpr unsigned char tls_handshake_record = 0x16;

void describe_session(SSL* ssl, handshake_record& r) {
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) r.sni = sni;
  auto facts = negotiated_on(ssl);
  r.version = std::move(facts.version);
  r.cipher = std::move(facts.cipher);
  r.alpn = std::move(facts.alpn);
  if (X509* served = SSL_get_certificate(ssl)) r.served_serial = ca::certificate::from_native(served).serial_hex();
  // A rejected client certificate is not kept as the peer's, but its verify result is.
  r.verify_error = static_cast<int>(SSL_get_verify_result(ssl));
  if (X509* peer = SSL_get0_peer_certificate(ssl); peer && r.verify_error == X509_V_OK) r.client_subject = subject_of(peer);
}

asio::awaitable<void> serve_http(server_state* server, stream_type& stream, const http_handler& handler) {
  beast::flat_buffer buffer;
  for (;;) {
    stream.next_layer().expires_after(server->options.idle_timeout);
    http_request req;
    boost::system::error_code ec;
    co_await http::async_read(stream, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    http_response res;
    try {
      res = handler(req);
    } catch (const std::exception& e) {
      res = text_response(req, 500, std::string("handler threw: ") + e.what());
    }
    res.prepare_payload();
    bool keep_alive = res.keep_alive();
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !keep_alive) co_return;
  }
}

asio::awaitable<void> serve_lines(server_state* server, stream_type& stream, const line_handler& handler) {
  std::string buffer;
  for (;;) {
    stream.next_layer().expires_after(server->options.idle_timeout);
    boost::system::error_code ec;
    std::size_t n =
        co_await asio::async_read_until(stream, asio::dynamic_buffer(buffer), '\n', asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    std::string line = buffer.substr(0, n - 1);
    buffer.erase(0, n);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::optional<std::string> reply;
    try {
      reply = handler(line);
    } catch (const std::exception&) {
      co_return;
    }
    if (!reply) co_return;
    co_await asio::async_write(stream, asio::buffer(*reply + "\n"), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
}

}  // namespace

asio::awaitable<void> serve_connection(server_state* server, tcp::socket socket, connection_slot slot) {
  [[maybe_unused]] connection_slot held = std::move(slot);
  handshake_record record;
  boost::system::error_code ignored;
  // Small TLS records must not wait for delayed ACKs (40 ms per round trip on loopback).
  socket.set_option(tcp::no_delay(true), ignored);
  record.remote = endpoint_text(socket);

  // One deadline from accept to the end of the handshake: sniffing the first byte must not buy
  // a slow client a second handshake_timeout.
  auto handshake_deadline = std::chrono::steady_clock::now() + server->options.handshake_timeout;

  // Peek at the first byte without consuming it, racing the handshake deadline.
  unsigned char first = 0;
  asio::steady_timer deadline(socket.get_executor());
  deadline.expires_at(handshake_deadline);
  auto peeked = co_await (socket.async_receive(asio::buffer(&first, 1), tcp::socket::message_peek,
                                               asio::as_tuple(asio::use_awaitable)) ||
                          deadline.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (peeked.index() == 1) {
    record.failure = "handshake timeout";
  } else if (auto [ec, n] = std::get<0>(peeked); ec || n == 0) {
    record.failure = "closed before handshake";
  } else if (first != tls_handshake_record) {
    ++server->plaintext;
    record.failure = "plaintext";
  }
  if (!record.failure.empty()) {
    socket.close(ignored);
    server->record(std::move(record));
    co_return;
  }

  stream_type stream(std::move(socket), server->ctx);
  SSL* ssl = stream.native_handle();
  handshake_state state{server->current_identities(), server->answer_unknown_names};
  SSL_set_ex_data(ssl, handshake_state_index(), &state);
  // The first identity serves clients that send no SNI; the SNI callback may switch it.
  const auto& fallback = state.identities->entries.front();
  SSL_use_cert_and_key(ssl, fallback.leaf.native(), fallback.key.get(), fallback.chain.get(), 1);

  stream.next_layer().expires_at(handshake_deadline);
  boost::system::error_code ec;
  co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  describe_session(ssl, record);
  SSL_set_ex_data(ssl, handshake_state_index(), nullptr);
  if (ec) {
    record.failure = ec == beast::error::timeout ? "handshake timeout"
                     : state.unknown_name        ? "unrecognized name '" + record.sni + "'"
                                                 : reason(ec);
    record.client_subject.clear();
    server->record(std::move(record));
    co_return;
  }
  server->record(std::move(record));

  if (const auto* http_h = std::get_if<http_handler>(&server->handler)) co_await serve_http(server, stream, *http_h);
  else co_await serve_lines(server, stream, std::get<line_handler>(server->handler));

  // Answer the client's close_notify (or send ours) without waiting long for a silent peer.
  stream.next_layer().expires_after(std::chrono::seconds(2));
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace tlsfix::harness::detail
