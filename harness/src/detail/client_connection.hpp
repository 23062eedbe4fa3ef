// Private: one verified TLS connection of a test_client, driven from the calling thread.
//
// A test_client call blocks its caller anyway, so it needs no event loop: the socket is
// non-blocking, OpenSSL reads and writes it directly, and poll() waits for it against one deadline
// per step. That costs the system calls of a plain OpenSSL client; an io_context per call added
// epoll and timerfd calls and wake-ups to every handshake (docs/benchmarks.md).
//
// The class is a Beast/Asio SyncReadStream and SyncWriteStream, so HTTP and line exchanges use
// beast::http::read/write and asio::read_until on it unchanged.
#pragma once

#include <openssl/types.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <algorithm>
#include <cstddef>
#include <memory>
#include <iterator>
#include <string>
#include <vector>

#include "detail/tls_common.hpp"
#include "tlsfix/harness/test_client.hpp"

namespace tlsfix::harness::detail {

// Where `o.host` is dialled: o.resolve, else the IP itself, else 127.0.0.1. Throws tlsfix::error for
// an entry that is not an IP address on loopback.
std::vector<boost::asio::ip::tcp::endpoint> endpoints_for(const client_options& o);

class client_connection {
 public:
  client_connection(const client_options& options, SSL_CTX* ctx);
  ~client_connection();
  client_connection(const client_connection&) = delete;
  client_connection& operator=(const client_connection&) = delete;

  // Connects to the first endpoint that answers, handshakes and verifies, within options.timeout.
  handshake_result open();
  // open(), throwing connection_error when there is no verified connection.
  void ensure_open();
  // A failed read or write on the open connection, as the connection_error every request throws.
  [[noreturn]] void fail(const boost::system::error_code& ec) const;
  // Gives every following read and write until the next call this much time in total.
  void start_deadline(std::chrono::milliseconds budget);
  // close_notify, then the socket; waits at most min(timeout, 2 s) for the peer's answer. In TLS
  // 1.3 a server rejects a client certificate only after the client's handshake has finished, so
  // the rejecting alert arrives here (see alert()).
  boost::system::error_code close();
  // The first fatal alert each way, or -1.
  const detail::alerts& alerts() const noexcept { return alerts_; }

  // SyncReadStream / SyncWriteStream.
  template <typename MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, boost::system::error_code& ec) {
    auto b = first_nonempty(buffers);
    return read(b.data(), b.size(), ec);
  }
  template <typename MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    boost::system::error_code ec;
    return or_throw(read_some(buffers, ec), ec);
  }
  // Beast hands an HTTP header over as dozens of small buffers; each SSL_write would be its own
  // record and send(2), so they are gathered into one record first.
  template <typename ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers, boost::system::error_code& ec) {
    if (boost::asio::buffer_sequence_end(buffers) == std::next(boost::asio::buffer_sequence_begin(buffers))) {
      boost::asio::const_buffer only = *boost::asio::buffer_sequence_begin(buffers);
      return write(only.data(), only.size(), ec);
    }
    gather_.resize(std::min<std::size_t>(boost::asio::buffer_size(buffers), max_record));
    std::size_t n = boost::asio::buffer_copy(boost::asio::buffer(gather_), buffers);
    return write(gather_.data(), n, ec);
  }
  template <typename ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers) {
    boost::system::error_code ec;
    return or_throw(write_some(buffers, ec), ec);
  }

 private:
  static std::size_t or_throw(std::size_t n, const boost::system::error_code& ec) {
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <typename Buffers>
  static boost::asio::mutable_buffer first_nonempty(const Buffers& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it)
      if ((*it).size() != 0) return boost::asio::mutable_buffer(*it);
    return boost::asio::mutable_buffer();
  }

  std::size_t read(void* data, std::size_t size, boost::system::error_code& ec);
  std::size_t write(const void* data, std::size_t size, boost::system::error_code& ec);
  boost::system::error_code connect();
  // Runs an SSL_* step until it completes, fails or the deadline passes; its result, or <= 0 with ec set.
  template <typename Step>
  int drive(Step step, boost::system::error_code& ec);
  // Waits for `events` on the socket until the deadline.
  bool wait(short events, boost::system::error_code& ec) const;

  struct io_state;
  static constexpr std::size_t max_record = 16384;

  const client_options& options_;
  SSL_CTX* ctx_;
  std::unique_ptr<io_state> io_;  // the socket, shared with the BIO
  ssl_ptr ssl_;
  std::string gather_;
  bool open_ = false;
  detail::alerts alerts_;
  std::chrono::steady_clock::time_point deadline_;
};

}  // namespace tlsfix::harness::detail
