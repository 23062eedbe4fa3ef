// PostgreSQL's wire protocol (protocol 3.0), as far as a client's connection needs it: the
// SSLRequest that comes before TLS, then a stand-in backend that lets any client log in and
// answers each simple query with one row. It exists so that libpq, psql and other drivers can be
// held to a tls_server and the impostor catalog (server_options::protocol = postgres); it is not
// a database.
//
// Every message is bounded (max_message), every read is preceded by `arm()` (the caller's
// deadline), and anything unexpected ends the session.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <cstdint>
#include <string>

#include "tlsfix/harness/tls_server.hpp"

namespace tlsfix::harness::detail::postgres {

namespace asio = boost::asio;

constexpr std::uint32_t ssl_request_code = 80877103;    // 1234 << 16 | 5679
constexpr std::uint32_t gssenc_request_code = 80877104;  // 1234 << 16 | 5680
constexpr std::uint32_t protocol_3_0 = 196608;      // 3 << 16
constexpr std::uint32_t max_message = 64 * 1024;

inline std::uint32_t be32(const unsigned char* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | std::uint32_t{p[3]};
}

inline void put32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

inline void put16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

// A backend message: its type byte, its length (which counts itself), its body.
inline std::string message(char type, const std::string& body) {
  std::string out(1, type);
  put32(out, static_cast<std::uint32_t>(body.size() + 4));
  return out + body;
}

inline std::string cstring(const std::string& text) { return text + '\0'; }

// What a client opened with.
enum class opening {
  ssl_request,  // answered: TLS follows ('S'), or plaintext does ('N')
  startup,      // a StartupMessage at once: a plaintext client; its first 8 bytes are in `first`
  other,        // not PostgreSQL, or a CancelRequest
  silent,       // closed or timed out before its first 8 bytes
};

// Reads the client's opening packets: answers a GSSENCRequest with 'N' (and reads on), and an
// SSLRequest with `answer` ('S': TLS follows; 'N': carry on in plaintext).
template <class Stream, class Arm>
asio::awaitable<opening> answer_ssl_request(Stream& stream, char answer, Arm arm, unsigned char (&first)[8]) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    arm();
    auto [ec, n] = co_await asio::async_read(stream, asio::buffer(first), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return n == 0 ? opening::silent : opening::other;
    std::uint32_t length = be32(first), code = be32(first + 4);
    if (code == protocol_3_0 && length > 8) co_return opening::startup;
    if (length != 8 || (code != ssl_request_code && code != gssenc_request_code)) co_return opening::other;
    char reply = code == ssl_request_code ? answer : 'N';
    auto [write_error, written] = co_await asio::async_write(stream, asio::buffer(&reply, 1), asio::as_tuple(asio::use_awaitable));
    if (write_error) co_return opening::silent;
    if (code == ssl_request_code) co_return opening::ssl_request;
  }
  co_return opening::other;
}

// One session after the SSLRequest (over TLS, or in plaintext after 'N'), or from a StartupMessage
// whose first 8 bytes were read already (`first`): the StartupMessage gets AuthenticationOk and
// what libpq expects to be told, each simple query a one-row, one-column text result from
// `handler`, Terminate or the end of the stream ends it. The extended protocol is refused as a
// backend refuses what fails: one ErrorResponse, then input is skipped up to Sync, which gets
// ReadyForQuery.
template <class Stream, class Arm>
asio::awaitable<void> serve(Stream& stream, const postgres_handler& handler, Arm arm, const unsigned char* first = nullptr) {
  unsigned char header[5];
  std::string body;
  auto read_body = [&](std::uint32_t length) -> asio::awaitable<bool> {
    if (length < 4 || length > max_message) co_return false;
    body.assign(length - 4, '\0');
    if (body.empty()) co_return true;
    auto [ec, n] = co_await asio::async_read(stream, asio::buffer(body), asio::as_tuple(asio::use_awaitable));
    co_return !ec;
  };
  auto send = [&](const std::string& bytes) -> asio::awaitable<bool> {
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
    co_return !ec;
  };

  // StartupMessage: length, protocol version, then name/value pairs (not read: any user may log in).
  std::uint32_t startup_length = 0;
  if (first != nullptr) {
    startup_length = be32(first);
    if (startup_length < 8 || startup_length > max_message || be32(first + 4) != protocol_3_0) co_return;
    body.assign(startup_length - 8, '\0');
    arm();
    auto [ec, n] = co_await asio::async_read(stream, asio::buffer(body), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  } else {
    arm();
    auto [ec, n] = co_await asio::async_read(stream, asio::buffer(header, 4), asio::as_tuple(asio::use_awaitable));
    if (ec || !co_await read_body(be32(header)) || body.size() < 4 ||
        be32(reinterpret_cast<const unsigned char*>(body.data())) != protocol_3_0)
      co_return;
  }
  std::string hello = message('R', std::string(4, '\0'));  // AuthenticationOk
  for (const auto& [name, value] : {std::pair<const char*, const char*>{"server_version", "15.0"},
                                    {"server_encoding", "UTF8"},
                                    {"client_encoding", "UTF8"},
                                    {"DateStyle", "ISO, MDY"},
                                    {"integer_datetimes", "on"},
                                    {"standard_conforming_strings", "on"}})
    hello += message('S', cstring(name) + cstring(value));
  std::string key;
  put32(key, 1);
  put32(key, 1);
  hello += message('K', key);  // BackendKeyData: no cancel request will match it
  const std::string ready = message('Z', "I");
  if (!co_await send(hello + ready)) co_return;

  bool failed = false;  // an extended-protocol message was refused: skip to Sync
  for (;;) {
    arm();
    auto [read_error, got] = co_await asio::async_read(stream, asio::buffer(header), asio::as_tuple(asio::use_awaitable));
    if (read_error || header[0] == 'X' || !co_await read_body(be32(header + 1))) co_return;
    std::string reply;
    if (header[0] == 'S') {  // Sync
      failed = false;
      if (!co_await send(ready)) co_return;
      continue;
    }
    if (failed || header[0] == 'H') continue;  // skipped until Sync; Flush has nothing to flush
    if (header[0] == 'Q') {
      std::string value;
      try {
        value = handler(body.substr(0, body.find('\0')));
      } catch (const std::exception& e) {
        value = std::string("handler threw: ") + e.what();
      }
      std::string columns;
      put16(columns, 1);
      columns += cstring("tlsfix");
      put32(columns, 0);      // no table
      put16(columns, 0);      // no column number
      put32(columns, 25);     // text
      put16(columns, 0xffff); // variable length
      put32(columns, 0xffffffff);
      put16(columns, 0);      // text format
      std::string row;
      put16(row, 1);
      put32(row, static_cast<std::uint32_t>(value.size()));
      row += value;
      reply = message('T', columns) + message('D', row) + message('C', cstring("SELECT 1"));
    } else {
      // The extended protocol and the rest are not spoken here: say so, as a backend would.
      failed = true;
      reply = message('E', cstring("SERROR") + cstring("C0A000") + cstring("Mtlsfix: only simple queries are answered") + '\0');
      if (!co_await send(reply)) co_return;
      continue;
    }
    if (!co_await send(reply + ready)) co_return;
  }
}

}  // namespace tlsfix::harness::detail::postgres
