#include "dm/auth/connection_limiter.hpp"
#include "dm/util/error.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <atomic>
#include <thread>
#include <vector>

using dm::auth::ConnectionLimiter;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

const Clock::time_point t0 = Clock::time_point{} + 1000h;

} // namespace

TEST_CASE("at most max_per_ip connections are open per address", "[auth][connlimit]")
{
  ConnectionLimiter limiter(3, 0, 0, 100);
  for (int i = 0; i < 3; ++i)
    CHECK(limiter.try_acquire("10.0.0.1", t0));
  CHECK_FALSE(limiter.try_acquire("10.0.0.1", t0));
  CHECK(limiter.open("10.0.0.1") == 3);
  // Other addresses are not affected.
  CHECK(limiter.try_acquire("10.0.0.2", t0));
  CHECK(limiter.open("10.0.0.2") == 1);
  // One closes, one more may open.
  limiter.release("10.0.0.1");
  CHECK(limiter.open("10.0.0.1") == 2);
  CHECK(limiter.try_acquire("10.0.0.1", t0));
  CHECK_FALSE(limiter.try_acquire("10.0.0.1", t0));
  // Releasing more than was acquired does not go below zero or grant extra.
  for (int i = 0; i < 5; ++i)
    limiter.release("10.0.0.1");
  CHECK(limiter.open("10.0.0.1") == 0);
  limiter.release("never-seen");
  CHECK(limiter.open("never-seen") == 0);
  for (int i = 0; i < 3; ++i)
    CHECK(limiter.try_acquire("10.0.0.1", t0));
  CHECK_FALSE(limiter.try_acquire("10.0.0.1", t0));
}

TEST_CASE("new connections per address follow a token bucket", "[auth][connlimit]")
{
  ConnectionLimiter limiter(0, 2, 4, 100);
  int opened = 0;
  for (int i = 0; i < 10; ++i)
    if (limiter.try_acquire("10.0.0.1", t0)) {
      ++opened;
      limiter.release("10.0.0.1"); // closed at once: only the rate matters
    }
  CHECK(opened == 4);
  CHECK_FALSE(limiter.try_acquire("10.0.0.1", t0 + 499ms));
  CHECK(limiter.try_acquire("10.0.0.1", t0 + 500ms));
  CHECK(limiter.try_acquire("10.0.0.2", t0));
  CHECK_THROWS_AS(ConnectionLimiter(0, 1, 0.5, 10), dm::UsageError);
  CHECK_THROWS_AS(ConnectionLimiter(1, 1, 1, 0), dm::UsageError);
}

TEST_CASE("a refusal by the cap takes no token", "[auth][connlimit]")
{
  ConnectionLimiter limiter(1, 1, 2, 100);
  CHECK(limiter.try_acquire("ip", t0));
  for (int i = 0; i < 10; ++i)
    CHECK_FALSE(limiter.try_acquire("ip", t0));
  limiter.release("ip");
  // One token remains of the burst of 2.
  CHECK(limiter.try_acquire("ip", t0));
  limiter.release("ip");
  CHECK_FALSE(limiter.try_acquire("ip", t0));
}

TEST_CASE("addresses with open connections are kept; idle ones make room", "[auth][connlimit]")
{
  ConnectionLimiter limiter(10, 1, 5, 3);
  CHECK(limiter.try_acquire("busy", t0));
  // idle-a misses 1 token (full again at t0 + 1 s), idle-b 3 (at t0 + 3 s).
  CHECK(limiter.try_acquire("idle-a", t0));
  limiter.release("idle-a");
  for (int i = 0; i < 3; ++i)
    CHECK(limiter.try_acquire("idle-b", t0));
  for (int i = 0; i < 3; ++i)
    limiter.release("idle-b");
  REQUIRE(limiter.size() == 3);

  // Nothing is full yet: a new address forgets the idle address nearest to
  // full (idle-a), never the busy one.
  CHECK(limiter.try_acquire("new-1", t0 + 500ms));
  CHECK(limiter.size() == 3);
  CHECK(limiter.open("busy") == 1);
  CHECK(limiter.open("new-1") == 1);
  // idle-b was kept with its 2.5 tokens: two more connections, not five.
  CHECK(limiter.try_acquire("idle-b", t0 + 500ms));
  CHECK(limiter.try_acquire("idle-b", t0 + 500ms));
  CHECK_FALSE(limiter.try_acquire("idle-b", t0 + 500ms));
  limiter.release("idle-b");
  limiter.release("idle-b");
  CHECK(limiter.size() == 3);

  // With every kept address busy, a new address is refused (bounded memory)
  // until one closes.
  CHECK(limiter.try_acquire("new-2", t0 + 2s));
  CHECK(limiter.size() == 3);
  CHECK_FALSE(limiter.try_acquire("new-3", t0 + 2s));
  CHECK(limiter.open("new-3") == 0);
  limiter.release("new-2");
  CHECK(limiter.try_acquire("new-3", t0 + 3s));
  CHECK(limiter.open("busy") == 1);
  CHECK(limiter.open("new-1") == 1);
  CHECK(limiter.open("new-3") == 1);
  CHECK(limiter.size() == 3);
}

TEST_CASE("memory stays bounded under many addresses", "[auth][connlimit]")
{
  ConnectionLimiter limiter(4, 10, 10, 2000);
  for (int i = 0; i < 50000; ++i) {
    const auto ip = fmt::format("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256);
    if (limiter.try_acquire(ip, t0 + std::chrono::milliseconds(i)))
      limiter.release(ip);
  }
  CHECK(limiter.size() <= 2000);
  CHECK(limiter.size() > 0);
}

TEST_CASE("concurrent acquires never exceed the cap or the rate", "[auth][connlimit]")
{
  constexpr std::size_t cap = 8;
  constexpr double rate = 1000;
  constexpr double burst = 20;
  ConnectionLimiter limiter(cap, rate, burst, 4096);
  std::atomic<int> open_now{0};
  std::atomic<int> peak{0};
  std::atomic<long> accepted{0};
  std::atomic<bool> go{false};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      while (!go)
        std::this_thread::yield();
      std::vector<int> held;
      for (int i = 0; i < 20000; ++i) {
        if (limiter.try_acquire("203.0.113.9", Clock::now())) {
          ++accepted;
          const int now_open = ++open_now;
          int seen = peak.load();
          while (now_open > seen && !peak.compare_exchange_weak(seen, now_open)) {
          }
          held.push_back(1);
        }
        if (held.size() > 2 || (!held.empty() && i % 3 == 0)) {
          held.pop_back();
          --open_now;
          limiter.release("203.0.113.9");
        }
      }
      for (std::size_t k = 0; k < held.size(); ++k) {
        --open_now;
        limiter.release("203.0.113.9");
      }
    });
  go = true;
  for (auto& t : threads)
    t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  INFO("elapsed " << elapsed << " s, accepted " << accepted << ", peak " << peak);
  CHECK(peak <= static_cast<int>(cap));
  CHECK(static_cast<double>(accepted.load()) <= burst + rate * elapsed);
  CHECK(accepted >= static_cast<long>(burst));
  CHECK(limiter.open("203.0.113.9") == 0);
}
