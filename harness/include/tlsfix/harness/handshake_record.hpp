// What one connection to a tls_server negotiated, or why it failed.
//
//   ASSERT_TRUE(server.wait_for_handshakes(1));
//   auto record = server.handshakes().front();
//   EXPECT_TRUE(record.ok()) << record.failure;
//   EXPECT_EQ(record.version, "TLSv1.3");
#pragma once

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

// "127.0.0.1:53422, SNI 'a.test.local': TLSv1.3 ..." or the failure.
std::ostream& operator<<(std::ostream& out, const handshake_record& record);

}  // namespace tlsfix::harness
