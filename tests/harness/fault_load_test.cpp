// Faults of load and lifetime: many clients at once, identity reloads under traffic, close() with
// clients that never finish, and the connection cap.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "fault_support.hpp"
#include "support.hpp"

namespace tlsfix::fault {
namespace {

using ::testing::IsEmpty;

// Runs `body` on `threads` threads at once and collects what each one failed with.
std::vector<std::string> on_threads(unsigned threads, const std::function<void(std::vector<std::string>&)>& body) {
  std::vector<std::vector<std::string>> failures(threads);
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i) pool.emplace_back([&, i] { body(failures[i]); });
  for (auto& t : pool) t.join();
  std::vector<std::string> all;
  for (auto& f : failures) all.insert(all.end(), f.begin(), f.end());
  return all;
}

TEST_F(FaultTest, AThousandConcurrentVerifiedHandshakes) {
  constexpr std::size_t total = 1000;
  auto server = Start(harness::server_options{});  // default deadlines and max_connections
  auto fds = test::open_fd_count();
  std::atomic<std::size_t> next{0};
  auto client = server.client();
  auto failures = on_threads(16, [&](std::vector<std::string>& failed) {
    while (next.fetch_add(1) < total) {
      auto result = client.handshake();
      if (!result.ok()) failed.push_back(result.message());
    }
  });
  EXPECT_THAT(failures, IsEmpty());
  ASSERT_TRUE(server.wait_for_handshakes(total, 10s)) << server.handshakes().size() << " recorded";
  auto records = server.handshakes();
  EXPECT_EQ(records.size(), total);
  for (const auto& r : records) ASSERT_TRUE(r.ok()) << r.remote << ": " << r.failure;
  ExpectStillServing(server, fds);
}

TEST_F(FaultTest, ReloadUnderLoadDropsNoHandshake) {
  auto server = Start();
  std::set<std::string> issued{leaf_.cert().serial_hex()};
  std::mutex issued_mutex;  // a client may see a serial before the main thread has noted it
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> done{0};
  auto client = server.client();
  auto loader = std::async(std::launch::async, [&] {
    return on_threads(3, [&](std::vector<std::string>& failed) {
      while (!stop.load()) {
        auto result = client.handshake();
        ++done;
        if (!result.ok()) failed.push_back(result.message());
      }
    });
  });
  auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(50ms);
    auto next = ca_.issue("service.test.local");
    {
      std::lock_guard lock(issued_mutex);
      issued.insert(next.cert().serial_hex());
    }
    server.reload(std::move(next));
  }
  stop = true;
  auto failures = loader.get();
  EXPECT_THAT(failures, IsEmpty());
  ASSERT_TRUE(server.wait_for_handshakes(done.load(), 10s));

  std::set<std::string> served;
  for (const auto& r : server.handshakes()) {
    EXPECT_TRUE(r.ok()) << r.failure;
    EXPECT_TRUE(issued.contains(r.served_serial)) << "served a certificate nobody issued: " << r.served_serial;
    served.insert(r.served_serial);
  }
  EXPECT_TRUE(served.contains(leaf_.cert().serial_hex())) << "the first certificate was never served";
  EXPECT_GE(served.size(), 2u) << "no reloaded certificate was ever served";
}

