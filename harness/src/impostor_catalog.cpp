// The impostor catalog: one real server per way of being wrong, plus positive controls.
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <cstdio>
#include <future>
#include <optional>
#include <thread>

#include "detail/impostor_certs.hpp"
#include "detail/server_impl.hpp"
#include "tlsfix/ca/names.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/ca/files.hpp"
#include "tlsfix/harness/impostor.hpp"

namespace tlsfix::harness {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr const char* domain = ".impostor.test";

std::string host_of(const std::string& name) { return name + domain; }

// Plain HTTP where TLS is expected: the trap for clients that "fall back" to plaintext.
class plaintext_http_server {
 public:
  plaintext_http_server() : acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  plaintext_http_server(const plaintext_http_server&) = delete;
  plaintext_http_server& operator=(const plaintext_http_server&) = delete;
  ~plaintext_http_server() { close(); }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void close() noexcept {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(ioc_, answer(std::move(socket)), asio::detached);
    }
  }

  static asio::awaitable<void> answer(tcp::socket socket) {
    char request[4096];
    co_await socket.async_read_some(asio::buffer(request), asio::as_tuple(asio::use_awaitable));
    static const std::string response =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\nplaintext\n";
    co_await asio::async_write(socket, asio::buffer(response), asio::as_tuple(asio::use_awaitable));
  }

  asio::io_context ioc_{1};
  tcp::acceptor acceptor_;
  std::thread thread_;
};

http_handler answer_with(const std::string& name) {
  return [body = "tlsfix impostor " + name + "\n"](const http_request& req) { return text_response(req, 200, body); };
}

// Lowers the server's own standards so that it can offer what a client must refuse.
void allow_weak(SSL_CTX* ctx) {
  SSL_CTX_set_security_level(ctx, 0);
  SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
}

std::function<void(SSL_CTX*)> only_version(int version) {
  return [version](SSL_CTX* ctx) {
    allow_weak(ctx);
    SSL_CTX_set_min_proto_version(ctx, version);
    SSL_CTX_set_max_proto_version(ctx, version);
  };
}

}  // namespace

std::string impostor::url() const { return ca::https_url(host, port); }

struct impostor_catalog::impl {
  ca::certificate_authority root = ca::certificate_authority::create();
  std::optional<harness::trust> trust;
  std::optional<ca::temp_file> crl;
  std::vector<impostor> entries;
  std::vector<std::unique_ptr<detail::server_state>> servers;
  std::optional<plaintext_http_server> plaintext;
  // A root that only the decoy "system store" (environment()) holds.
  ca::certificate_authority decoy = ca::certificate_authority::create();
  std::optional<ca::temp_file> decoy_store;

  // One entry served by its own server.
  void add(impostor entry, detail::identity_entry identity, bool answer_any_name = false,
           const std::function<void(SSL_CTX*)>& configure = {}) {
    server_options options{.handshake_timeout = std::chrono::seconds(5), .threads = 1};
    std::vector<detail::identity_entry> identities;
    identities.push_back(std::move(identity));
    servers.push_back(detail::start_server(std::move(identities), answer_with(entry.name), options,
                                                   answer_any_name, configure));
    entry.port = servers.back()->port();
    entries.push_back(std::move(entry));
  }
  void add(impostor entry, const ca::issued_cert& identity, bool answer_any_name = false,
           const std::function<void(SSL_CTX*)>& configure = {}) {
    add(std::move(entry), detail::make_identity(identity), answer_any_name, configure);
  }
};

