// The user progress cache: lifetime, bound on entries, one computation per
// user under concurrency, exceptions passed on and not cached.

#include "dm/dashboard/user_progress_cache.hpp"
#include "dm/util/error.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using dm::dashboard::UserProgressCache;
using dm::util::micros_per_second;

namespace {

/// A compute function that counts its calls and answers {"user_id": id, "n": call}.
auto counting(std::int64_t user_id, std::atomic<int>& calls)
{
  return [user_id, &calls] {
    const int n = ++calls;
    return boost::json::object{{"user_id", user_id}, {"n", n}};
  };
}

} // namespace

TEST_CASE("user progress cache: served within the lifetime, recomputed after it", "[dashboard]")
{
  UserProgressCache cache(60 * micros_per_second, 100);
  std::atomic<int> calls{0};
  const auto t0 = 1'000 * micros_per_second;
  const auto first = cache.get_or_compute(7, t0, counting(7, calls));
  CHECK(*first == R"({"user_id":7,"n":1})");
  CHECK(cache.get_or_compute(7, t0 + 60 * micros_per_second - 1, counting(7, calls)) == first);
  CHECK(calls == 1);
  const auto second = cache.get_or_compute(7, t0 + 60 * micros_per_second, counting(7, calls));
  CHECK(calls == 2);
  CHECK(*second == R"({"user_id":7,"n":2})");
  CHECK(cache.size() == 1);
}

TEST_CASE("user progress cache: users are kept apart, invalidate forgets one", "[dashboard]")
{
  UserProgressCache cache(60 * micros_per_second, 100);
  std::atomic<int> calls{0};
  const auto a = cache.get_or_compute(1, 0, counting(1, calls));
  const auto b = cache.get_or_compute(2, 0, counting(2, calls));
  CHECK(*a == R"({"user_id":1,"n":1})");
  CHECK(*b == R"({"user_id":2,"n":2})");
  cache.invalidate(1);
  CHECK(*cache.get_or_compute(1, 1, counting(1, calls)) == R"({"user_id":1,"n":3})");
  CHECK(cache.get_or_compute(2, 1, counting(2, calls)) == b);
  cache.clear();
  CHECK(cache.size() == 0);
}

TEST_CASE("user progress cache: the least recently used answer goes first", "[dashboard]")
{
  UserProgressCache cache(3600 * micros_per_second, 2);
  std::atomic<int> calls{0};
  cache.get_or_compute(1, 0, counting(1, calls));
  cache.get_or_compute(2, 0, counting(2, calls));
  cache.get_or_compute(1, 1, counting(1, calls)); // 1 is now the most recent
  CHECK(calls == 2);
  cache.get_or_compute(3, 2, counting(3, calls)); // evicts 2
  CHECK(calls == 3);
  CHECK(cache.size() == 2);
  cache.get_or_compute(1, 3, counting(1, calls));
  CHECK(calls == 3); // still cached
  cache.get_or_compute(2, 4, counting(2, calls));
  CHECK(calls == 4); // was evicted
  CHECK(cache.size() == 2);
}

TEST_CASE("user progress cache: concurrent requests for a missing user compute once", "[dashboard]")
{
  UserProgressCache cache(60 * micros_per_second, 100);
  std::atomic<int> calls{0};
  std::atomic<bool> go{false};
  const auto slow = [&calls] {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return boost::json::object{{"user_id", 42}};
  };
  constexpr int n = 8;
  std::vector<std::shared_ptr<const std::string>> results(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      while (!go)
        std::this_thread::yield();
      results[static_cast<std::size_t>(i)] = cache.get_or_compute(42, 0, slow);
    });
  go = true;
  for (auto& t : threads)
    t.join();
  CHECK(calls == 1);
  for (const auto& r : results) {
    REQUIRE(r);
    CHECK(r == results[0]);
  }
  CHECK(*results[0] == R"({"user_id":42})");
}

TEST_CASE("user progress cache: an exception reaches every waiter and is not cached", "[dashboard]")
{
  UserProgressCache cache(60 * micros_per_second, 100);
  std::atomic<int> calls{0};
  const auto failing = [&calls]() -> boost::json::object {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    throw dm::NotFound("user 9 has no learning activity");
  };
  std::atomic<int> not_found{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      try {
        cache.get_or_compute(9, 0, failing);
      } catch (const dm::NotFound&) {
        ++not_found;
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(not_found == 4);
  CHECK(calls >= 1);
  CHECK(calls <= 4);
  CHECK(cache.size() == 0);
  const int before = calls;
  CHECK_THROWS_AS(cache.get_or_compute(9, 1, failing), dm::NotFound);
  CHECK(calls == before + 1); // not cached
}

TEST_CASE("user progress cache: an answer begun before invalidate is handed out but not kept", "[dashboard]")
{
  UserProgressCache cache(60 * micros_per_second, 100);
  std::atomic<int> calls{0};
  std::atomic<bool> computing{false};
  std::atomic<bool> release{false};
  std::shared_ptr<const std::string> got;
  std::thread t([&] {
    got = cache.get_or_compute(5, 0, [&] {
      ++calls;
      computing = true;
      while (!release)
        std::this_thread::yield();
      return boost::json::object{{"old", true}};
    });
  });
  while (!computing)
    std::this_thread::yield();
  cache.invalidate(5);
  release = true;
  t.join();
  REQUIRE(got);
  CHECK(*got == R"({"old":true})");
  CHECK(cache.size() == 0);
  CHECK(*cache.get_or_compute(5, 1, [] { return boost::json::object{{"old", false}}; }) == R"({"old":false})");
}

TEST_CASE("user progress cache: a lifetime or bound of zero is refused", "[dashboard]")
{
  CHECK_THROWS_AS(UserProgressCache(0, 10), std::invalid_argument);
  CHECK_THROWS_AS(UserProgressCache(micros_per_second, 0), std::invalid_argument);
}