// close() must not wait for clients: it runs on its own thread here so that a close() that
// hangs fails this test instead of hanging the binary (the thread keeps the server alive).
TEST_F(FaultTest, CloseWithStuckClientsReturnsPromptlyAndIsIdempotent) {
  auto fds = test::open_fd_count();
  // Long deadlines: only close() can end these connections within the test.
  auto server = std::make_shared<harness::tls_server>(
      Start({.handshake_timeout = std::chrono::seconds(30), .idle_timeout = std::chrono::seconds(30)}));
  auto silent = connect_loopback(server->port());
  raw_tls_client mid_request(server->port(), {.trust = harness::trust{ca_.root()}});
  ASSERT_TRUE(mid_request.handshake()) << mid_request.error();
  ASSERT_TRUE(mid_request.write("GET / HTTP/1.1\r\nHost: service.test.local\r\nX-Never-Ends: "));
  ASSERT_TRUE(server->wait_for_handshakes(1, 5s));
  ASSERT_TRUE(wait_until([&] { return server->open_connections() == 2; })) << server->open_connections();

  const auto port = server->port();
  auto close_twice = [&server] {
    std::promise<void> closed;
    auto future = closed.get_future();
    std::thread([owner = server, closed = std::move(closed)]() mutable {
      owner->close();
      owner->close();
      owner.reset();  // before signalling, so that the test decides where the destructor runs
      closed.set_value();
    }).detach();
    return future;
  };
  ASSERT_EQ(close_twice().wait_for(2s), std::future_status::ready) << "close() waited for a stuck client";
  ASSERT_EQ(close_twice().wait_for(2s), std::future_status::ready) << "a second close() did not return";

  // Closed means closed: both clients see their connection end, and nothing new is accepted.
  EXPECT_TRUE(read_until_closed(silent, 2s).closed);
  EXPECT_TRUE(read_until_closed(mid_request.socket(), 2s).closed);
  silent.reset();
  mid_request.socket().reset();
  EXPECT_THROW(connect_loopback(port), std::system_error);
  server.reset();  // the destructor after close() is a no-op
  ExpectNoDescriptorLeak(fds);
}

TEST_F(FaultTest, ConnectionCapRefusesTheExtraConnection) {
  auto server = Start({.handshake_timeout = std::chrono::seconds(10), .max_connections = 2});
  auto fds = test::open_fd_count();
  {
    auto first = connect_loopback(server.port());
    auto second = connect_loopback(server.port());
    ASSERT_TRUE(wait_until([&] { return server.open_connections() == 2; })) << server.open_connections();
    auto third = connect_loopback(server.port());
    auto outcome = read_until_closed(third);
    EXPECT_TRUE(outcome.closed) << "the third connection was kept open";
    EXPECT_THAT(outcome.received, IsEmpty());
    ASSERT_TRUE(server.wait_for_handshakes(1, 5s));
    auto record = server.handshakes()[0];
    EXPECT_EQ(record.failure.kind, harness::failure_kind::refused) << record.failure;
    EXPECT_EQ(record.remote, third.local_endpoint());
    EXPECT_EQ(server.open_connections(), 2u) << "the held connections were dropped";
  }
  // Releasing the held connections frees the slots for a good client.
  ASSERT_TRUE(wait_until([&] { return server.open_connections() == 0; })) << server.open_connections();
  ASSERT_TRUE(server.wait_for_handshakes(3, 5s));
  for (std::size_t i : {1u, 2u})
    EXPECT_EQ(server.handshakes()[i].failure.kind, harness::failure_kind::closed) << server.handshakes()[i].failure;
  ExpectStillServing(server, fds);
}

// The cap must hold when connections arrive faster than sessions start, not only when the test
// waits for each one to be counted.
TEST_F(FaultTest, ConnectionCapHoldsUnderABurst) {
  constexpr std::size_t cap = 2, burst = 8;
  auto server = Start({.handshake_timeout = kDeadline, .max_connections = cap});
  auto fds = test::open_fd_count();
  {
    std::vector<socket_fd> attackers;
    for (std::size_t i = 0; i < burst; ++i) attackers.push_back(connect_loopback(server.port()));
    // Silent, so each admitted connection ends at the deadline and each refused one at once.
    ASSERT_TRUE(server.wait_for_handshakes(burst, 5s)) << server.handshakes().size() << " recorded";
  }
  std::size_t refused = 0, timed_out = 0;
  for (const auto& r : server.handshakes()) {
    refused += r.failure.kind == harness::failure_kind::refused;
    timed_out += r.failure.kind == harness::failure_kind::timeout;
  }
  EXPECT_EQ(timed_out, cap) << "admitted more connections than max_connections";
  EXPECT_EQ(refused, burst - cap);
  ExpectStillServing(server, fds);
}

}  // namespace
}  // namespace tlsfix::fault
