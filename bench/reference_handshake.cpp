// The floor for bench/harness_bench.cpp: the same verified TLS 1.3 handshake written directly
// against OpenSSL, with no tlsfix code at all. Blocking sockets on loopback, one server thread
// (SSL_accept, answer close_notify), a client that verifies against the root with SSL_set1_host
// and shuts down cleanly, an ECDSA P-256 leaf signed by an ECDSA P-256 root.
//
// Both sides are set up the way tlsfix sets up its own (no tickets, no session cache, TCP_NODELAY)
// so that every handshake is a full one and the ratio measures tlsfix, not a resumption.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

constexpr const char* kName = "service.test.local";

[[noreturn]] void fail(const char* what) { throw std::runtime_error(std::string("reference: ") + what); }

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr && X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

// The minimum a client will verify: serial, validity, names, CA flag and key usage on the root,
// SAN and serverAuth on the leaf, both signed with ECDSA-SHA256.
X509* make_cert(EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool is_ca) {
  X509* cert = X509_new();
  check(cert != nullptr, "X509_new");
  X509_set_version(cert, X509_VERSION_3);
  static std::atomic<long> serial{1};
  ASN1_INTEGER_set(X509_get_serialNumber(cert), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(is_ca ? "reference root" : kName), -1, -1, 0);
  X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
  check(X509_set_pubkey(cert, key) == 1, "X509_set_pubkey");
  X509* signer = issuer ? issuer : cert;
  if (is_ca) {
    add_extension(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert, signer, NID_subject_key_identifier, "hash");
  } else {
    add_extension(cert, signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert, signer, NID_key_usage, "critical,digitalSignature");
    add_extension(cert, signer, NID_ext_key_usage, "serverAuth");
    add_extension(cert, signer, NID_subject_alt_name, "DNS:service.test.local");
    add_extension(cert, signer, NID_authority_key_identifier, "keyid");
  }
  check(X509_sign(cert, issuer_key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

struct material {
  EVP_PKEY* root_key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  X509* root = make_cert(root_key, nullptr, root_key, true);
  EVP_PKEY* leaf_key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  X509* leaf = make_cert(leaf_key, root, root_key, false);

  material() = default;
  material(const material&) = delete;
  material& operator=(const material&) = delete;
  ~material() {
    X509_free(leaf);
    EVP_PKEY_free(leaf_key);
    X509_free(root);
    EVP_PKEY_free(root_key);
  }
};

void no_resumption(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
}

void no_delay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Accepts one connection at a time on its own thread until stopped.
class reference_server {
 public:
  explicit reference_server(const material& m) : ctx_(SSL_CTX_new(TLS_server_method())) {
    check(ctx_ != nullptr, "SSL_CTX_new");
    no_resumption(ctx_);
    check(SSL_CTX_use_certificate(ctx_, m.leaf) == 1 && SSL_CTX_use_PrivateKey(ctx_, m.leaf_key) == 1, "server cert");
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    check(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 && listen(listener_, 128) == 0 &&
              getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0,
          "listen");
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  reference_server(const reference_server&) = delete;
  reference_server& operator=(const reference_server&) = delete;
  ~reference_server() {
    stop_ = true;
    ::shutdown(listener_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(listener_);
    SSL_CTX_free(ctx_);
  }

  std::uint16_t port() const { return port_; }
  long failures() const { return failures_; }

 private:
  void serve() {
    while (!stop_) {
      int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      no_delay(fd);
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) {
        char byte;
        SSL_read(ssl, &byte, 1);  // the client's close_notify
        SSL_shutdown(ssl);
      } else {
        ++failures_;
      }
      SSL_free(ssl);
      ::close(fd);
    }
  }

  SSL_CTX* ctx_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<long> failures_{0};
  std::thread thread_;
};

// A client context that trusts only `root`, as a careful OpenSSL user would write it.
SSL_CTX* client_context(X509* root) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  check(ctx != nullptr, "SSL_CTX_new");
  no_resumption(ctx);
  check(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), root) == 1, "X509_STORE_add_cert");
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return ctx;
}

// Connects, handshakes, verifies the name and chain, and closes with close_notify both ways.
bool verified_handshake(SSL_CTX* ctx, std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return false;
  }
  no_delay(fd);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, kName);
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  SSL_set1_host(ssl, kName);
  bool ok = SSL_connect(ssl) == 1 && SSL_get_verify_result(ssl) == X509_V_OK && SSL_get0_peer_certificate(ssl);
  if (ok && SSL_shutdown(ssl) == 0) SSL_shutdown(ssl);  // 0: ours sent, now wait for theirs
  SSL_free(ssl);
  ::close(fd);
  return ok;
}

void openssl_handshake(benchmark::State& state) {
  material m;
  reference_server server(m);
  SSL_CTX* ctx = client_context(m.root);
  for (auto _ : state)
    if (!verified_handshake(ctx, server.port())) state.SkipWithError("reference handshake failed");
  SSL_CTX_free(ctx);
}

// Diagnostic, not the floor: a new client SSL_CTX for every connection, as test_client makes
// one. The difference to openssl/handshake is what that choice costs.
void openssl_handshake_context_per_connection(benchmark::State& state) {
  material m;
  reference_server server(m);
  for (auto _ : state) {
    SSL_CTX* ctx = client_context(m.root);
    if (!verified_handshake(ctx, server.port())) state.SkipWithError("reference handshake failed");
    SSL_CTX_free(ctx);
  }
}

// From nothing to one verified handshake: root, leaf, listening server, client, handshake, stop.
void openssl_cold_start(benchmark::State& state) {
  for (auto _ : state) {
    material m;
    reference_server server(m);
    SSL_CTX* ctx = client_context(m.root);
    if (!verified_handshake(ctx, server.port())) state.SkipWithError("reference handshake failed");
    SSL_CTX_free(ctx);
  }
}

// Both threads' CPU counts: MeasureProcessCPUTime; wall time is what a test waits for.
BENCHMARK(openssl_handshake)
    ->Name("openssl/handshake")
    ->Unit(benchmark::kMicrosecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK(openssl_handshake_context_per_connection)
    ->Name("openssl/handshake_context_per_connection")
    ->Unit(benchmark::kMicrosecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK(openssl_cold_start)
    ->Name("openssl/cold_start")
    ->Unit(benchmark::kMicrosecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace
