// One connection to a tls_server: sniff for plaintext, handshake with a deadline, record what was
// negotiated, then serve HTTP or lines until the peer leaves or goes idle.
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <optional>

#include "detail/postgres_wire.hpp"
#include "detail/server_impl.hpp"
#include "detail/tls_common.hpp"
#include "tlsfix/ca/certificate.hpp"

namespace tlsfix::harness::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using stream_type = beast::ssl_stream<tcp::socket>;

namespace {

// The first byte of every TLS connection is 0x16, a handshake record. Anything else ("GET /",
// garbage) is not TLS at all and is closed without an answer.
constexpr unsigned char tls_handshake_record = 0x16;

// A connection's stream and its deadline, which the worker's sweeper enforces by closing the
// socket: that aborts whatever the session is waiting for.
struct session final : timed {
  session(tcp::socket socket, asio::ssl::context& ctx, deadline_sweeper& sweeper)
      : stream(std::move(socket), ctx), deadlines(&sweeper) {}
  void expire() override {
    timed_out = true;
    boost::system::error_code ignored;
    stream.next_layer().close(ignored);
  }
  stream_type stream;
  deadline_sweeper* deadlines;
  bool timed_out = false;
  alerts seen;  // written by OpenSSL's info callback for as long as the stream lives
};

void set_deadline(session& s, std::chrono::milliseconds from_now) {
  s.deadline = std::chrono::steady_clock::now() + from_now;
  s.deadlines->moved(s);
}

}  // namespace

void deadline_sweeper::watch(const std::shared_ptr<timed>& t) {
  entries_.push_back(t);
  moved(*t);
}

void deadline_sweeper::moved(const timed& t) {
  if (!armed_ || t.deadline < timer_.expiry()) arm(t.deadline);
}

void deadline_sweeper::arm(std::chrono::steady_clock::time_point when) {
  armed_ = true;
  timer_.expires_at(when);  // cancels the wait for a later time, whose handler then does nothing
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) sweep();
  });
}

void deadline_sweeper::sweep() {
  armed_ = false;
  auto now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<timed>> expired;
  std::optional<std::chrono::steady_clock::time_point> next;
  std::erase_if(entries_, [&](const std::weak_ptr<timed>& weak) {
    auto t = weak.lock();
    if (!t) return true;  // finished
    if (t->deadline <= now) {
      expired.push_back(std::move(t));
      return true;
    }
    if (!next || t->deadline < *next) next = t->deadline;
    return false;
  });
  if (next) arm(*next);
  for (auto& t : expired) t->expire();
}

namespace {

void describe_session(SSL* ssl, handshake_record& r) {
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) r.sni = sni;
  auto facts = negotiated_on(ssl);
  r.version = std::move(facts.version);
  r.cipher = std::move(facts.cipher);
  r.alpn = std::move(facts.alpn);
  if (X509* served = SSL_get_certificate(ssl)) r.served_serial = ca::certificate::from_native(served).serial_hex();
  // A rejected client certificate is not kept as the peer's, but its verify result is.
  if (X509* peer = SSL_get0_peer_certificate(ssl); peer && SSL_get_verify_result(ssl) == X509_V_OK) {
    auto cert = ca::certificate::from_native(peer);
    r.client_subject = cert.subject();
    r.client_serial = cert.serial_hex();
  }
}

