// Faults of load and lifetime: many clients at once, identity reloads under traffic, close() with
// clients that never finish, the connection cap, and a long soak that must leave memory and
// descriptors where they were.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <future>
#include <limits>
#include <mutex>
#include <set>
#include <string>
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
  ASSERT_TRUE(server.wait_for_handshakes(total, 10s)) << server.totals();
  EXPECT_EQ(server.totals().ok, total) << server.totals();
  for (const auto& r : server.handshakes()) ASSERT_TRUE(r.ok()) << r.remote << ": " << r.failure;
  ExpectStillServing(server, fds);
}

TEST_F(FaultTest, ReloadUnderLoadDropsNoHandshake) {
  // Every record, not the last 1,024: the first certificate's handshakes are the oldest, and
  // 1.5 s of three clients can make more than that.
  auto server = Start({.handshake_timeout = kDeadline, .max_handshake_records = std::numeric_limits<std::size_t>::max()});
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
    ASSERT_TRUE(server.wait_for_handshakes(burst, 5s)) << server.totals();
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


#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// How many handshakes the soak makes: the issue's 100,000 in an optimised build (the release
// preset: 96 s on two shared cores, about 1 ms a handshake, crypto-bound). Debug is hardly slower
// per handshake, but 100,000 took 3 minutes there, too long for every developer's `ctest`, so it
// makes 20,000 (about 20 s). A sanitized build checks descriptors only (the sanitizers' own memory
// swamps RSS) and makes 3,000. Each is still 3 to 100 times the default max_handshake_records:
// without the bound, 15,000 handshakes after the warm-up grew VmRSS by 7.4 MB (95,000: 46 MB), so
// the soak fails without the ring wherever it checks RSS.
// TLSFIX_SOAK_HANDSHAKES sets the count in any build.
std::size_t soak_handshakes() {
  if (const char* n = std::getenv("TLSFIX_SOAK_HANDSHAKES"); n != nullptr && *n != '\0') return std::stoul(n);
  if (kSanitized) return 3'000;
#ifdef NDEBUG
  return 100'000;
#else
  return 20'000;
#endif
}

// VmRSS of this process in kB, from /proc/self/status.
std::size_t resident_kb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmRSS:")) return std::stoul(line.substr(6));
  ADD_FAILURE() << "no VmRSS in /proc/self/status";
  return 0;
}

// Issue 13: a server that keeps every handshake record grows with every connection (`tlsfix
// serve` went from 10.8 to 19.1 MB over 12,000 handshakes). One server, many real verified
// handshakes from two threads: after a warm-up that fills the record ring and the allocator's
// pools, the process's RSS must stay within 1 MB, and its descriptors must come back to exactly
// the count before the server started. A memory and descriptor check, not a timing one.
TEST_F(FaultTest, ASoakOfHandshakesKeepsMemoryAndDescriptorsFlat) {
  const std::size_t total = soak_handshakes();
  const std::size_t warm_up = std::min<std::size_t>(5'000, total / 4);
  const auto started = std::chrono::steady_clock::now();
  const std::size_t fds_before = test::open_fd_count();
  std::size_t fds_idle = 0, fds_idle_after = 0, rss_warm = 0, rss_end = 0;
  harness::handshake_totals totals;
  std::size_t kept = 0;
  {
    auto server = Start();  // the default max_handshake_records: the bound under test
    fds_idle = test::open_fd_count();
    auto client = server.client();
    std::atomic<std::size_t> next{0};
    // Up to `until` handshakes in all, on two threads; then every connection has ended.
    auto run_until = [&](std::size_t until) {
      std::atomic<std::size_t> failed{0};
      auto first_failures = on_threads(2, [&](std::vector<std::string>& failures) {
        while (next.fetch_add(1) < until) {
          auto result = client.handshake();
          if (!result.ok() && failed.fetch_add(1) < 5) failures.push_back(result.message());
        }
      });
      next = until;
      EXPECT_EQ(failed.load(), 0u) << ::testing::PrintToString(first_failures);
      ASSERT_TRUE(server.wait_for_handshakes(until, 10s)) << server.totals();
      ASSERT_TRUE(wait_until([&] { return server.open_connections() == 0; })) << server.open_connections() << " open";
    };
    run_until(warm_up);
    rss_warm = resident_kb();
    run_until(total);
    rss_end = resident_kb();
    fds_idle_after = test::open_fd_count();
    totals = server.totals();
    kept = server.handshakes().size();
    server.close();
  }
  // Exactly as before, within a bounded wait: the last clients' sockets are closed by now, but a
  // sanitizer runtime may hold a file of its own (/proc/self/maps) open for a moment.
  std::size_t fds_after = 0;
  EXPECT_TRUE(wait_until([&] { return (fds_after = test::open_fd_count()) == fds_before; }, 2s))
      << fds_before << " descriptors before the server started, " << fds_after << " after it stopped";
  EXPECT_EQ(fds_idle_after, fds_idle) << "an idle server holds the descriptors it held before the soak";
  EXPECT_EQ(totals.connections, total) << totals;
  EXPECT_EQ(totals.ok, total) << totals;
  EXPECT_EQ(kept, std::min(total, harness::server_options{}.max_handshake_records));

  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "soak: " << total << " handshakes in " << seconds << " s; VmRSS " << rss_warm << " kB after "
            << warm_up << ", " << rss_end << " kB at the end (" << static_cast<long long>(rss_end) - static_cast<long long>(rss_warm)
            << " kB); descriptors " << fds_before << " before, " << fds_idle << " idle, " << fds_after << " after\n";
  if (kSanitized)
    GTEST_SKIP() << "RSS not checked: the sanitizer's shadow memory and quarantine grow RSS without a leak "
                    "(descriptors were checked)";
  EXPECT_LE(rss_end, rss_warm + 1024) << "VmRSS grew by " << rss_end - rss_warm << " kB over " << total - warm_up
                                      << " handshakes after the warm-up";
}

}  // namespace
}  // namespace tlsfix::fault
