#include "fault_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "support.hpp"

namespace tlsfix::fault {

namespace {

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

std::string drain_reason() {
  std::string reason;
  while (unsigned long e = ERR_get_error())
    if (reason.empty())
      if (const char* text = ERR_reason_error_string(e)) reason = text;
  return reason;
}

int alert_slot() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

socket_fd& socket_fd::operator=(socket_fd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void socket_fd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string socket_fd::local_endpoint() const {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) throw_errno("getsockname");
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &address.sin_addr, text, sizeof text);
  return std::string(text) + ":" + std::to_string(ntohs(address.sin_port));
}

socket_fd connect_loopback(std::uint16_t port) {
  socket_fd s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.get() < 0) throw_errno("socket");
  timeval five{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
  ::setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &five, sizeof five);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) throw_errno("connect");
  return s;
}

void send_all(const socket_fd& s, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(s.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno("send");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void reset_connection(socket_fd& s) {
  linger abort{.l_onoff = 1, .l_linger = 0};
  ::setsockopt(s.get(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  s.reset();
}

read_outcome read_until_closed(const socket_fd& s, std::chrono::milliseconds timeout) {
  read_outcome out;
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) break;
    pollfd p{.fd = s.get(), .events = POLLIN, .revents = 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    char buffer[4096];
    ssize_t n = ::recv(s.get(), buffer, sizeof buffer, 0);
    if (n > 0) {
      out.received.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    out.closed = true;
    out.reset = n < 0 && errno == ECONNRESET;
    break;
  }
  out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  return out;
}

bool wait_readable(const socket_fd& s, std::chrono::milliseconds timeout) {
  pollfd p{.fd = s.get(), .events = POLLIN, .revents = 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

std::string client_hello(const std::string& sni) {
  // Test-only raw handles: SSL_free also frees both BIOs, which SSL_set_bio handed to the SSL.
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  SSL_set_tlsext_host_name(ssl, sni.c_str());
  int rc = SSL_connect(ssl);  // writes the ClientHello, then wants the server's answer
  int why = SSL_get_error(ssl, rc);
  char* data = nullptr;
  long length = BIO_get_mem_data(out, &data);
  std::string hello(data, static_cast<std::size_t>(length));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  if (why != SSL_ERROR_WANT_READ || hello.size() < 100 || hello[0] != 0x16)
    throw std::runtime_error("client_hello: SSL_connect did not produce a ClientHello");
  return hello;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

raw_tls_client::raw_tls_client(std::uint16_t port, const raw_client_options& options)
    : socket_(connect_loopback(port)), ctx_(SSL_CTX_new(TLS_client_method())) {
  if (ctx_ == nullptr) throw std::runtime_error("SSL_CTX_new failed");
  if (options.security_level) {
    SSL_CTX_set_security_level(ctx_, *options.security_level);
    // The cipher string carries its own level; without this the old suites stay filtered out.
    SSL_CTX_set_cipher_list(ctx_, ("DEFAULT:@SECLEVEL=" + std::to_string(*options.security_level)).c_str());
  }
  if (options.min_version != 0) SSL_CTX_set_min_proto_version(ctx_, options.min_version);
  if (options.max_version != 0) SSL_CTX_set_max_proto_version(ctx_, options.max_version);
  if (options.trust) options.trust->install(ctx_);
  ssl_ = SSL_new(ctx_);
  if (ssl_ == nullptr) throw std::runtime_error("SSL_new failed");
  SSL_set_fd(ssl_, socket_.get());
  SSL_set_tlsext_host_name(ssl_, options.host.c_str());
  if (options.trust) SSL_set1_host(ssl_, options.host.c_str());
  SSL_set_ex_data(ssl_, alert_slot(), &alerts_);
  SSL_set_info_callback(ssl_, on_info);
}

raw_tls_client::~raw_tls_client() {
  SSL_free(ssl_);
  SSL_CTX_free(ctx_);
}

void raw_tls_client::on_info(const SSL* ssl, int where, int value) {
  if ((where & SSL_CB_READ_ALERT) == 0) return;
  if (auto* alerts = static_cast<std::vector<int>*>(SSL_get_ex_data(ssl, alert_slot()))) alerts->push_back(value & 0xff);
}

void raw_tls_client::fail() {
  error_ = drain_reason();
  if (error_.empty()) error_ = "failed without an OpenSSL reason";
}

bool raw_tls_client::handshake() {
  ERR_clear_error();
  if (SSL_connect(ssl_) == 1 && SSL_get_verify_result(ssl_) == X509_V_OK) return true;
  fail();
  return false;
}

bool raw_tls_client::renegotiate() {
  ERR_clear_error();
  if (SSL_renegotiate(ssl_) == 1 && SSL_do_handshake(ssl_) == 1) return true;
  fail();
  return false;
}

bool raw_tls_client::write(std::string_view bytes) {
  ERR_clear_error();
  std::size_t written = 0;
  if (SSL_write_ex(ssl_, bytes.data(), bytes.size(), &written) == 1 && written == bytes.size()) return true;
  fail();
  return false;
}

harness::http_handler FaultTest::Hello() {
  return [](const harness::http_request& req) { return harness::text_response(req, 200, "hello"); };
}

harness::tls_server FaultTest::Start(harness::server_options options) {
  return harness::tls_server::start(leaf_, Hello(), std::move(options));
}

void FaultTest::ExpectStillServing(const harness::tls_server& server, std::size_t fds_before) {
  auto before = server.totals().connections;
  EXPECT_EQ(server.client().get("/").result_int(), 200);
  ASSERT_TRUE(server.wait_for_handshakes(before + 1, 5s));
  EXPECT_TRUE(server.handshakes().back().ok()) << server.handshakes().back().failure;
  EXPECT_TRUE(wait_until([&] { return server.open_connections() == 0; }))
      << server.open_connections() << " connections still open";
  ExpectNoDescriptorLeak(fds_before);
}

void FaultTest::ExpectNoDescriptorLeak(std::size_t fds_before) {
  // Bounded wait, and "no more than before" rather than "exactly": sanitizer runtimes open and
  // close files of their own (/proc/self/maps) at moments no test controls, but a leaked
  // descriptor stays.
  std::size_t now = 0;
  EXPECT_TRUE(wait_until([&] { return (now = test::open_fd_count()) <= fds_before; }, 2s))
      << now - fds_before << " descriptors leaked";
}

}  // namespace tlsfix::fault
