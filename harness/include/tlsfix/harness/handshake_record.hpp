// What one connection to a tls_server negotiated, or why it failed.
#pragma once

#include <string>

namespace tlsfix::harness {

struct handshake_record {
  std::string remote;          // "127.0.0.1:53422"
  std::string sni;             // as the client sent it, or empty
  std::string version;         // "TLSv1.3"
  std::string cipher;
  std::string alpn;
  std::string client_subject;  // the verified client certificate's subject, or empty
  std::string served_serial;   // serial of the certificate this server presented
  // Empty when the handshake succeeded. Otherwise why not: OpenSSL's reason ("no shared cipher",
  // "tlsv1 alert unknown ca", "peer did not return a certificate"), "plaintext", "handshake timeout",
  // "closed before handshake", "connection cap reached".
  std::string failure;
  int verify_error = 0;        // X509_V_ERR_* of the client's certificate, when that failed

  bool ok() const noexcept { return failure.empty(); }
};

}  // namespace tlsfix::harness
