// What one connection to a tls_server negotiated, or why it failed; and the totals of every
// connection a server has had.
//
// A server keeps only its most recent records (server_options::max_handshake_records), so that
// one serving for hours does not grow with every connection; it counts every connection in its
// handshake_totals, which drop nothing. Look at records for what a connection negotiated; count
// over a whole run (how many, how many failed and why) with the totals.
//
//   ASSERT_TRUE(server.wait_for_handshakes(1));
//   auto record = server.handshakes().front();
//   EXPECT_TRUE(record.ok()) << record.failure;
//   EXPECT_EQ(record.version, "TLSv1.3");
//   EXPECT_EQ(server.totals().failed(), 0u) << server.totals();
#pragma once

#include <array>
#include <cstddef>
#include <iosfwd>
#include <string>

#include "tlsfix/harness/tls_failure.hpp"

namespace tlsfix::harness {

struct handshake_record {
  std::string remote;          // "127.0.0.1:53422"
  std::string sni;             // as the client sent it, or empty
  std::string version;         // "TLSv1.3"
  std::string cipher;
  std::string alpn;
  std::string client_subject;  // the verified client certificate's subject, or empty
  std::string client_serial;   // and its serial (as certificate::serial_hex() prints it), or empty
  std::string served_serial;   // serial of the certificate this server presented
  // Kind none when the handshake succeeded; otherwise why not, in the same terms a client's
  // handshake_result uses: a client certificate this server refused (kind certificate, with its
  // verify_error), the client's alert, plaintext, a timeout, the connection cap.
  tls_failure failure;
  // The peer never sent a byte: it closed, or the deadline passed first (a port probe, a health
  // check that only connects). No TLS was attempted, so it says nothing about the peer's TLS.
  bool silent = false;

  bool ok() const noexcept { return failure.ok(); }
};

// Every connection a server has recorded since it started, by outcome. The three outcomes are
// disjoint: connections == ok + silent + failed().
struct handshake_totals {
  // failure_kind::refused is the last kind; a kind added after it must move this.
  static constexpr std::size_t kind_count = static_cast<std::size_t>(failure_kind::refused) + 1;

  std::size_t connections = 0;
  std::size_t ok = 0;
  // Closed or timed out before sending a byte (handshake_record::silent): a port probe, not a
  // TLS failure, so not counted in failed().
  std::size_t silent = 0;
  // The other failures, by kind (indexed by the kind's value; none stays 0).
  std::array<std::size_t, kind_count> failed_by_kind{};

  std::size_t failed() const noexcept;
  std::size_t failed(failure_kind kind) const noexcept;
  // Counts `record` in its outcome.
  void add(const handshake_record& record) noexcept;
};

// "127.0.0.1:53422, SNI 'a.test.local': TLSv1.3 ..." or the failure.
std::ostream& operator<<(std::ostream& out, const handshake_record& record);
// "12 connections: 9 ok, 1 silent, 2 failed (plaintext 1, alert 1)"
std::ostream& operator<<(std::ostream& out, const handshake_totals& totals);

}  // namespace tlsfix::harness