impostor_catalog impostor_catalog::start() {
  // RSA-4096 key generation is the slowest step by far; it runs while everything else is built.
  auto rsa4096 = std::async(std::launch::async, [] { return ca::private_key::generate(ca::key_type::rsa_4096); });

  auto p = std::make_unique<impl>();
  auto& root = p->root;
  p->trust.emplace(root.root());
  auto reject = [](std::string name, std::string description, int error, std::string text) {
    return impostor{std::move(name), std::move(description), expectation::reject, error, std::move(text), {}, 0};
  };
  auto accept = [](std::string name, std::string description) {
    return impostor{std::move(name), std::move(description), expectation::accept, 0, "", {}, 0};
  };
  auto named = [](impostor entry) {
    entry.host = host_of(entry.name);
    return entry;
  };

  // Certificates that are wrong.
  p->add(named(reject("expired", "the certificate expired an hour ago", X509_V_ERR_CERT_HAS_EXPIRED,
                      "certificate has expired")),
         root.issue({.names = {host_of("expired")}, .validity = ca::validity::expired()}));
  p->add(named(reject("not-yet-valid", "the certificate becomes valid in an hour", X509_V_ERR_CERT_NOT_YET_VALID,
                      "certificate is not yet valid")),
         root.issue({.names = {host_of("not-yet-valid")}, .validity = ca::validity::not_yet_valid()}));
  p->add(named(reject("wrong-host", "a valid certificate for another name", X509_V_ERR_HOSTNAME_MISMATCH,
                      "hostname mismatch")),
         root.issue(host_of("another-service")), true);
  {
    auto entry = reject("wildcard-too-deep", "*.wildcard.impostor.test dialled as a.b.wildcard.impostor.test",
                        X509_V_ERR_HOSTNAME_MISMATCH, "hostname mismatch");
    entry.host = "a.b" + std::string(".wildcard") + domain;
    p->add(entry, root.issue({.names = {"*.wildcard" + std::string(domain)}}), true);
  }
  p->add(named(reject("self-signed", "a leaf that signed itself", X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
                      "self-signed certificate")),
         {detail::self_signed_leaf(host_of("self-signed"))});
  p->add(named(reject("untrusted-root", "a correct chain to a root the client does not trust",
                      X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "unable to get local issuer certificate")),
         ca::certificate_authority::create().issue(host_of("untrusted-root")));
  p->add(named(reject("lookalike-root", "issued by a root with the trusted root's subject and key id, another key",
                      X509_V_ERR_CERT_SIGNATURE_FAILURE, "certificate signature failure")),
         {detail::lookalike_root_leaf(root, host_of("lookalike-root"))});
  {
    auto intermediate = root.make_intermediate();
    p->add(named(reject("incomplete-chain", "the leaf without the intermediate that signed it",
                        X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "unable to get local issuer certificate")),
           intermediate.issue(host_of("incomplete-chain")).without_intermediates());
  }
  p->add(named(reject("reversed-chain", "the intermediate presented first, the leaf after it",
                      X509_V_ERR_INVALID_PURPOSE, "unsuitable certificate purpose")),
         {detail::reversed_chain(root, host_of("reversed-chain"))}, true);
  {
    auto entry = named(reject("leaf-is-ca", "a leaf for the right name that is also a CA (CA:TRUE)",
                              X509_V_ERR_INVALID_NON_CA, "invalid non-CA certificate (has CA markings)"));
    entry.tier = tier::strict;
    p->add(entry, {detail::ca_leaf(root, host_of("leaf-is-ca"))});
  }
  p->add(named(reject("client-eku", "extended key usage clientAuth only", X509_V_ERR_INVALID_PURPOSE,
                      "unsuitable certificate purpose")),
         root.issue({.names = {host_of("client-eku")}, .usage = ca::usage::client}));
  {
    // curl and most OpenSSL clients still fall back to the CN when there is no SAN (RFC 6125
    // deprecates it): a strict-tier entry.
    auto entry = named(reject("cn-only", "the name in the common name, no subjectAltName", X509_V_ERR_HOSTNAME_MISMATCH,
                              "hostname mismatch"));
    entry.tier = tier::strict;
    p->add(entry, {detail::common_name_only_leaf(root, host_of("cn-only"))}, true);
  }
  p->add(named(reject("sha1", "signed with SHA-1", X509_V_ERR_CA_MD_TOO_WEAK, "CA signature digest algorithm too weak")),
         {detail::sha1_leaf(root, host_of("sha1"))}, false, allow_weak);
  p->add(named(reject("rsa-1024", "an RSA-1024 key", X509_V_ERR_EE_KEY_TOO_SMALL, "EE certificate key too weak")),
         {detail::rsa1024_leaf(root, host_of("rsa-1024"))}, false, allow_weak);
  {
    auto entry = reject("outside-constraints", "a name the root's name constraints do not permit",
                        X509_V_ERR_PERMITTED_VIOLATION, "permitted subtree violation");
    entry.host = "outside.example";
    p->add(entry, {detail::unconstrained_leaf(root, entry.host)});
  }
  {
    auto leaf = root.issue(host_of("revoked"));
    root.revoke(leaf.cert());
    auto entry = named(reject("revoked", "listed in the root's CRL", X509_V_ERR_CERT_REVOKED, "certificate revoked"));
    entry.tier = tier::revocation;
    p->add(entry, leaf);
    p->crl.emplace(root.crl().to_pem(), "crl.pem");
  }
  {
    auto entry = reject("ip-not-in-san", "dialled by IP address; the certificate names only a host",
                        X509_V_ERR_IP_ADDRESS_MISMATCH, "IP address mismatch");
    entry.host = "127.0.0.1";
    p->add(entry, root.issue(host_of("ip-not-in-san")));
  }

  {
    // OpenSSL finds CA directories by subject hash: <hash>.0.
    char file_name[16];
    std::snprintf(file_name, sizeof file_name, "%08lx.0", X509_subject_name_hash(p->decoy.root().native()));
    p->decoy_store.emplace(p->decoy.root().to_pem(), file_name);
    p->add(named(reject("system-store", "issued by a root found only in the system store (see environment())",
                        X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "unable to get local issuer certificate")),
           p->decoy.issue(host_of("system-store")));
  }

  // Protocols that are wrong.
  p->add(named(reject("tls1.0", "offers TLS 1.0 only", 0, "protocol version")), root.issue(host_of("tls1.0")), false,
         only_version(TLS1_VERSION));
  p->add(named(reject("tls1.1", "offers TLS 1.1 only", 0, "protocol version")), root.issue(host_of("tls1.1")), false,
         only_version(TLS1_1_VERSION));
  {
    p->plaintext.emplace();
    auto entry = named(reject("plaintext", "plain HTTP on the TLS name: the downgrade trap", 0, "wrong version number"));
    entry.port = p->plaintext->port();
    p->entries.push_back(entry);
  }

  // Positive controls: a client that rejects these is broken the other way.
  p->add(named(accept("good", "root, intermediate, leaf: everything right")),
         root.make_intermediate().issue(host_of("good")));
  p->add(named(accept("no-common-name", "subjectAltName only, empty common name")), root.issue(host_of("no-common-name")));
  p->add(named(accept("ecdsa-p384", "an ECDSA P-384 key")),
         root.issue({.names = {host_of("ecdsa-p384")}, .key = ca::key_type::ecdsa_p384}));
  p->add(named(accept("ed25519", "an Ed25519 key")),
         root.issue({.names = {host_of("ed25519")}, .key = ca::key_type::ed25519}));
  {
    std::vector<std::string> names;
    for (int i = 0; i < 999; ++i) names.push_back("san-" + std::to_string(i) + "." + host_of("many-sans"));
    names.push_back(host_of("many-sans"));  // last, so that a client must read them all
    p->add(named(accept("many-sans", "1,000 subjectAltNames, the dialled name last")), root.issue({.names = names}));
  }
  p->add(named(accept("rsa-4096", "an RSA-4096 key")), root.issue({.names = {host_of("rsa-4096")}, .key = rsa4096.get()}));

  return impostor_catalog(std::move(p));
}

