#include "detail/client_connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>

#include "detail/tls_common.hpp"
#include "tlsfix/ca/names.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/ca/verify.hpp"

namespace tlsfix::harness::detail {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// What the socket BIO reports back: the descriptor, and errno of the last failed call, since
// OpenSSL's SSL_ERROR_SYSCALL leaves errno to whoever called after it.
struct socket_io {
  int fd = -1;
  int error = 0;
};

// OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE when the peer has gone (a
// server at its connection cap, a reset): that would kill the test process. This one sends with
// MSG_NOSIGNAL and reads with recv(2); the socket is non-blocking, so EAGAIN becomes a retry.
int bio_write(BIO* bio, const char* data, int size) {
  auto* io = static_cast<socket_io*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  ssize_t n = ::send(io->fd, data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
  if (n >= 0) return static_cast<int>(n);
  io->error = errno;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(bio);
  return -1;
}

int bio_read(BIO* bio, char* data, int size) {
  auto* io = static_cast<socket_io*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  ssize_t n = ::recv(io->fd, data, static_cast<std::size_t>(size), 0);
  if (n >= 0) return static_cast<int>(n);
  io->error = errno;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_read(bio);
  return -1;
}

long bio_ctrl(BIO*, int command, long, void*) { return command == BIO_CTRL_FLUSH ? 1 : 0; }

const BIO_METHOD* socket_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "tlsfix socket");
    if (m == nullptr || BIO_meth_set_write(m, bio_write) != 1 || BIO_meth_set_read(m, bio_read) != 1 ||
        BIO_meth_set_ctrl(m, bio_ctrl) != 1)
      throw tlsfix::error::from_openssl("BIO_meth_new", "creating the client's socket BIO");
    return m;
  }();
  return method;
}

void collect(SSL* ssl, handshake_result& r) {
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl))
    for (int i = 0; i < sk_X509_num(chain); ++i) r.peer_chain.push_back(ca::certificate::from_native(sk_X509_value(chain, i)));
  auto facts = negotiated_on(ssl);
  r.version = std::move(facts.version);
  r.cipher = std::move(facts.cipher);
  r.alpn = std::move(facts.alpn);
}

}  // namespace

std::vector<asio::ip::tcp::endpoint> endpoints_for(const client_options& o) {
  std::vector<std::string> addresses;
  if (auto it = o.resolve.find(o.host); it != o.resolve.end()) addresses = it->second;
  else if (ca::is_ip_address(o.host)) addresses = {o.host};
  else addresses = {"127.0.0.1"};
  std::vector<asio::ip::tcp::endpoint> out;
  for (const auto& text : addresses) {
    error_code ec;
    auto address = asio::ip::make_address(text, ec);
    if (ec) throw tlsfix::error("client_options.resolve['" + o.host + "']", "'" + text + "' is not an IP address");
    if (!address.is_loopback())
      throw tlsfix::error("client_options.resolve['" + o.host + "']", text +
                      " is not a loopback address; tlsfix never dials off this machine");
    out.emplace_back(address, o.port);
  }
  return out;
}

// Kept apart from the class so the BIO's state has a stable address for the connection's life.
struct client_connection::io_state : socket_io {};

client_connection::client_connection(const client_options& options, SSL_CTX* ctx)
    : options_(options), ctx_(ctx), io_(std::make_unique<io_state>()) {}

client_connection::~client_connection() {
  if (io_->fd >= 0) ::close(io_->fd);
}

void client_connection::start_deadline(std::chrono::milliseconds budget) {
  deadline_ = std::chrono::steady_clock::now() + budget;
}

bool client_connection::wait(short events, error_code& ec) const {
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      ec = boost::beast::error::timeout;
      return false;
    }
    pollfd p{io_->fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (n > 0) return true;  // ready, or an error the next call will report
    if (n < 0 && errno != EINTR) {
      ec = error_code(errno, boost::system::system_category());
      return false;
    }
  }
}

error_code client_connection::connect() {
  error_code last = asio::error::host_not_found;
  for (const auto& endpoint : endpoints_for(options_)) {
    int fd = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return error_code(errno, boost::system::system_category());
    io_->fd = fd;
    int error = 0;
    if (::connect(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size())) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        error_code ec;
        if (!wait(POLLOUT, ec)) return ec;
        socklen_t length = sizeof error;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
      }
    }
    if (error == 0) {
      int one = 1;  // small TLS records must not wait for delayed ACKs (40 ms per round trip on loopback)
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return {};
    }
    last = error_code(error, boost::system::system_category());
    ::close(fd);
    io_->fd = -1;
  }
  return last;
}

template <typename Step>
int client_connection::drive(Step step, error_code& ec) {
  for (;;) {
    ERR_clear_error();
    io_->error = 0;
    int rc = step();
    if (rc > 0) return rc;
    switch (SSL_get_error(ssl_.get(), rc)) {
      case SSL_ERROR_WANT_READ:
        if (!wait(POLLIN, ec)) return -1;
        continue;
      case SSL_ERROR_WANT_WRITE:
        if (!wait(POLLOUT, ec)) return -1;
        continue;
      case SSL_ERROR_ZERO_RETURN:
        ec = asio::error::eof;
        return rc;
      case SSL_ERROR_SSL:
        // The same codes and texts asio's ssl::stream gives ("certificate verify failed").
        ec = error_code(static_cast<int>(ERR_get_error()), asio::error::get_ssl_category());
        return rc;
      case SSL_ERROR_SYSCALL:
        if (unsigned long e = ERR_get_error()) ec = error_code(static_cast<int>(e), asio::error::get_ssl_category());
        else if (io_->error != 0) ec = error_code(io_->error, boost::system::system_category());
        else ec = asio::ssl::error::stream_truncated;  // the peer closed without close_notify
        return rc;
      default:
        ec = asio::ssl::error::unexpected_result;
        return rc;
    }
  }
}