asio::awaitable<void> serve_http(server_state* server, session& s, const http_handler& handler) {
  auto& stream = s.stream;
  beast::flat_buffer buffer;
  for (;;) {
    set_deadline(s, server->options.idle_timeout);
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

asio::awaitable<void> serve_lines(server_state* server, session& s, const line_handler& handler) {
  auto& stream = s.stream;
  std::string buffer;
  for (;;) {
    set_deadline(s, server->options.idle_timeout);
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

asio::awaitable<void> serve_connection(server_state* server, worker& home, tcp::socket socket, tcp::endpoint peer,
                                       connection_slot slot) {
  [[maybe_unused]] connection_slot held = std::move(slot);
  handshake_record record;
  boost::system::error_code ignored;
  // Small TLS records must not wait for delayed ACKs (40 ms per round trip on loopback).
  socket.set_option(tcp::no_delay(true), ignored);
  record.remote = endpoint_text(peer);

  // One deadline from accept to the end of the handshake: sniffing the first byte must not buy
  // a slow client a second handshake_timeout.
  auto s = std::make_shared<session>(std::move(socket), server->ctx, home.deadlines);
  s->deadline = std::chrono::steady_clock::now() + server->options.handshake_timeout;
  home.deadlines.watch(s);

  // A PostgreSQL client asks for TLS first; one that starts without is a plaintext client.
  if (server->options.protocol == protocol::postgres) {
    unsigned char first_bytes[8];
    auto opened = co_await postgres::answer_ssl_request(s->stream.next_layer(), 'S', [] {}, first_bytes);
    if (opened != postgres::opening::ssl_request) {
      if (s->timed_out) {
        record.failure = {.kind = failure_kind::timeout, .reason = "no SSLRequest before the handshake deadline"};
        record.silent = true;
      } else if (opened == postgres::opening::silent) {
        record.failure = {.kind = failure_kind::closed, .reason = "before its SSLRequest"};
        record.silent = true;
      } else {
        record.failure = {.kind = failure_kind::plaintext, .reason = "no PostgreSQL SSLRequest"};
      }
      s->stream.next_layer().close(ignored);
      server->record(std::move(record));
      co_return;
    }
  }

  // Peek at the first byte without consuming it.
  unsigned char first = 0;
  auto [peek_error, peeked] = co_await s->stream.next_layer().async_receive(
      asio::buffer(&first, 1), tcp::socket::message_peek, asio::as_tuple(asio::use_awaitable));
  if (s->timed_out) {
    record.failure = {.kind = failure_kind::timeout, .reason = "no ClientHello before the handshake deadline"};
    record.silent = true;
  } else if (peek_error || peeked == 0) {
    record.failure = {.kind = failure_kind::closed, .reason = peek_error ? peek_error.message() : "before its first byte"};
    record.silent = true;
  } else if (first != tls_handshake_record) {
    record.failure = {.kind = failure_kind::plaintext};
  }
  if (!record.failure.ok()) {
    s->stream.next_layer().close(ignored);
    server->record(std::move(record));
    co_return;
  }

  auto& stream = s->stream;
  SSL* ssl = stream.native_handle();
  handshake_state state{server->current_identities(), server->options.answer_any_name};
  SSL_set_ex_data(ssl, handshake_state_index(), &state);
  watch_alerts(ssl, &s->seen);
  // The first identity serves clients that send no SNI; the SNI callback may switch it. The
  // identity was checked when it was made (make_identity), so this can fail only for want of
  // memory; the handshake then fails on its own, and the record says why.
  const auto& fallback = state.identities->entries.front();
  if (SSL_use_cert_and_key(ssl, fallback.leaf.native(), fallback.key.get(), fallback.chain.get(), 1) != 1) {
    record.failure = {.kind = failure_kind::protocol, .reason = "cannot use the server's certificate and key"};
    server->record(std::move(record));
    co_return;
  }

  boost::system::error_code ec;
  co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  describe_session(ssl, record);
  SSL_set_ex_data(ssl, handshake_state_index(), nullptr);
  if (ec) {
    record.failure = classify(ssl, ec, s->seen);
    if (s->timed_out) {
      record.failure.kind = failure_kind::timeout;
      record.failure.reason = "the handshake did not finish before its deadline";
    } else if (state.unknown_name) {
      record.failure.kind = failure_kind::protocol;
      record.failure.reason = "unrecognized name '" + record.sni + "'";
    }
    record.client_subject.clear();
    record.client_serial.clear();
    server->record(std::move(record));
    co_return;
  }
  server->record(std::move(record));

  if (const auto* http_h = std::get_if<http_handler>(&server->handler)) co_await serve_http(server, *s, *http_h);
  else if (const auto* lines = std::get_if<line_handler>(&server->handler)) co_await serve_lines(server, *s, *lines);
  else
    co_await postgres::serve(stream, std::get<postgres_handler>(server->handler),
                             [&] { set_deadline(*s, server->options.idle_timeout); });

  // Answer the client's close_notify (or send ours) without waiting long for a silent peer.
  set_deadline(*s, std::chrono::seconds(2));
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace tlsfix::harness::detail
