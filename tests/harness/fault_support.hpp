// Attackers for the fault tests: raw loopback sockets and raw OpenSSL clients that do what
// test_client never would (speak plaintext, stop half way, reset, offer TLS 1.0, renegotiate),
// and the fixture that checks a tls_server came through each fault intact.
//
//   auto server = Start();
//   auto fds = test::open_fd_count();
//   {
//     auto attacker = fault::connect_loopback(server.port());
//     fault::send_all(attacker, "GET / HTTP/1.1\r\n\r\n");
//     EXPECT_TRUE(fault::read_until_closed(attacker).closed);
//   }
//   ExpectStillServing(server, fds);
#pragma once

#include <openssl/types.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <tlsfix/harness.hpp>

namespace tlsfix::fault {

using namespace std::chrono_literals;

// An owned socket descriptor.
class socket_fd {
 public:
  socket_fd() = default;
  explicit socket_fd(int fd) noexcept : fd_(fd) {}
  socket_fd(socket_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  socket_fd& operator=(socket_fd&& other) noexcept;
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;
  ~socket_fd() { reset(); }

  int get() const noexcept { return fd_; }
  void reset() noexcept;
  // "127.0.0.1:PORT" of this end, as the server records it for its peer.
  std::string local_endpoint() const;

 private:
  int fd_ = -1;
};

// A blocking TCP connection to 127.0.0.1:port; send and receive give up after 5 s so that a
// broken server fails a test instead of hanging it.
socket_fd connect_loopback(std::uint16_t port);
void send_all(const socket_fd& s, std::string_view bytes);
// Closes with SO_LINGER 0: the kernel sends RST instead of FIN.
void reset_connection(socket_fd& s);

struct read_outcome {
  std::string received;
  bool closed = false;   // EOF or reset seen before the timeout
  bool reset = false;    // ECONNRESET rather than an orderly FIN
  std::chrono::milliseconds elapsed{0};
};
// Reads everything until the peer closes, or `timeout` passes.
read_outcome read_until_closed(const socket_fd& s, std::chrono::milliseconds timeout = 3s);
// Waits until at least one byte can be read, without reading it.
bool wait_readable(const socket_fd& s, std::chrono::milliseconds timeout = 3s);

// The ClientHello a real OpenSSL client sends for `sni`, taken from a memory BIO after one
// SSL_connect: genuine bytes to truncate, or to send before a reset.
std::string client_hello(const std::string& sni);

// Polls `condition` until it holds or `timeout` passes; for states no API signals (open
// connection counts), never as a stand-in for an event we could wait on.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s);

struct raw_client_options {
  int min_version = 0;  // TLS1_VERSION, ...; 0 is OpenSSL's default
  int max_version = 0;
  // Old protocol versions need level 0 to be offered at all.
  std::optional<int> security_level;
  // When set, the peer is verified against these roots and `host` like test_client does.
  std::optional<harness::trust> trust;
  std::string host = "service.test.local";
};

// A plain OpenSSL client on a blocking socket, for protocol moves test_client refuses to make.
class raw_tls_client {
 public:
  raw_tls_client(std::uint16_t port, const raw_client_options& options);
  ~raw_tls_client();
  raw_tls_client(const raw_tls_client&) = delete;
  raw_tls_client& operator=(const raw_tls_client&) = delete;

  // SSL_connect; false with error() set when it fails.
  bool handshake();
  // SSL_renegotiate + SSL_do_handshake; false with error() set when refused.
  bool renegotiate();
  bool write(std::string_view bytes);

  // OpenSSL's reason for the last failure ("unsupported protocol"), or empty.
  const std::string& error() const noexcept { return error_; }
  // Every alert description read from the server, warnings included, in order.
  const std::vector<int>& alerts_received() const noexcept { return alerts_; }
  SSL* native() const noexcept { return ssl_; }
  socket_fd& socket() noexcept { return socket_; }

 private:
  static void on_info(const SSL* ssl, int where, int value);
  void fail();

  socket_fd socket_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string error_;
  std::vector<int> alerts_;
};

// Base fixture: one CA, one identity, and servers with short deadlines so that faults resolve
// in a fraction of a second.
class FaultTest : public ::testing::Test {
 protected:
  static constexpr std::chrono::milliseconds kDeadline{300};

  static harness::http_handler Hello();
  harness::tls_server Start(harness::server_options options = {.handshake_timeout = kDeadline});

  // The checks every fault ends with: a verified client still gets 200, every connection the
  // server held has been released, and the process has exactly the descriptors it had before.
  void ExpectStillServing(const harness::tls_server& server, std::size_t fds_before);
  static void ExpectNoDescriptorLeak(std::size_t fds_before);

  ca::certificate_authority ca_ = ca::certificate_authority::create();
  ca::issued_cert leaf_ = ca_.issue("service.test.local");
};

}  // namespace tlsfix::fault
