#include "relay.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <thread>

#include "tlsfix/ca/error.hpp"

namespace tlsfix::cli {

namespace asio = boost::asio;
using asio::ip::tcp;

struct port_relay::impl {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::uint16_t target = 0;
  std::uint16_t port = 0;
  std::thread thread;

  // Copies one direction until either side closes, then shuts both down so the other pump ends.
  static asio::awaitable<void> pump(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to) {
    char buffer[16384];
    try {
      for (;;) {
        std::size_t n = co_await from->async_read_some(asio::buffer(buffer), asio::use_awaitable);
        co_await asio::async_write(*to, asio::buffer(buffer, n), asio::use_awaitable);
      }
    } catch (const std::exception&) {
    }
    boost::system::error_code ignored;
    from->shutdown(tcp::socket::shutdown_both, ignored);
    to->shutdown(tcp::socket::shutdown_both, ignored);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto client = std::make_shared<tcp::socket>(co_await acceptor.async_accept(asio::use_awaitable));
      auto upstream = std::make_shared<tcp::socket>(ioc);
      boost::system::error_code ec;
      upstream->connect({asio::ip::address_v4::loopback(), target}, ec);  // loopback: immediate
      if (ec) continue;
      asio::co_spawn(ioc, pump(client, upstream), asio::detached);
      asio::co_spawn(ioc, pump(upstream, client), asio::detached);
    }
  }
};

port_relay::port_relay(std::uint16_t listen_port, std::uint16_t target_port) : impl_(std::make_unique<impl>()) {
  impl_->target = target_port;
  tcp::endpoint endpoint{asio::ip::address_v4::loopback(), listen_port};
  boost::system::error_code ec;
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw ca::error("--port " + std::to_string(listen_port) + ": cannot listen on 127.0.0.1: " + ec.message());
  impl_->port = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

port_relay::~port_relay() { close(); }

std::uint16_t port_relay::port() const noexcept { return impl_->port; }

void port_relay::close() noexcept {
  if (!impl_->thread.joinable()) return;
  impl_->ioc.stop();
  impl_->thread.join();
}

}  // namespace tlsfix::cli
