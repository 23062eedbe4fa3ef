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
#include "detail/postgres_wire.hpp"
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

// Plaintext where TLS is expected: the trap for clients that "fall back" to it. Plain HTTP; or
// for PostgreSQL, an SSLRequest answered 'N' and the session carried on in the clear.
class plaintext_server {
 public:
  explicit plaintext_server(harness::protocol protocol)
      : protocol_(protocol), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  plaintext_server(const plaintext_server&) = delete;
  plaintext_server& operator=(const plaintext_server&) = delete;
  ~plaintext_server() { close(); }

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
      if (protocol_ == harness::protocol::postgres) asio::co_spawn(ioc_, answer_postgres(std::move(socket)), asio::detached);
      else asio::co_spawn(ioc_, answer(std::move(socket)), asio::detached);
    }
  }

  // 'N' to an SSLRequest, then the session in the clear; a client that starts with its
  // StartupMessage (sslmode=disable or allow) is let in at once, as a server without TLS would.
  static asio::awaitable<void> answer_postgres(tcp::socket socket) {
    auto no_deadline = [] {};
    postgres_handler answer = [](const std::string&) { return std::string("tlsfix impostor plaintext"); };
    unsigned char first[8];
    auto opened = co_await detail::postgres::answer_ssl_request(socket, 'N', no_deadline, first);
    if (opened == detail::postgres::opening::ssl_request) co_await detail::postgres::serve(socket, answer, no_deadline);
    else if (opened == detail::postgres::opening::startup) co_await detail::postgres::serve(socket, answer, no_deadline, first);
  }

  static asio::awaitable<void> answer(tcp::socket socket) {
    char request[4096];
    co_await socket.async_read_some(asio::buffer(request), asio::as_tuple(asio::use_awaitable));
    static const std::string response =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\nplaintext\n";
    co_await asio::async_write(socket, asio::buffer(response), asio::as_tuple(asio::use_awaitable));
  }

  harness::protocol protocol_;
  asio::io_context ioc_{1};
  tcp::acceptor acceptor_;
  std::thread thread_;
};

harness::handler answer_with(const std::string& name, harness::protocol protocol) {
  if (protocol == harness::protocol::postgres)
    return postgres_handler([answer = "tlsfix impostor " + name](const std::string&) { return answer; });
  return http_handler([body = "tlsfix impostor " + name + "\n"](const http_request& req) { return text_response(req, 200, body); });
}

// Lowers the server's own standards so that it can offer what a client must refuse.
void allow_weak(SSL_CTX* ctx) {
  SSL_CTX_set_security_level(ctx, 0);
  SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
}

}  // namespace

std::string impostor::url() const {
  std::string https = ca::https_url(host, port);
  return protocol == harness::protocol::postgres ? std::string("postgresql").append(https, 5) : https;
}

namespace {

// What entries are made of: the root the client trusts, the decoy root only the fake system store
// holds, and the slow RSA-4096 key, generated while everything else is built.
struct ingredients {
  ca::certificate_authority& root;
  ca::certificate_authority& decoy;
  std::shared_future<ca::private_key> rsa4096;
  // Every other CA that signs a served certificate, for crl_file().
  std::vector<ca::certificate_authority> issuers;

  // A CA made for an entry, remembered for crl_file().
  const ca::certificate_authority& keep(ca::certificate_authority issuer) { return issuers.emplace_back(std::move(issuer)); }
};

using identity_maker = detail::identity_entry (*)(ingredients&);

detail::identity_entry from(const ca::issued_cert& cert) { return detail::make_identity(cert); }

// One entry of the catalog: what a client is told about it, and how its server is made.
struct entry_row {
  const char* name;
  const char* description;
  expectation expected;
  harness::tier tier;
  // What a strict OpenSSL client reports: an X509_V_ERR_* code for certificate problems (0 for
  // protocol problems and controls), and the same in words.
  int verify_error;
  const char* error_text;
  // The name a client dials (resolving to 127.0.0.1); nullptr for NAME.impostor.test.
  const char* host;
  // Its server's identity; nullptr for the plain-HTTP server.
  identity_maker identity;
  // Lowers the server's own standards so that it can offer what a client must refuse.
  void (*configure)(SSL_CTX*) = nullptr;
  // Common clients known to accept it with their defaults (impostor::known_accepted_by).
  const char* known_accepted_by = "";
};

void tls1_0_only(SSL_CTX* ctx) {
  allow_weak(ctx);
  SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_VERSION);
}

