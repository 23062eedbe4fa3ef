#include "sample/https_client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <stdexcept>

#include "tls_context.hpp"

namespace sample {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

url_parts parse_https_url(const std::string& url, const std::string& flag) {
  const std::string scheme = "https://";
  if (!url.starts_with(scheme))
    throw std::runtime_error(flag + " '" + url + "': only https:// URLs (this service has no plaintext mode)");
  std::string rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) throw std::runtime_error(flag + " '" + url + "': give scheme, host and port only, no path");
  url_parts out;
  if (rest.starts_with("[")) {
    auto close = rest.find(']');
    if (close == std::string::npos) throw std::runtime_error(flag + " '" + url + "': unclosed '[' in the host");
    out.host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    out.port = rest.starts_with(":") ? rest.substr(1) : "443";
  } else {
    auto colon = rest.find(':');
    out.host = rest.substr(0, colon);
    out.port = colon == std::string::npos ? "443" : rest.substr(colon + 1);
  }
  if (out.host.empty()) throw std::runtime_error(flag + " '" + url + "': no host");
  if (out.port.empty() || out.port.find_first_not_of("0123456789") != std::string::npos)
    throw std::runtime_error(flag + " '" + url + "': '" + out.port + "' is not a port");
  return out;
}

struct https_client::impl {
  client_options options;
  url_parts target;
  asio::ssl::context ctx;

  explicit impl(client_options o)
      : options(std::move(o)), target(parse_https_url(options.base_url, options.flag)),
        ctx(client_context(options.ca, options.cert, options.key)) {}

  asio::awaitable<call_result> exchange(asio::io_context& ioc, http::verb method, std::string path, std::string body) {
    call_result out;
    tcp::resolver resolver(ioc);
    auto [resolved, endpoints] = co_await resolver.async_resolve(target.host, target.port, asio::as_tuple(asio::use_awaitable));
    if (resolved) co_return call_result{"cannot resolve " + target.host + ": " + resolved.message()};
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    SSL* ssl = stream.native_handle();
    boost::system::error_code not_ip;
    asio::ip::make_address(target.host, not_ip);
    // SNI for names only (RFC 6066 forbids IP literals), and the name (or IP) the certificate must
    // carry: SSL_set1_host checks the subjectAltName; with NEVER_CHECK_SUBJECT a CN is never
    // taken for a name, and a wildcard must be a whole label.
    if (not_ip) SSL_set_tlsext_host_name(ssl, target.host.c_str());
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl, target.host.c_str()) != 1) co_return call_result{"cannot check host '" + target.host + "'"};
    beast::get_lowest_layer(stream).expires_after(options.timeout);
    auto [connected, ep] = co_await beast::get_lowest_layer(stream).async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
    if (connected) co_return call_result{"cannot connect to " + target.host + ":" + target.port + ": " + connected.message()};
    auto [hs] = co_await stream.async_handshake(asio::ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
    if (hs) co_return call_result{handshake_error(ssl, hs)};
    http::request<http::string_body> req{method, path, 11};
    req.set(http::field::host, target.host);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = std::move(body);
    }
    req.prepare_payload();
    auto [written, n] = co_await http::async_write(stream, req, asio::as_tuple(asio::use_awaitable));
    if (written) co_return call_result{"sending the request: " + written.message()};
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    auto [read, m] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (read) co_return call_result{"reading the response: " + read.message()};
    out.status = parser.get().result_int();
    out.body = parser.get().body();
    auto [shut] = co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
    (void)shut;  // a peer that closes without close_notify after a full response is common and harmless here
    co_return out;
  }
};

https_client::https_client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
https_client::~https_client() = default;
https_client::https_client(https_client&&) noexcept = default;
https_client& https_client::operator=(https_client&&) noexcept = default;

const std::string& https_client::host() const noexcept { return impl_->target.host; }

call_result https_client::call(http::verb method, const std::string& target, const std::string& json_body) const {
  // One io_context per call: the caller's thread runs it, so calls from several threads share nothing but the SSL_CTX.
  asio::io_context ioc;
  call_result out{"timed out"};
  asio::co_spawn(ioc, impl_->exchange(ioc, method, target, json_body), [&](std::exception_ptr e, call_result r) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        r = call_result{ex.what()};
      }
    }
    out = std::move(r);
  });
  // The stream's deadline ends a stalled connect, handshake or read; this bounds the resolver too.
  ioc.run_for(impl_->options.timeout * 2);
  return out;
}

}  // namespace sample
