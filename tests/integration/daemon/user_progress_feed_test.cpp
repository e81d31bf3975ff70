// The UserProgressFeed against a real database: a first watch publishes at
// once (also for a user without data), users_changed republishes watched
// users only, with changed_at, unwatching is counted, and the timer refreshes.

#include "test_database.hpp"

#include "daemon/user_progress_feed.hpp"
#include "dm/ingest/ingest.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <thread>

using dm::daemon::UserProgressFeed;
using dm::daemon::UserProgressFeedOptions;
using dm::dashboard::SnapshotCache;
using dm::test::TestDatabase;
using dm::util::Micros;
using namespace std::chrono_literals;

namespace {

template <typename F>
bool wait_for(F done, std::chrono::milliseconds limit = 10s)
{
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

dm::db::Database::Options url_options(const TestDatabase& db)
{
  dm::db::Database::Options o;
  o.url = db.url();
  return o;
}

/// `answers` answered questions of `user` (all correct).
void answer(TestDatabase& db, std::int64_t user, int answers)
{
  std::string csv = "ts,user_id,session_id,kind,topic,correct,answer_ms,score\n";
  for (int i = 0; i < answers; ++i)
    csv += fmt::format("2026-11-02T08:{:02}:00Z,{},{},question_answered,Vorfahrt,true,4000,\n", i, user, user);
  dm::db::PgConnection raw(db.url());
  dm::ingest::IngestOptions o;
  o.kind = dm::ingest::Kind::learning;
  dm::ingest::ingest_buffer(raw, "test", std::move(csv), o);
}

std::uint64_t seq(const SnapshotCache& cache, std::int64_t user)
{
  const auto s = cache.get(UserProgressFeed::snapshot_key(user));
  return s ? s->seq : 0;
}

boost::json::value body(const SnapshotCache& cache, std::int64_t user)
{
  const auto s = cache.get(UserProgressFeed::snapshot_key(user));
  REQUIRE(s);
  return boost::json::parse(*s->body);
}

std::int64_t answered(const SnapshotCache& cache, std::int64_t user)
{
  return body(cache, user).at("totals").at("answered").as_int64();
}

UserProgressFeedOptions slow_options()
{
  UserProgressFeedOptions o;
  o.every = 1h;
  o.clock = [] { return *dm::util::parse_rfc3339("2026-11-02T10:00:00Z"); };
  return o;
}

} // namespace

TEST_CASE("user progress feed: the key names the user", "[daemon][feed]")
{
  CHECK(UserProgressFeed::snapshot_key(42) == "user_progress:42");
  CHECK(UserProgressFeed::snapshot_key(-1) == "user_progress:-1");
}

TEST_CASE("user progress feed: a first watch publishes at once, also without data", "[daemon][feed]")
{
  TestDatabase db;
  answer(db, 1, 2);
  const dm::db::Database database(url_options(db));
  SnapshotCache cache;
  UserProgressFeed feed(database, cache, slow_options());
  feed.start();

  feed.watch(1);
  REQUIRE(wait_for([&] { return seq(cache, 1) == 1; }));
  CHECK(answered(cache, 1) == 2);
  CHECK(body(cache, 1).at("user_id") == 1);
  CHECK(cache.get(UserProgressFeed::snapshot_key(1))->changed_at == 0);

  // A user nobody has heard of: the same shape, zeros, no error.
  feed.watch(99);
  REQUIRE(wait_for([&] { return seq(cache, 99) == 1; }));
  const auto empty = body(cache, 99);
  const auto full = body(cache, 1);
  CHECK(empty.at("user_id") == 99);
  CHECK(empty.at("topics").as_array().empty());
  CHECK(empty.at("totals").at("answered") == 0);
  CHECK(empty.at("last_activity").is_null());
  for (const auto& [key, value] : full.as_object()) {
    INFO(key);
    CHECK(empty.as_object().contains(key));
  }
  CHECK(empty.as_object().size() == full.as_object().size());
  CHECK(feed.watched() == 2);

  // A second watcher of the same user computes nothing more.
  feed.watch(1);
  std::this_thread::sleep_for(200ms);
  CHECK(seq(cache, 1) == 1);
}

TEST_CASE("user progress feed: changes republish watched users only, with changed_at", "[daemon][feed]")
{
  TestDatabase db;
  answer(db, 1, 2);
  answer(db, 3, 1);
  const dm::db::Database database(url_options(db));
  SnapshotCache cache;
  UserProgressFeed feed(database, cache, slow_options());
  feed.start();
  feed.watch(1);
  feed.watch(2);
  REQUIRE(wait_for([&] { return seq(cache, 1) == 1 && seq(cache, 2) == 1; }));

  answer(db, 1, 3);
  answer(db, 3, 1);
  feed.users_changed({1, 3}, false, 12345);
  REQUIRE(wait_for([&] { return seq(cache, 1) == 2; }));
  CHECK(answered(cache, 1) == 5);
  CHECK(cache.get(UserProgressFeed::snapshot_key(1))->changed_at == 12345);
  std::this_thread::sleep_for(200ms);
  CHECK(seq(cache, 2) == 1);  // not named
  CHECK(seq(cache, 3) == 0);  // not watched
  CHECK(seq(cache, 1) == 2);

  feed.users_changed({3, 4}, false, 20000);
  std::this_thread::sleep_for(200ms);
  CHECK(seq(cache, 1) == 2);
  CHECK(seq(cache, 2) == 1);
  CHECK(seq(cache, 3) == 0);

  // "Every user": every watched one, once.
  feed.users_changed({}, true, 30000);
  REQUIRE(wait_for([&] { return seq(cache, 1) == 3 && seq(cache, 2) == 2; }));
  CHECK(cache.get(UserProgressFeed::snapshot_key(2))->changed_at == 30000);
  std::this_thread::sleep_for(200ms);
  CHECK(seq(cache, 1) == 3);
  CHECK(seq(cache, 3) == 0);
}

TEST_CASE("user progress feed: watchers are counted; the last unwatch stops updates", "[daemon][feed]")
{
  TestDatabase db;
  answer(db, 5, 1);
  const dm::db::Database database(url_options(db));
  SnapshotCache cache;
  UserProgressFeed feed(database, cache, slow_options());
  feed.start();
  feed.watch(5);
  feed.watch(5);
  REQUIRE(wait_for([&] { return seq(cache, 5) == 1; }));

  feed.unwatch(5);
  CHECK(feed.watched() == 1);
  feed.users_changed({5}, false, 1);
  REQUIRE(wait_for([&] { return seq(cache, 5) == 2; }));

  feed.unwatch(5);
  CHECK(feed.watched() == 0);
  CHECK(cache.get(UserProgressFeed::snapshot_key(5)) == nullptr);
  feed.users_changed({5}, false, 2);
  feed.users_changed({}, true, 3);
  std::this_thread::sleep_for(300ms);
  CHECK(cache.get(UserProgressFeed::snapshot_key(5)) == nullptr);
  feed.unwatch(5); // not watched: nothing happens
  CHECK(feed.watched() == 0);

  // Watched again: a fresh stream.
  feed.watch(5);
  REQUIRE(wait_for([&] { return seq(cache, 5) == 1; }));
}

TEST_CASE("user progress feed: watched users refresh on the interval by themselves", "[daemon][feed]")
{
  TestDatabase db;
  const dm::db::Database database(url_options(db));
  SnapshotCache cache;
  UserProgressFeedOptions options = slow_options();
  options.every = 100ms;
  UserProgressFeed feed(database, cache, options);
  feed.start();
  feed.watch(8);
  REQUIRE(wait_for([&] { return seq(cache, 8) >= 3; }, 5s));
  CHECK(cache.get(UserProgressFeed::snapshot_key(8))->changed_at == 0);
  feed.stop();
  const auto stopped_at = seq(cache, 8);
  std::this_thread::sleep_for(300ms);
  CHECK(seq(cache, 8) == stopped_at);
}
