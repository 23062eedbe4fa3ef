// Private: the state behind a tls_server, shared by the accept loop and the sessions.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "tlsfix/ca/handles.hpp"
#include "tlsfix/harness/tls_server.hpp"

namespace tlsfix::harness::detail {

struct identity_entry {
  ca::issued_cert cert;
  ca::x509_stack_ptr chain;             // intermediates, prebuilt for SSL_use_cert_and_key
  std::vector<std::string> dns_names;   // lower case, wildcards included
};

// An immutable snapshot; reload() swaps in a new one and running handshakes keep theirs.
struct identity_set {
  std::vector<identity_entry> entries;
  // The entry serving `sni`, or null: exact names and one-label wildcards, case-insensitive.
  const identity_entry* find(std::string_view sni) const;
};

// Per-connection data the OpenSSL callbacks reach through SSL ex_data.
struct handshake_state {
  std::shared_ptr<const identity_set> identities;
  bool unknown_name = false;
};
int handshake_state_index();

struct server_state {
  server_options options;
  harness::handler handler;
  std::string name;
  std::vector<unsigned char> alpn;

  boost::asio::ssl::context ctx{boost::asio::ssl::context::tls_server};
  std::optional<boost::asio::io_context> ioc;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_v4, acceptor_v6;
  std::vector<std::thread> threads;

  std::mutex identities_mutex;
  std::shared_ptr<const identity_set> identities;

  mutable std::mutex records_mutex;
  mutable std::condition_variable records_changed;
  std::vector<handshake_record> records;

  std::atomic<std::size_t> plaintext{0};
  std::atomic<std::size_t> open{0};
  std::atomic<bool> closed{false};

  std::shared_ptr<const identity_set> current_identities();
  void record(handshake_record r);
};

std::shared_ptr<const identity_set> make_identity_set(std::vector<ca::issued_cert> identities);

boost::asio::awaitable<void> serve_connection(server_state* server, boost::asio::ip::tcp::socket socket);

}  // namespace tlsfix::harness::detail