void tls1_1_only(SSL_CTX* ctx) {
  allow_weak(ctx);
  SSL_CTX_set_min_proto_version(ctx, TLS1_1_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
}

constexpr auto reject = expectation::reject;
constexpr auto accept = expectation::accept;
constexpr auto baseline = tier::baseline;
constexpr auto policy = tier::policy;

// Measured on Debian 12 with each client's defaults (tests/ci/real_clients_test.cpp).
constexpr const char* every_measured_client =
    "curl 7.88, wget 1.21, openssl s_client 3.0, gnutls-cli 3.7, Python 3.11, Node 20, Go 1.19, Java 17";

// Adding an entry is adding a row. Rows are served in this order, which is the report's.
const entry_row catalog_rows[] = {
    // Certificates that are wrong.
    {"expired", "the certificate expired an hour ago", reject, baseline, X509_V_ERR_CERT_HAS_EXPIRED,
     "certificate has expired", nullptr,
     [](ingredients& i) { return from(i.root.issue({.names = {host_of("expired")}, .validity = ca::validity::expired()})); }},
    {"not-yet-valid", "the certificate becomes valid in an hour", reject, baseline, X509_V_ERR_CERT_NOT_YET_VALID,
     "certificate is not yet valid", nullptr,
     [](ingredients& i) {
       return from(i.root.issue({.names = {host_of("not-yet-valid")}, .validity = ca::validity::not_yet_valid()}));
     }},
    {"wrong-host", "a valid certificate for another name", reject, baseline, X509_V_ERR_HOSTNAME_MISMATCH,
     "hostname mismatch", nullptr, [](ingredients& i) { return from(i.root.issue(host_of("another-service"))); }},
    {"wildcard-too-deep", "*.wildcard.impostor.test dialled as a.b.wildcard.impostor.test", reject, baseline,
     X509_V_ERR_HOSTNAME_MISMATCH, "hostname mismatch", "a.b.wildcard.impostor.test",
     [](ingredients& i) { return from(i.root.issue({.names = {"*.wildcard.impostor.test"}})); }},
    {"self-signed", "a leaf that signed itself", reject, baseline, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
     "self-signed certificate", nullptr, [](ingredients&) { return detail::self_signed_leaf(host_of("self-signed")); }},
    {"untrusted-root", "a correct chain to a root the client does not trust", reject, baseline,
     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "unable to get local issuer certificate", nullptr,
     [](ingredients& i) { return from(i.keep(ca::certificate_authority::create()).issue(host_of("untrusted-root"))); }},
    {"lookalike-root", "issued by a root with the trusted root's subject and key id, another key", reject, baseline,
     X509_V_ERR_CERT_SIGNATURE_FAILURE, "certificate signature failure", nullptr,
     [](ingredients& i) { return detail::lookalike_root_leaf(i.root, host_of("lookalike-root")); }},
    {"incomplete-chain", "the leaf without the intermediate that signed it", reject, baseline,
     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "unable to get local issuer certificate", nullptr,
     [](ingredients& i) {
       return from(i.keep(i.root.make_intermediate()).issue(host_of("incomplete-chain")).without_intermediates());
     }},
    {"reversed-chain", "the intermediate presented first, the leaf after it", reject, baseline,
     X509_V_ERR_INVALID_PURPOSE, "unsuitable certificate purpose", nullptr,
     [](ingredients& i) { return detail::reversed_chain(i.root, host_of("reversed-chain")); }},
    {"leaf-is-ca", "a leaf for the right name that is also a CA (CA:TRUE)", reject, tier::strict,
     X509_V_ERR_INVALID_NON_CA, "invalid non-CA certificate (has CA markings)", nullptr,
     [](ingredients& i) { return detail::ca_leaf(i.root, host_of("leaf-is-ca")); }, nullptr, every_measured_client},
    {"client-eku", "extended key usage clientAuth only", reject, policy, X509_V_ERR_INVALID_PURPOSE,
     "unsuitable certificate purpose", nullptr,
     [](ingredients& i) { return from(i.root.issue({.names = {host_of("client-eku")}, .usage = ca::usage::client})); },
     nullptr, "wget 1.21"},
    // curl and most OpenSSL clients still fall back to the CN when there is no SAN (RFC 6125
    // deprecates it): a strict-tier entry.
    {"cn-only", "the name in the common name, no subjectAltName", reject, tier::strict, X509_V_ERR_HOSTNAME_MISMATCH,
     "hostname mismatch", nullptr, [](ingredients& i) { return detail::common_name_only_leaf(i.root, host_of("cn-only")); },
     nullptr, "curl 7.88, wget 1.21, openssl s_client 3.0, gnutls-cli 3.7, Python 3.11, Node 20, Java 17 (Go 1.19 refuses it)"},
    {"sha1", "signed with SHA-1", reject, policy, X509_V_ERR_CA_MD_TOO_WEAK, "CA signature digest algorithm too weak",
     nullptr, [](ingredients& i) { return detail::sha1_leaf(i.root, host_of("sha1")); }, allow_weak,
     "Java 17 (it refuses SHA-1 only under the JDK's own roots)"},
    {"rsa-1024", "an RSA-1024 key", reject, policy, X509_V_ERR_EE_KEY_TOO_SMALL, "EE certificate key too weak", nullptr,
     [](ingredients& i) { return detail::rsa1024_leaf(i.root, host_of("rsa-1024")); }, allow_weak,
     "Go 1.19, gnutls-cli 3.7, wget 1.21, Java 17, Node 20 with its own OpenSSL (security level 1)"},
    {"outside-constraints", "a name the root's name constraints do not permit", reject, baseline,
     X509_V_ERR_PERMITTED_VIOLATION, "permitted subtree violation", "outside.example",
     [](ingredients& i) { return detail::unconstrained_leaf(i.root, "outside.example"); }, nullptr,
     "Java 17, which has no way to apply a trust anchor's name constraints: to a JVM the root vouches for any name"},
    {"revoked", "listed in the root's CRL", reject, tier::revocation, X509_V_ERR_CERT_REVOKED, "certificate revoked", nullptr,
     [](ingredients& i) {
       auto leaf = i.root.issue(host_of("revoked"));
       i.root.revoke(leaf.cert());  // the CRL (crl_file()) is signed once every row is built
       return from(leaf);
     },
     nullptr, "every client not given {crl} (curl --crlfile, OpenSSL's X509_V_FLAG_CRL_CHECK_ALL)"},
    {"ip-not-in-san", "dialled by IP address; the certificate names only a host", reject, baseline,
     X509_V_ERR_IP_ADDRESS_MISMATCH, "IP address mismatch", "127.0.0.1",
     [](ingredients& i) { return from(i.root.issue(host_of("ip-not-in-san"))); }},
    {"system-store", "issued by a root that only the decoy system store holds", reject, baseline,
     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "unable to get local issuer certificate", nullptr,
     [](ingredients& i) { return from(i.decoy.issue(host_of("system-store"))); }, nullptr,
     "curl 7.88 given --cacert but not --capath /dev/null, wget 1.21 without --ca-directory=/dev/null"},
    // Protocols that are wrong.
    {"tls1.0", "offers TLS 1.0 only", reject, policy, 0, "protocol version", nullptr,
     [](ingredients& i) { return from(i.root.issue(host_of("tls1.0"))); }, tls1_0_only, "gnutls-cli 3.7, wget 1.21"},
    {"tls1.1", "offers TLS 1.1 only", reject, policy, 0, "protocol version", nullptr,
     [](ingredients& i) { return from(i.root.issue(host_of("tls1.1"))); }, tls1_1_only, "gnutls-cli 3.7, wget 1.21"},
    {"plaintext", "plain HTTP on the TLS name: the downgrade trap", reject, baseline, 0, "wrong version number", nullptr,
     nullptr},
    // Positive controls: a client that rejects these is broken the other way.
    {"good", "root, intermediate, leaf: everything right", accept, baseline, 0, "", nullptr,
     [](ingredients& i) { return from(i.keep(i.root.make_intermediate()).issue(host_of("good"))); }},
    {"no-common-name", "subjectAltName only, empty common name", accept, baseline, 0, "", nullptr,
     [](ingredients& i) { return from(i.root.issue(host_of("no-common-name"))); }},
    {"ecdsa-p384", "an ECDSA P-384 key", accept, baseline, 0, "", nullptr,
     [](ingredients& i) { return from(i.root.issue({.names = {host_of("ecdsa-p384")}, .key = ca::key_type::ecdsa_p384})); }},
    {"ed25519", "an Ed25519 key", accept, baseline, 0, "", nullptr,
     [](ingredients& i) { return from(i.root.issue({.names = {host_of("ed25519")}, .key = ca::key_type::ed25519})); }},
    // 800, not more: Java refuses a handshake message over 32 KiB by default
    // (jdk.tls.maxHandshakeMessageSize), and 1,000 of these names come to 33 KB.
    {"many-sans", "800 subjectAltNames, the dialled name last", accept, baseline, 0, "", nullptr,
     [](ingredients& i) {
       std::vector<std::string> names;
       for (int n = 0; n < 799; ++n) names.push_back("san-" + std::to_string(n) + "." + host_of("many-sans"));
       names.push_back(host_of("many-sans"));  // last, so that a client must read them all
       return from(i.root.issue({.names = names}));
     }},
    {"rsa-4096", "an RSA-4096 key", accept, baseline, 0, "", nullptr,
     [](ingredients& i) { return from(i.root.issue({.names = {host_of("rsa-4096")}, .key = i.rsa4096.get()})); }},
};

}  // namespace