handshake_result client_connection::open() {
  handshake_result r;
  start_deadline(options_.timeout);
  if (auto ec = connect()) {
    r.failure.kind = ec == boost::beast::error::timeout ? failure_kind::timeout : failure_kind::connect;
    r.failure.reason = ec.message();
    return r;
  }
  ssl_.reset(SSL_new(ctx_));
  if (!ssl_) throw tlsfix::error::from_openssl("SSL_new", "test_client: a new connection");
  ca::bio_ptr bio{BIO_new(socket_method())};
  if (!bio) throw tlsfix::error::from_openssl("BIO_new", "test_client: a new connection");
  BIO_set_data(bio.get(), static_cast<socket_io*>(io_.get()));
  BIO_set_init(bio.get(), 1);
  SSL_set_bio(ssl_.get(), bio.get(), bio.get());
  bio.release();  // set0: the SSL owns the BIO now (once, as both its read and write side)
  // Read whole flights per recv(2) instead of a record header and then its body.
  SSL_set_read_ahead(ssl_.get(), 1);
  watch_alerts(ssl_.get(), &alerts_);
  if (!ca::is_ip_address(options_.host) && SSL_set_tlsext_host_name(ssl_.get(), options_.host.c_str()) != 1)
    throw tlsfix::error::from_openssl("SSL_set_tlsext_host_name", "client_options.host: '" + options_.host + "'");
  ca::apply_strict_policy(SSL_get0_param(ssl_.get()), options_.host, ca::purpose::server);
  if (options_.verify_time)
    X509_VERIFY_PARAM_set_time(SSL_get0_param(ssl_.get()), std::chrono::system_clock::to_time_t(*options_.verify_time));

  error_code ec;
  drive([this] { return SSL_connect(ssl_.get()); }, ec);
  collect(ssl_.get(), r);
  r.failure = classify(ssl_.get(), ec, alerts_);
  // Belt and braces: never report success without a verified peer certificate.
  if (r.failure.ok()) {
    auto verify = static_cast<int>(SSL_get_verify_result(ssl_.get()));
    if (SSL_get0_peer_certificate(ssl_.get()) == nullptr || verify != X509_V_OK) {
      r.failure.kind = failure_kind::certificate;
      r.failure.verify_error = verify != X509_V_OK ? verify : X509_V_ERR_UNSPECIFIED;
      r.failure.reason = "no verified peer certificate after the handshake";
    }
  }
  open_ = r.ok();
  return r;
}

void client_connection::ensure_open() {
  auto r = open();
  if (!r.ok()) throw connection_error("test_client: " + ca::authority(options_.host, options_.port), std::move(r.failure));
}

void client_connection::fail(const error_code& ec) const {
  throw connection_error("test_client: " + ca::authority(options_.host, options_.port), classify_io(ec, alerts_));
}

error_code client_connection::close() {
  error_code ec;
  if (!open_) return ec;
  open_ = false;
  start_deadline(std::min<std::chrono::milliseconds>(options_.timeout, std::chrono::seconds(2)));
  // The first call sends our close_notify (and returns 0); the next ones read the peer's.
  for (int zeros = 0;;) {
    ERR_clear_error();
    io_->error = 0;
    int rc = SSL_shutdown(ssl_.get());
    if (rc == 1) break;
    if (rc == 0 && ++zeros == 1) continue;
    if (rc == 0 && zeros > 2) {  // readable twice and still no answer: the peer left silently
      ec = asio::ssl::error::stream_truncated;
      break;
    }
    int error = rc == 0 ? SSL_ERROR_WANT_READ : SSL_get_error(ssl_.get(), rc);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      if (!wait(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, ec)) break;
      continue;
    }
    if (unsigned long e = ERR_get_error()) ec = error_code(static_cast<int>(e), asio::error::get_ssl_category());
    else if (io_->error != 0) ec = error_code(io_->error, boost::system::system_category());
    else ec = asio::ssl::error::stream_truncated;
    break;
  }
  ::close(io_->fd);
  io_->fd = -1;
  return ec;
}

std::size_t client_connection::read(void* data, std::size_t size, error_code& ec) {
  ec = {};
  if (size == 0) return 0;
  int n = drive([&] { return SSL_read(ssl_.get(), data, static_cast<int>(std::min<std::size_t>(size, INT_MAX))); }, ec);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

std::size_t client_connection::write(const void* data, std::size_t size, error_code& ec) {
  ec = {};
  if (size == 0) return 0;
  int n = drive([&] { return SSL_write(ssl_.get(), data, static_cast<int>(std::min<std::size_t>(size, INT_MAX))); }, ec);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

}  // namespace tlsfix::harness::detail
