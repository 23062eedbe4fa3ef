// A plain TCP relay from a chosen loopback port to a tls_server's ephemeral port.
//
// tls_server always binds 127.0.0.1:0; `serve --port` and `proxy --port` need a fixed port, so
// this relay listens there and copies bytes both ways. TLS stays end to end between the client
// and the tls_server: the relay sees only ciphertext.
//
//   port_relay relay{8443, server.port()};   // listening when the constructor returns
//   ...
//   relay.close();                           // also done by the destructor
#pragma once

#include <cstdint>
#include <memory>

namespace tlsfix::cli {

class port_relay {
 public:
  // Throws `ca::error` naming --port when the port cannot be bound.
  port_relay(std::uint16_t listen_port, std::uint16_t target_port);
  ~port_relay();
  port_relay(const port_relay&) = delete;
  port_relay& operator=(const port_relay&) = delete;

  std::uint16_t port() const noexcept;
  void close() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tlsfix::cli
