#include "tlsfix/harness/tls_server.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cctype>
#include <future>
#include <ostream>

#include "detail/server_impl.hpp"
#include "detail/tls_common.hpp"
#include "tlsfix/ca/names.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/ca/verify.hpp"

namespace tlsfix::harness {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace detail {

namespace {

std::string lower(std::string_view text) {
  std::string out{text};
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Picks the certificate by SNI. An unknown name is refused outright (unrecognized_name): serving
// some other service's certificate would only move the failure to the client's name check.
int on_servername(SSL* ssl, int* alert, void*) {
  auto* state = static_cast<handshake_state*>(SSL_get_ex_data(ssl, handshake_state_index()));
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (state == nullptr || sni == nullptr) return SSL_TLSEXT_ERR_OK;
  const identity_entry* entry = state->identities->find(sni);
  if (entry == nullptr && state->answer_any_name) return SSL_TLSEXT_ERR_OK;  // keep the fallback
  if (entry == nullptr) {
    state->unknown_name = true;
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  if (SSL_use_cert_and_key(ssl, entry->leaf.native(), entry->key.get(), entry->chain.get(), 1) != 1) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

// The server's preference wins; no overlap is a fatal no_application_protocol alert.
int on_alpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* offered,
            unsigned int offered_length, void* arg) {
  auto* server = static_cast<server_state*>(arg);
  if (server->alpn.empty()) return SSL_TLSEXT_ERR_NOACK;
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, server->alpn.data(), static_cast<unsigned>(server->alpn.size()),
                            offered, offered_length) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// The worker to serve a new connection: the accepting one, unless another has clearly fewer
// connections. Staying put keeps one-at-a-time clients on one thread; a burst still spreads.
worker& pick_worker(server_state& server, worker& home) {
  worker* best = &home;
  for (auto& w : server.workers)
    if (w->connections.load() + 1 < best->connections.load()) best = w.get();
  return *best;
}

asio::awaitable<void> accept_loop(server_state* server, tcp::acceptor& acceptor, worker& home) {
  asio::steady_timer backoff(acceptor.get_executor());
  while (acceptor.is_open()) {
    tcp::endpoint peer;
    auto [ec, socket] = co_await acceptor.async_accept(peer, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors and the like: wait a little instead of spinning.
      backoff.expires_after(std::chrono::milliseconds(10));
      co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    // Only this loop adds to the count, so checking and then taking a slot cannot overshoot.
    if (server->open.load() >= server->options.max_connections) {
      handshake_record r;
      r.remote = endpoint_text(peer);
      r.failure.kind = failure_kind::refused;
      boost::system::error_code ignored;
      socket.close(ignored);
      server->record(std::move(r));
      continue;
    }
    worker& target = pick_worker(*server, home);
    if (&target != &home) {
      // Nothing is pending on the socket yet, so it can change reactors without losing anything.
      boost::system::error_code moved;
      auto native = socket.release(moved);
      if (moved) continue;  // release() cannot fail on Linux; the connection is dropped if it does
      socket = tcp::socket(target.context, peer.protocol(), native);
    }
    connection_slot slot(server->open, target.connections);
    asio::co_spawn(target.context, serve_connection(server, target, std::move(socket), peer, std::move(slot)), asio::detached);
  }
}

void listen(server_state& server, std::optional<tcp::acceptor>& acceptor, worker& home, const char* address) {
  tcp::endpoint endpoint{asio::ip::make_address(address), server.options.port};
  acceptor.emplace(home.context);
  boost::system::error_code ec;
  acceptor->open(endpoint.protocol(), ec);
  // A server that closed its connections first leaves them in TIME_WAIT on its port for a minute;
  // without SO_REUSEADDR a restart on a fixed port then fails. On Linux it still refuses a port
  // that another socket listens on, so a taken port stays an error.
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && endpoint.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw tlsfix::error("server_options.port", "cannot listen on " + std::string(address) + " port " +
                    std::to_string(server.options.port) + ": " + ec.message());
}

}  // namespace

const identity_entry* identity_set::find(std::string_view sni) const {
  std::string name = lower(sni);
  for (const auto& entry : entries)
    for (const auto& pattern : entry.dns_names) {
      if (pattern == name) return &entry;
      if (pattern.starts_with("*.")) {
        auto dot = name.find('.');
        if (dot != std::string::npos && dot > 0 && name.substr(dot) == pattern.substr(1)) return &entry;
      }
    }
  return nullptr;
}

int handshake_state_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

identity_entry make_identity(const ca::certificate& leaf, EVP_PKEY* key, const std::vector<ca::certificate>& chain,
                             const ca::certificate& root) {
  identity_entry entry{leaf, ca::up_ref(key), ca::x509_stack_ptr{sk_X509_new_null()}, root, {}};
  if (!entry.chain) throw tlsfix::error::from_openssl("sk_X509_new_null", "building a chain");
  for (const auto& cert : chain)
    if (X509_add_cert(entry.chain.get(), cert.native(), X509_ADD_FLAG_UP_REF) != 1)
      throw tlsfix::error::from_openssl("X509_add_cert", "building a chain");
  for (const auto& san : leaf.subject_alt_names())
    if (san.starts_with("DNS:")) entry.dns_names.push_back(lower(san.substr(4)));
  return entry;
}

identity_entry make_identity(const ca::issued_cert& identity) {
  std::vector<ca::certificate> above(identity.chain().begin() + 1, identity.chain().end());
  return make_identity(identity.cert(), identity.key().native(), above, identity.root());
}

std::shared_ptr<const identity_set> make_identity_set(std::vector<identity_entry> entries) {
  if (entries.empty()) throw tlsfix::error("tls_server", "at least one identity is required");
  auto set = std::make_shared<identity_set>();
  set->entries = std::move(entries);
  return set;
}

std::shared_ptr<const identity_set> make_identity_set(std::vector<ca::issued_cert> identities) {
  std::vector<identity_entry> entries;
  for (const auto& identity : identities) entries.push_back(make_identity(identity));
  return make_identity_set(std::move(entries));
}

std::shared_ptr<const identity_set> server_state::current_identities() {
  std::lock_guard lock(identities_mutex);
  return identities;
}

void server_state::record(handshake_record r) {
  {
    std::lock_guard lock(records_mutex);
    totals.add(r);
    if (records.size() < options.max_handshake_records) {
      records.push_back(std::move(r));
    } else if (!records.empty()) {
      records[oldest_record] = std::move(r);
      oldest_record = (oldest_record + 1) % records.size();
    }
  }
  records_changed.notify_all();
}

std::vector<handshake_record> server_state::recent_records() const {
  std::lock_guard lock(records_mutex);
  std::vector<handshake_record> out;
  out.reserve(records.size());
  auto oldest = records.begin() + static_cast<std::ptrdiff_t>(oldest_record);
  out.insert(out.end(), oldest, records.end());
  out.insert(out.end(), records.begin(), oldest);
  return out;
}

std::uint16_t server_state::port() const noexcept { return acceptor_v4 ? acceptor_v4->local_endpoint().port() : 0; }

std::uint16_t server_state::port_v6() const noexcept { return acceptor_v6 ? acceptor_v6->local_endpoint().port() : 0; }

bool server_state::serves_name_on_v6() const noexcept { return acceptor_v6 && name.find(':') != std::string::npos; }

void server_state::close() noexcept {
  if (closed.exchange(true)) return;
  // Stopping the io_contexts abandons every pending operation at once, so a client that never
  // sends another byte cannot hold close() up; destroying them then frees the sessions.
  for (auto& w : workers) w->context.stop();
  for (auto& w : workers)
    if (w->thread.joinable()) w->thread.join();
  acceptor_v4.reset();
  acceptor_v6.reset();
  workers.clear();
}

}  // namespace detail

http_response text_response(const http_request& req, unsigned status, std::string body) {
  http_response res{static_cast<boost::beast::http::status>(status), req.version()};
  res.set(boost::beast::http::field::content_type, "text/plain");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

line_handler echo() {
  return [](const std::string& line) -> std::optional<std::string> { return line; };
}

tls_server tls_server::start(ca::issued_cert identity, handler h, server_options options) {
  std::vector<ca::issued_cert> identities;
  identities.push_back(std::move(identity));
  return start(std::move(identities), std::move(h), std::move(options));
}

tls_server tls_server::start(std::vector<ca::issued_cert> identities, handler h, server_options options) {
  std::vector<detail::identity_entry> entries;
  for (const auto& identity : identities) entries.push_back(detail::make_identity(identity));
  return tls_server(detail::start_server(std::move(entries), std::move(h), std::move(options)));
}

std::unique_ptr<detail::server_state> detail::start_server(std::vector<identity_entry> identities, harness::handler h,
                                                           server_options options,
                                                           const std::function<void(SSL_CTX*)>& configure) {
  if (options.threads == 0) throw tlsfix::error("server_options.threads", "must be at least 1");
  if (options.client_auth != client_auth::none && !options.client_trust)
    throw tlsfix::error("server_options.client_trust", "required when client_auth is optional or required");
  if (std::visit([](const auto& f) { return !f; }, h)) throw tlsfix::error("tls_server", "the handler is empty");
  if ((options.protocol == protocol::postgres) != std::holds_alternative<postgres_handler>(h))
    throw tlsfix::error("server_options.protocol", options.protocol == protocol::postgres
                                                       ? "postgres needs a postgres_handler"
                                                       : "a postgres_handler needs protocol postgres");

  auto p = std::make_unique<server_state>();
  p->identities = make_identity_set(std::move(identities));
  p->handler = std::move(h);
  p->alpn = alpn_wire(options.alpn);
  p->options = std::move(options);

  const auto& first = p->identities->entries.front();
  if (!first.dns_names.empty() && !first.dns_names.front().starts_with("*.")) {
    p->name = first.dns_names.front();
  } else {
    for (const auto& san : first.leaf.subject_alt_names())
      if (san.starts_with("IP:")) {
        p->name = san.substr(3);
        break;
      }
  }
  if (p->name.empty()) p->name = "127.0.0.1";

  SSL_CTX* ctx = p->ctx.native_handle();
  harden(ctx, p->options.versions);
  SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
  SSL_CTX_set_alpn_select_cb(ctx, on_alpn, p.get());
  if (p->options.client_auth != client_auth::none) {
    p->options.client_trust->install(ctx);
    for (const auto& root : p->options.client_trust->roots())
      if (SSL_CTX_add_client_CA(ctx, root.native()) != 1)
        throw tlsfix::error::from_openssl("SSL_CTX_add_client_CA", "server_options.client_trust");
    int mode = SSL_VERIFY_PEER | (p->options.client_auth == client_auth::required ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    SSL_CTX_set_verify(ctx, mode, ca::strict_verify_callback);
    ca::apply_strict_policy(SSL_CTX_get0_param(ctx), "", ca::purpose::client);
    if (p->options.verify_time)
      X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(ctx), std::chrono::system_clock::to_time_t(*p->options.verify_time));
  }  // otherwise no client certificate is asked for (a server context's default)

  if (configure) configure(ctx);

  for (unsigned i = 0; i < p->options.threads; ++i) {
    p->workers.push_back(std::make_unique<worker>());
    // Asio creates a context's reactor (an epoll, an eventfd, a timerfd) at its first timer or
    // socket; doing it now fixes the descriptors a server holds once start() returns, instead of
    // at the first connection a worker without an acceptor is given.
    asio::steady_timer{p->workers.back()->context};
  }
  worker& v4_home = *p->workers.front();
  worker& v6_home = *p->workers.back();
  listen(*p, p->acceptor_v4, v4_home, "127.0.0.1");
  if (p->options.listen_ipv6) listen(*p, p->acceptor_v6, v6_home, "::1");
  asio::co_spawn(v4_home.context, accept_loop(p.get(), *p->acceptor_v4, v4_home), asio::detached);
  if (p->acceptor_v6) asio::co_spawn(v6_home.context, accept_loop(p.get(), *p->acceptor_v6, v6_home), asio::detached);
  for (auto& w : p->workers) w->thread = std::thread([io = &w->context] { io->run(); });
  return p;
}

tls_server::tls_server(std::unique_ptr<detail::server_state> p) : impl_(std::move(p)) {}
// The state stops itself when it goes (~server_state), so moving over a server or out of scope
// closes it.
tls_server::tls_server(tls_server&&) noexcept = default;
tls_server& tls_server::operator=(tls_server&&) noexcept = default;
tls_server::~tls_server() = default;

std::uint16_t tls_server::port() const noexcept { return impl_->port(); }

std::uint16_t tls_server::port_v6() const noexcept { return impl_->port_v6(); }

std::string tls_server::endpoint() const { return ca::authority("127.0.0.1", port()); }

const std::string& tls_server::name() const noexcept { return impl_->name; }

std::string tls_server::url() const {
  return ca::https_url(impl_->name, impl_->serves_name_on_v6() ? port_v6() : port());
}

void tls_server::reload(ca::issued_cert identity) {
  std::vector<ca::issued_cert> identities;
  identities.push_back(std::move(identity));
  reload(std::move(identities));
}

void tls_server::reload(std::vector<ca::issued_cert> identities) {
  auto next = detail::make_identity_set(std::move(identities));
  std::lock_guard lock(impl_->identities_mutex);
  impl_->identities = std::move(next);
}

std::vector<handshake_record> tls_server::handshakes() const { return impl_->recent_records(); }

handshake_totals tls_server::totals() const {
  std::lock_guard lock(impl_->records_mutex);
  return impl_->totals;
}

bool tls_server::wait_for_handshakes(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->records_mutex);
  return impl_->records_changed.wait_for(lock, timeout, [&] { return impl_->totals.connections >= count; });
}

// std::mutex::lock throws only for misuse (a deadlock it detects), which this cannot be.
std::size_t tls_server::plaintext_attempts() const noexcept { return totals().failed(failure_kind::plaintext); }
std::size_t tls_server::open_connections() const noexcept { return impl_->open.load(); }

client_options tls_server::client_config() const {
  bool v6 = impl_->serves_name_on_v6();
  harness::client_options o{.host = impl_->name,
                            .port = v6 ? port_v6() : port(),
                            .trust = harness::trust{impl_->current_identities()->entries.front().root}};
  o.resolve[impl_->name] = {v6 ? "::1" : "127.0.0.1"};
  if (!impl_->options.alpn.empty()) o.alpn = {impl_->options.alpn.front()};
  return o;
}

test_client tls_server::client() const { return test_client(client_config()); }

void tls_server::close() noexcept {
  if (impl_) impl_->close();
}

std::ostream& operator<<(std::ostream& out, const handshake_record& record) {
  out << record.remote;
  if (!record.sni.empty()) out << ", SNI '" << record.sni << "'";
  if (!record.ok()) return out << ": " << record.failure;
  out << ": " << record.version << " " << record.cipher;
  if (!record.alpn.empty()) out << ", ALPN " << record.alpn;
  if (!record.client_subject.empty()) out << ", client '" << record.client_subject << "'";
  return out << ", served serial " << record.served_serial;
}

std::size_t handshake_totals::failed() const noexcept {
  std::size_t sum = 0;
  for (auto n : failed_by_kind) sum += n;
  return sum;
}

std::size_t handshake_totals::failed(failure_kind kind) const noexcept {
  auto index = static_cast<std::size_t>(kind);
  return index < failed_by_kind.size() ? failed_by_kind[index] : 0;
}

void handshake_totals::add(const handshake_record& record) noexcept {
  ++connections;
  if (record.ok()) ++ok;
  else if (record.silent) ++silent;
  else if (auto index = static_cast<std::size_t>(record.failure.kind); index < failed_by_kind.size()) ++failed_by_kind[index];
}

std::ostream& operator<<(std::ostream& out, const handshake_totals& totals) {
  out << totals.connections << (totals.connections == 1 ? " connection: " : " connections: ") << totals.ok << " ok, "
      << totals.silent << " silent, " << totals.failed() << " failed";
  const char* separator = " (";
  for (std::size_t i = 1; i < totals.failed_by_kind.size(); ++i)
    if (totals.failed_by_kind[i] > 0) {
      out << separator << static_cast<failure_kind>(i) << " " << totals.failed_by_kind[i];
      separator = ", ";
    }
  return out << (*separator == ',' ? ")" : "");
}

std::ostream& operator<<(std::ostream& out, client_auth mode) {
  switch (mode) {
    case client_auth::none: return out << "none";
    case client_auth::optional: return out << "optional";
    case client_auth::required: return out << "required";
  }
  return out << "unknown";
}

}  // namespace tlsfix::harness
