// Private: the state behind a tls_server, shared by the accept loop and the sessions.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "tlsfix/ca/handles.hpp"
#include "tlsfix/harness/tls_server.hpp"

namespace tlsfix::harness::detail {

// What a server presents for one name. Raw parts rather than an issued_cert, so that impostors
// can serve what tlsfix would never issue (weak keys, intermediates as leaves).
struct identity_entry {
  ca::certificate leaf;
  ca::evp_pkey_ptr key;
  ca::x509_stack_ptr chain;             // sent after the leaf, in this order
  ca::certificate root;                 // what a client of this identity should trust
  std::vector<std::string> dns_names;   // lower case, wildcards included
};

identity_entry make_identity(const ca::issued_cert& identity);
// `leaf` with `key`, followed by `chain` exactly as given.
identity_entry make_identity(const ca::certificate& leaf, EVP_PKEY* key, const std::vector<ca::certificate>& chain,
                             const ca::certificate& root);

// An immutable snapshot; reload() swaps in a new one and running handshakes keep theirs.
struct identity_set {
  std::vector<identity_entry> entries;
  // The entry serving `sni`, or null: exact names and one-label wildcards, case-insensitive.
  const identity_entry* find(std::string_view sni) const;
};

// Per-connection data the OpenSSL callbacks reach through SSL ex_data.
struct handshake_state {
  std::shared_ptr<const identity_set> identities;
  bool answer_any_name = false;
  bool unknown_name = false;
};
int handshake_state_index();

// Something with a deadline on a worker: a connection.
class timed {
 public:
  std::chrono::steady_clock::time_point deadline;
  // Runs on the worker's thread once the deadline has passed.
  virtual void expire() = 0;

 protected:
  ~timed() = default;
};

// The deadlines of one worker's connections behind one timer. Connections only write their
// deadline; the timer is re-armed when it fires (for the soonest deadline then) or when a deadline
// moves before it. A timer per connection cost two timerfd_settime(2) per handshake. Entries are
// weak, so a finished connection needs no unregistering and is dropped at the next firing.
class deadline_sweeper {
 public:
  explicit deadline_sweeper(boost::asio::io_context& context) : timer_(context) {}
  // Watches `t`, once; after every change of its deadline call moved(), which re-arms the timer
  // only when the new deadline comes before it.
  void watch(const std::shared_ptr<timed>& t);
  void moved(const timed& t);

 private:
  void arm(std::chrono::steady_clock::time_point when);
  void sweep();

  boost::asio::steady_timer timer_;
  bool armed_ = false;
  std::vector<std::weak_ptr<timed>> entries_;
};

// One thread with its own io_context. A connection stays on one worker from accept to close, so
// its steps never hop between threads: no strand, no cross-thread wake-up per step.
struct worker {
  boost::asio::io_context context{1};
  // Keeps run() going on a worker with no acceptor while it has no connection yet.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> busy = boost::asio::make_work_guard(context);
  std::atomic<std::size_t> connections{0};
  deadline_sweeper deadlines{context};
  std::thread thread;
};

// A running server. tls_server is a handle to one; the impostor catalog runs its servers through
// start_server() directly, for the knobs no public option offers.
struct server_state {
  server_state() = default;
  server_state(const server_state&) = delete;
  server_state& operator=(const server_state&) = delete;
  ~server_state() { close(); }

  server_options options;
  harness::handler handler;
  std::string name;
  std::vector<unsigned char> alpn;

  boost::asio::ssl::context ctx{boost::asio::ssl::context::tls_server};
  std::vector<std::unique_ptr<worker>> workers;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_v4, acceptor_v6;

  std::mutex identities_mutex;
  std::shared_ptr<const identity_set> identities;

  // Guards records, oldest_record and totals together, so that a reader never sees a record
  // that the totals do not count yet.
  mutable std::mutex records_mutex;
  mutable std::condition_variable records_changed;
  // A ring of the last options.max_handshake_records: it grows to that size, then each new
  // record overwrites the oldest, at oldest_record.
  std::vector<handshake_record> records;
  std::size_t oldest_record = 0;
  handshake_totals totals;

  std::atomic<std::size_t> open{0};
  std::atomic<bool> closed{false};

  std::shared_ptr<const identity_set> current_identities();
  void record(handshake_record r);
  std::vector<handshake_record> recent_records() const;  // oldest first
  std::uint16_t port() const noexcept;
  std::uint16_t port_v6() const noexcept;
  // Where `name` is served: [::1] for an IPv6 name when listening there, else 127.0.0.1.
  bool serves_name_on_v6() const noexcept;
  // Stops accepting, closes every connection, joins the threads. Idempotent, never throws.
  void close() noexcept;
};

std::shared_ptr<const identity_set> make_identity_set(std::vector<ca::issued_cert> identities);

// Starts a server as tls_server::start does, listening when it returns, with the impostors' extra
// knob: `configure` runs on the SSL_CTX after tlsfix's own settings (to allow only TLS 1.0, say).
std::unique_ptr<server_state> start_server(std::vector<identity_entry> identities, harness::handler h,
                                           server_options options, const std::function<void(SSL_CTX*)>& configure = {});

// One counted place among server_options.max_connections, taken by the accept loop before the
// session starts (so that a burst cannot overshoot the cap) and given back when the session ends.
// It counts the connection on its worker too, which is how the accept loop balances them.
class connection_slot {
 public:
  connection_slot(std::atomic<std::size_t>& server, std::atomic<std::size_t>& worker)
      : server_(&server), worker_(&worker) {
    ++*server_;
    ++*worker_;
  }
  connection_slot(connection_slot&& other) noexcept
      : server_(std::exchange(other.server_, nullptr)), worker_(std::exchange(other.worker_, nullptr)) {}
  connection_slot& operator=(connection_slot&&) = delete;
  ~connection_slot() {
    if (server_) --*server_;
    if (worker_) --*worker_;
  }

 private:
  std::atomic<std::size_t>* server_;
  std::atomic<std::size_t>* worker_;
};

// "127.0.0.1:53422", as every record names its peer.
inline std::string endpoint_text(const boost::asio::ip::tcp::endpoint& peer) {
  return peer.address().to_string() + ":" + std::to_string(peer.port());
}

boost::asio::awaitable<void> serve_connection(server_state* server, worker& home, boost::asio::ip::tcp::socket socket,
                                              boost::asio::ip::tcp::endpoint peer, connection_slot slot);

}  // namespace tlsfix::harness::detail