struct impostor_catalog::impl {
  ca::certificate_authority root = ca::certificate_authority::create();
  std::optional<harness::trust> trust;
  std::optional<ca::temp_file> crl;
  std::vector<impostor> entries;
  std::vector<std::unique_ptr<detail::server_state>> servers;
  std::optional<plaintext_server> plaintext;
  // A root that only the decoy "system store" (environment()) holds.
  ca::certificate_authority decoy = ca::certificate_authority::create();
  std::optional<ca::temp_file> decoy_store;
};

std::vector<impostor> impostor_catalog::listing() {
  std::vector<impostor> out;
  for (const auto& row : catalog_rows)
    out.push_back({row.name, row.description, row.expected, row.verify_error, row.error_text,
                   row.host ? row.host : host_of(row.name), 0, row.tier, row.known_accepted_by});
  return out;
}

impostor_catalog impostor_catalog::start(harness::protocol protocol) {
  // RSA-4096 key generation is the slowest step by far; it runs while everything else is built.
  std::shared_future<ca::private_key> rsa4096 =
      std::async(std::launch::async, [] { return ca::private_key::generate(ca::key_type::rsa_4096); });

  auto p = std::make_unique<impl>();
  p->trust.emplace(p->root.root());
  // OpenSSL finds CA directories by subject hash: <hash>.0.
  char file_name[16];
  std::snprintf(file_name, sizeof file_name, "%08lx.0", X509_subject_name_hash(p->decoy.root().native()));
  p->decoy_store.emplace(p->decoy.root().to_pem(), file_name);

  ingredients parts{p->root, p->decoy, rsa4096};
  auto listed = listing();
  for (const auto& row : catalog_rows) {
    impostor entry = listed[static_cast<std::size_t>(&row - catalog_rows)];
    entry.protocol = protocol;
    if (row.identity == nullptr) {
      if (protocol == harness::protocol::postgres) entry.description = "plaintext PostgreSQL: the SSLRequest answered 'N'";
      p->plaintext.emplace(protocol);
      entry.port = p->plaintext->port();
    } else {
      std::vector<detail::identity_entry> identities;
      identities.push_back(row.identity(parts));
      p->servers.push_back(detail::start_server(
          std::move(identities), answer_with(entry.name, protocol),
          // Any name gets the entry's certificate: refusing an unknown SNI (a client that sends
          // "127.0.0.1", say) would let a client that checks nothing "reject" the entry.
          {.protocol = protocol, .handshake_timeout = std::chrono::seconds(5), .answer_any_name = true, .threads = 1},
          row.configure));
      entry.port = p->servers.back()->port();
    }
    p->entries.push_back(std::move(entry));
  }
  // One file with the CRL of every CA in every chain: a client that checks the whole chain finds
  // one for each (only the root's lists anything: the "revoked" entry).
  std::string crls = p->root.crl().to_pem();
  crls += p->decoy.crl().to_pem();
  for (const auto& issuer : parts.issuers) crls += issuer.crl().to_pem();
  p->crl.emplace(crls, "crl.pem");
  return impostor_catalog(std::move(p));
}

impostor_catalog::impostor_catalog(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
// Every server stops itself when it goes, so moving over a catalog or out of scope closes it.
impostor_catalog::impostor_catalog(impostor_catalog&&) noexcept = default;
impostor_catalog& impostor_catalog::operator=(impostor_catalog&&) noexcept = default;
impostor_catalog::~impostor_catalog() = default;

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
