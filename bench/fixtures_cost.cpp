// The cost of verified TLS per test: the same suite twice, run as one would run it (a gtest binary,
// one test after another). Verified/: TlsTest with a fresh CA, a server and one verified request
// per test. Plaintext/: a plain HTTP server and one request per test. bench/fixtures_cost.py runs
// each half and reports the difference per test.
//
// TLSFIX_FIXTURE_TESTS sets how many tests each half has (default 1000).
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>
#include <thread>

#include <tlsfix/fixtures.hpp>

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

int test_count() {
  const char* text = std::getenv("TLSFIX_FIXTURE_TESTS");
  return text ? std::atoi(text) : 1000;
}

class Verified : public tlsfix::fixtures::TlsTest, public ::testing::WithParamInterface<int> {};

TEST_P(Verified, FreshCaServerAndOneVerifiedRequest) {
  auto& server = StartServer(Issue("bench.test.local"), tlsfix::fixtures::Answer("ok"));
  EXPECT_EQ(Client(server).get("/").body(), "ok");
}

INSTANTIATE_TEST_SUITE_P(Suite, Verified, ::testing::Range(0, test_count()));

// The plaintext twin: a server thread on 127.0.0.1:0 answering one request, and a client.
class Plaintext : public ::testing::TestWithParam<int> {};

TEST_P(Plaintext, ServerAndOnePlaintextRequest) {
  asio::io_context server_io;
  tcp::acceptor acceptor(server_io, {asio::ip::make_address("127.0.0.1"), 0});
  std::thread server([&] {
    tcp::socket socket(server_io);
    acceptor.accept(socket);
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(socket, buffer, req);
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.body() = "ok";
    res.prepare_payload();
    http::write(socket, res);
  });
  asio::io_context client_io;
  tcp::socket client(client_io);
  client.connect(acceptor.local_endpoint());
  http::request<http::string_body> req{http::verb::get, "/", 11};
  req.set(http::field::host, "bench.test.local");
  http::write(client, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(client, buffer, res);
  server.join();
  EXPECT_EQ(res.body(), "ok");
}

INSTANTIATE_TEST_SUITE_P(Suite, Plaintext, ::testing::Range(0, test_count()));

}  // namespace
