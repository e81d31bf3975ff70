#include "dm/auth/rate_limiter.hpp"
#include "dm/util/error.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <atomic>
#include <thread>
#include <vector>

using dm::auth::RateLimiter;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

const Clock::time_point t0 = Clock::time_point{} + 1000h;

int allowed_in_a_row(RateLimiter& limiter, std::string_view key, Clock::time_point at, int attempts = 1000)
{
  int allowed = 0;
  for (int i = 0; i < attempts; ++i)
    allowed += limiter.take(key, at).allowed ? 1 : 0;
  return allowed;
}

} // namespace

TEST_CASE("a new key gets its burst, then is refused", "[auth][ratelimit]")
{
  RateLimiter limiter(2, 5);
  for (int i = 0; i < 5; ++i) {
    const auto d = limiter.take("alice", t0);
    CHECK(d.allowed);
    CHECK(d.retry_after_s == 0);
  }
  const auto denied = limiter.take("alice", t0);
  CHECK_FALSE(denied.allowed);
  CHECK(denied.retry_after_s == Approx(0.5));
}

TEST_CASE("retry_after is the time until the next token", "[auth][ratelimit]")
{
  RateLimiter limiter(4, 1);
  REQUIRE(limiter.take("k", t0).allowed);
  CHECK(limiter.take("k", t0).retry_after_s == Approx(0.25));
  const auto later = limiter.take("k", t0 + 100ms);
  CHECK_FALSE(later.allowed);
  CHECK(later.retry_after_s == Approx(0.15));
  // Refused requests take nothing: waiting exactly retry_after is enough.
  CHECK_FALSE(limiter.take("k", t0 + 249ms).allowed);
  CHECK(limiter.take("k", t0 + 250ms).allowed);
  CHECK(limiter.take("k", t0 + 250ms).retry_after_s == Approx(0.25));
}

TEST_CASE("buckets refill at rps up to burst", "[auth][ratelimit]")
{
  RateLimiter limiter(10, 20);
  CHECK(allowed_in_a_row(limiter, "k", t0) == 20);
  // 1.5 s later: 15 tokens.
  CHECK(allowed_in_a_row(limiter, "k", t0 + 1500ms) == 15);
  // Long idle: capped at the burst, not 10 * 3600.
  CHECK(allowed_in_a_row(limiter, "k", t0 + 1h) == 20);
  // Fractional rates accumulate: 0.5 tokens per second needs 2 s per request.
  RateLimiter slow(0.5, 1);
  CHECK(slow.take("k", t0).allowed);
  CHECK_FALSE(slow.take("k", t0 + 1999ms).allowed);
  CHECK(slow.take("k", t0 + 2s).allowed);
}

TEST_CASE("a clock reading older than the bucket's adds nothing", "[auth][ratelimit]")
{
  RateLimiter limiter(1, 1);
  CHECK(limiter.take("k", t0 + 10s).allowed);
  CHECK_FALSE(limiter.take("k", t0).allowed);
  CHECK_FALSE(limiter.take("k", t0 + 10s).allowed);
  CHECK(limiter.take("k", t0 + 11s).allowed);
}

TEST_CASE("keys have their own buckets", "[auth][ratelimit]")
{
  RateLimiter limiter(1, 3);
  CHECK(allowed_in_a_row(limiter, "alice", t0) == 3);
  CHECK(allowed_in_a_row(limiter, "bob", t0) == 3);
  CHECK(allowed_in_a_row(limiter, "alice", t0) == 0);
  CHECK(limiter.size() == 2);
}

TEST_CASE("rps <= 0 is unlimited and keeps nothing", "[auth][ratelimit]")
{
  RateLimiter limiter(0, 0);
  CHECK(limiter.unlimited());
  CHECK(allowed_in_a_row(limiter, "k", t0, 10000) == 10000);
  CHECK(limiter.size() == 0);
  CHECK_THROWS_AS(RateLimiter(1, 0.5), dm::UsageError);
  CHECK_THROWS_AS(RateLimiter(1, 1, 0), dm::UsageError);
}

TEST_CASE("memory stays bounded at max_keys", "[auth][ratelimit]")
{
  for (const std::size_t max_keys : {std::size_t{1}, std::size_t{100}, std::size_t{5000}}) {
    RateLimiter limiter(1, 10, max_keys);
    for (int i = 0; i < 20000; ++i) {
      limiter.take(fmt::format("10.0.{}.{}", i / 256, i % 256), t0 + std::chrono::milliseconds(i % 7));
      if (i % 1000 == 0)
        REQUIRE(limiter.size() <= max_keys);
    }
    CHECK(limiter.size() == max_keys);
  }
}

TEST_CASE("making room drops full buckets first, then the one nearest to full", "[auth][ratelimit]")
{
  RateLimiter limiter(1, 10, 3);
  // a: emptied; b: 9 of 10 left; c: emptied later.
  CHECK(allowed_in_a_row(limiter, "a", t0) == 10);
  CHECK(limiter.take("b", t0).allowed);
  CHECK(allowed_in_a_row(limiter, "c", t0 + 5s) == 10);
  REQUIRE(limiter.size() == 3);

  // b has been full again since t0 + 1 s (1 token missing, 1 per second):
  // dropping it is lossless, so it goes, and a is kept although it was used first.
  CHECK(limiter.take("d", t0 + 6s).allowed);
  CHECK(limiter.size() == 3);
  CHECK(allowed_in_a_row(limiter, "a", t0 + 6s) == 6); // refilled 6 in 6 s, not forgotten
  // Now nothing is full. Of a (empty at t0 + 6 s), c (1 of 10) and d (9 of
  // 10): d is nearest to full and is the one forgotten for e.
  CHECK(limiter.take("e", t0 + 6s).allowed);
  CHECK(limiter.size() == 3);
  CHECK(allowed_in_a_row(limiter, "c", t0 + 6s) == 1);
  CHECK(allowed_in_a_row(limiter, "a", t0 + 6s) == 0);
  // d was forgotten: it starts over with a full bucket.
  CHECK(allowed_in_a_row(limiter, "d", t0 + 6s) == 10);
}

TEST_CASE("concurrent takes never exceed burst + rps * elapsed", "[auth][ratelimit]")
{
  constexpr double rps = 2000;
  constexpr double burst = 50;
  RateLimiter limiter(rps, burst, 4096);
  std::atomic<long> allowed_shared{0};
  std::atomic<long> allowed_own{0};
  std::atomic<bool> go{false};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      while (!go)
        std::this_thread::yield();
      const std::string own = fmt::format("own-{}", t);
      for (int i = 0; i < 20000; ++i) {
        if (limiter.take("shared", Clock::now()).allowed)
          ++allowed_shared;
        if (limiter.take(own, Clock::now()).allowed)
          ++allowed_own;
      }
    });
  go = true;
  for (auto& t : threads)
    t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  INFO("elapsed " << elapsed << " s, shared " << allowed_shared << ", own " << allowed_own);
  CHECK(static_cast<double>(allowed_shared.load()) <= burst + rps * elapsed);
  CHECK(static_cast<double>(allowed_own.load()) <= 4 * (burst + rps * elapsed));
  // 80000 attempts per key group in well under 40 s: the limit did bite.
  CHECK(allowed_shared < 80000);
  CHECK(allowed_shared >= static_cast<long>(burst));
  CHECK(limiter.size() == 5);
}
