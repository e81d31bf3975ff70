// The snapshot cache: seq per dashboard, serialise once, subscribers after
// each publish outside the lock, in seq order under concurrent publishers.

#include "dm/dashboard/snapshot_cache.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

using dm::dashboard::Snapshot;
using dm::dashboard::SnapshotCache;

TEST_CASE("snapshot cache: nothing before the first publish, then seq 1, 2, ... per dashboard", "[dashboard]")
{
  SnapshotCache cache;
  CHECK(cache.get("system_performance") == nullptr);

  const auto a1 = cache.publish("system_performance", {{"requests", 5}}, 1000);
  REQUIRE(a1);
  CHECK(a1->seq == 1);
  CHECK(a1->ts == 1000);
  CHECK(a1->dashboard == "system_performance");
  CHECK(*a1->body == R"({"requests":5})");
  CHECK(cache.get("system_performance") == a1);
  CHECK(cache.get("business_kpis") == nullptr);

  const auto b1 = cache.publish("business_kpis", {{"kpis", boost::json::object{}}}, 1500);
  CHECK(b1->seq == 1);
  const auto a2 = cache.publish("system_performance", {{"requests", 7}}, 2000);
  CHECK(a2->seq == 2);
  CHECK(boost::json::parse(*cache.get("system_performance")->body).at("requests").as_int64() == 7);
  CHECK(cache.get("business_kpis") == b1);
  // The earlier snapshot is untouched: readers holding it keep a consistent value.
  CHECK(*a1->body == R"({"requests":5})");
}

TEST_CASE("snapshot cache: subscribers get the published snapshot itself, until unsubscribed", "[dashboard]")
{
  SnapshotCache cache;
  std::vector<std::shared_ptr<const Snapshot>> seen_a, seen_b;
  const auto ta = cache.subscribe([&](std::shared_ptr<const Snapshot> s) { seen_a.push_back(std::move(s)); });
  const auto tb = cache.subscribe([&](std::shared_ptr<const Snapshot> s) { seen_b.push_back(std::move(s)); });
  CHECK(ta != tb);

  const auto s1 = cache.publish("alerts", {{"alerts", boost::json::array{}}}, 1);
  REQUIRE(seen_a.size() == 1);
  REQUIRE(seen_b.size() == 1);
  CHECK(seen_a[0] == s1);
  CHECK(seen_b[0] == s1);
  CHECK(seen_a[0]->body == seen_b[0]->body); // one buffer for everyone

  cache.unsubscribe(ta);
  cache.unsubscribe(12345); // unknown: ignored
  cache.publish("alerts", {{"alerts", boost::json::array{}}}, 2);
  CHECK(seen_a.size() == 1);
  REQUIRE(seen_b.size() == 2);
  CHECK(seen_b[1]->seq == 2);
}

TEST_CASE("snapshot cache: a subscriber may read and unsubscribe from inside its callback", "[dashboard]")
{
  SnapshotCache cache;
  SnapshotCache::Token token = 0;
  int calls = 0;
  std::uint64_t seen_seq = 0;
  token = cache.subscribe([&](std::shared_ptr<const Snapshot> s) {
    ++calls;
    seen_seq = cache.get(s->dashboard)->seq; // would deadlock if called under the lock
    cache.unsubscribe(token);
  });
  cache.publish("system_performance", {}, 1);
  cache.publish("system_performance", {}, 2);
  CHECK(calls == 1);
  CHECK(seen_seq == 1);
}

TEST_CASE("snapshot cache: concurrent publishers, every subscriber sees each dashboard's seq in order", "[dashboard]")
{
  SnapshotCache cache;
  std::mutex m;
  std::map<std::string, std::vector<std::uint64_t>> seen;
  cache.subscribe([&](std::shared_ptr<const Snapshot> s) {
    const std::lock_guard lock(m);
    seen[s->dashboard].push_back(s->seq);
  });
  constexpr int per_thread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&cache, t] {
      const char* name = t % 2 == 0 ? "system_performance" : "alerts";
      for (int i = 0; i < per_thread; ++i)
        cache.publish(name, {{"i", i}}, i);
    });
  for (auto& t : threads)
    t.join();
  for (const char* name : {"system_performance", "alerts"}) {
    const auto& seqs = seen[name];
    REQUIRE(seqs.size() == 2 * per_thread);
    for (std::size_t i = 0; i < seqs.size(); ++i)
      CHECK(seqs[i] == i + 1);
    CHECK(cache.get(name)->seq == 2 * per_thread);
  }
}