impostor_catalog::impostor_catalog(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
impostor_catalog::impostor_catalog(impostor_catalog&&) noexcept = default;
impostor_catalog& impostor_catalog::operator=(impostor_catalog&& other) noexcept {
  if (this != &other) {
    close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
impostor_catalog::~impostor_catalog() { close(); }

const std::vector<impostor>& impostor_catalog::entries() const noexcept { return impl_->entries; }

const impostor& impostor_catalog::entry(const std::string& name) const {
  for (const auto& e : impl_->entries)
    if (e.name == name) return e;
  throw tlsfix::error("impostor_catalog", "no entry named '" + name + "'");
}

const trust& impostor_catalog::trust() const noexcept { return *impl_->trust; }
const std::filesystem::path& impostor_catalog::crl_file() const noexcept { return impl_->crl->path(); }

std::vector<std::pair<std::string, std::uint16_t>> impostor_catalog::hosts() const {
  std::vector<std::pair<std::string, std::uint16_t>> out;
  for (const auto& e : impl_->entries) out.emplace_back(e.host, e.port);
  return out;
}

std::vector<std::pair<std::string, std::string>> impostor_catalog::environment() const {
  // Both of OpenSSL's default locations, so that the machine's real store plays no part.
  return {{"SSL_CERT_FILE", impl_->decoy_store->path().string()},
          {"SSL_CERT_DIR", impl_->decoy_store->path().parent_path().string()}};
}

void impostor_catalog::close() noexcept {
  if (!impl_) return;
  for (auto& server : impl_->servers) server->close();
  if (impl_->plaintext) impl_->plaintext->close();
}

}  // namespace tlsfix::harness
