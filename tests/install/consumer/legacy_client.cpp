// Client code of the kind tlsfix exists to test: older code that still calls an OpenSSL API that
// 3.0 deprecated (RSA_new, SSL_library_init) and a deprecated Asio name
// (ssl::rfc2818_verification). Linking tlsfix must not stop it compiling, so the package exports
// none of the project's own OPENSSL_NO_DEPRECATED, OPENSSL_API_COMPAT or BOOST_ASIO_NO_DEPRECATED;
// and it must link, so the Asio that tlsfix::harness compiled once holds the deprecated parts too.
#include <openssl/rsa.h>
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include <string>

#include "legacy_client.hpp"

#if defined(OPENSSL_NO_DEPRECATED) || defined(OPENSSL_API_COMPAT) || defined(BOOST_ASIO_NO_DEPRECATED)
#error "tlsfix exported its own API policy to this consumer"
#endif

namespace asio = boost::asio;

bool legacy_https_handshake(const std::string& host, unsigned short port, const std::string& ca_pem,
                            std::string& error) {
  SSL_library_init();
  RSA* unused = RSA_new();  // the deprecated call itself; this client has no use for the key
  RSA_free(unused);

  asio::io_context ioc;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.add_certificate_authority(asio::buffer(ca_pem));
  ctx.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<asio::ip::tcp::socket> stream(ioc, ctx);
  stream.set_verify_callback(asio::ssl::rfc2818_verification(host));
  SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
  boost::system::error_code ec;
  stream.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (!ec) stream.handshake(asio::ssl::stream_base::client, ec);
  if (ec) error = ec.message();
  return !ec;
}
