// `tlsfix proxy --service NAME --to 127.0.0.1:8080`: HTTPS by name in front of a plaintext dev
// server on loopback. Each request is forwarded on its own upstream connection (method, target,
// headers, body); a dead upstream gets a 502 whose body says which address failed and why.
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <optional>

#include "names.hpp"
#include "serving.hpp"
#include "tlsfix/ca/files.hpp"
#include "verbs.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::cli {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

namespace {

// Headers for one hop only (RFC 9110 7.6.1): never forwarded in either direction.
void strip_hop_by_hop(http::fields& fields) {
  for (auto f : {http::field::connection, http::field::keep_alive, http::field::proxy_authenticate,
                 http::field::proxy_authorization, http::field::te, http::field::trailer, http::field::transfer_encoding,
                 http::field::upgrade, http::field::proxy_connection})
    fields.erase(f);
}

tcp::endpoint parse_upstream(const std::string& text) {
  auto colon = text.rfind(':');
  boost::system::error_code ec;
  std::string host = colon == std::string::npos ? "" : text.substr(0, colon);
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  auto address = asio::ip::make_address(host, ec);
  std::string port = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (ec || port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535)
    throw tlsfix::error("--to", "'" + text + "' is not ADDRESS:PORT (e.g. 127.0.0.1:8080)");
  // Plaintext stays on this machine: that is the point of putting TLS in front of it.
  if (!address.is_loopback()) throw tlsfix::error("--to", "'" + text + "' is not a loopback address");
  return {address, static_cast<std::uint16_t>(std::stoi(port))};
}

harness::http_response bad_gateway(const harness::http_request& req, const std::string& upstream, const std::string& why) {
  return harness::text_response(req, 502, "tlsfix proxy: upstream " + upstream + " failed: " + why + "\n");
}

harness::http_response forward(const harness::http_request& req, const tcp::endpoint& upstream, const std::string& shown) {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect(upstream, ec);  // loopback: refused or accepted at once, no timeout needed
  if (ec) return bad_gateway(req, shown, ec.message());
  // A dev server that hangs must not hang the proxy's threads forever.
  timeval timeout{60, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);

  harness::http_request out = req;
  strip_hop_by_hop(out.base());
  out.set("X-Forwarded-Proto", "https");
  if (auto host = req.find(http::field::host); host != req.end()) out.set("X-Forwarded-Host", host->value());
  out.keep_alive(false);
  out.prepare_payload();
  http::write(socket, out, ec);
  if (ec) return bad_gateway(req, shown, "sending the request: " + ec.message());

  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  if (req.method() == http::verb::head) parser.skip(true);  // a HEAD response announces a body it does not send
  http::read(socket, buffer, parser, ec);
  if (ec) return bad_gateway(req, shown, "reading the response: " + ec.message());
  auto response = parser.release();
  strip_hop_by_hop(response.base());
  response.version(req.version());
  response.keep_alive(req.keep_alive());
  if (req.method() != http::verb::head) response.prepare_payload();
  return response;
}

}  // namespace

int proxy(const proxy_options& o, std::ostream& out, std::ostream& err) {
  if (o.dir && (o.ca_out || !o.allow_names.empty()))
    throw tlsfix::error(o.ca_out ? "--ca-out" : "--allow-name", "is for the fresh CA made without --dir; --dir serves that directory's certificate");
  auto upstream = parse_upstream(o.to);
  std::optional<ca::issued_cert> identity;
  std::optional<ca::temp_file> temp_root;
  std::string ca_line;
  if (o.dir) {
    auto dir = tlsfix_dir::open(*o.dir);
    identity = identity_from_dir(dir, o.service);
    ca_line = "ca: " + dir.ca_file().string() + "\n";
  } else {
    check_service_name(o.service, "--service");
    name_policy{o.allow_names}.check(o.service, "--service");
    auto authority = ca::certificate_authority::create({.permitted_names = o.allow_names});
    identity = authority.issue(o.service);
    if (o.ca_out) {
      ca::write_file(*o.ca_out, authority.root().to_pem(), ca::file_mode::public_read);
      ca_line = "ca: " + *o.ca_out + "\n";
    } else {
      temp_root.emplace(authority.root().to_pem(), "ca.crt");
      ca_line = "ca: " + temp_root->path().string() + " (removed when the proxy stops)\n";
    }
  }
  std::string shown = o.to;
  harness::http_handler forward_all = [upstream, shown](const harness::http_request& req) { return forward(req, upstream, shown); };
  return run_server([&] { return harness::tls_server::start(*identity, forward_all, {.port = o.port.value_or(0)}); },
                    ca_line + "upstream: http://" + shown + "\n", o.serving, out, err);
}

}  // namespace tlsfix::cli
