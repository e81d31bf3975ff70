// The user progress dashboard against plain SQL over dm.learning_events:
// per topic, totals, streaks and last activity; unknown users; hand-made days.

#include "dashboard_fixtures.hpp"
#include "temp_file.hpp"

#include "dm/dashboard/user_progress.hpp"
#include "dm/ingest/ingest.hpp"
#include "dm/util/error.hpp"

#include <fmt/format.h>

#include <vector>

using dm::dashboard::compute_user_progress;
using dm::util::Micros;
using namespace dm::test::dashboard;

namespace {

/// Checks the dashboard of `user_id` as of `now` against plain SQL over the
/// raw learning events, independent of the user-first tables.
void check_against_events(dm::test::TestDatabase& db, std::int64_t user_id, Micros now)
{
  INFO("user " << user_id);
  const auto out = compute_user_progress(db.connection(), user_id, now);
  pqxx::nontransaction txn{db.connection()};
  CHECK(integer(out.at("user_id")) == user_id);

  const auto topics_sql = txn.exec_params(
      "SELECT topic, count(*), count(*) FILTER (WHERE correct), avg(answer_ms)::float8,"
      " (extract(epoch FROM max(ts)) * 1000000)::bigint"
      " FROM dm.learning_events WHERE user_id = $1 AND kind = 'question_answered' AND topic IS NOT NULL"
      " GROUP BY topic ORDER BY topic COLLATE \"C\"",
      user_id);
  const auto& topics = out.at("topics").as_array();
  REQUIRE(topics.size() == topics_sql.size());
  for (std::size_t i = 0; i < topics.size(); ++i) {
    const auto& t = topics[i].as_object();
    const auto& r = topics_sql[static_cast<pqxx::result::size_type>(i)];
    INFO("topic " << r[0].as<std::string>());
    CHECK(text(t.at("topic")) == r[0].as<std::string>());
    CHECK(integer(t.at("answered")) == r[1].as<std::int64_t>());
    CHECK(integer(t.at("correct")) == r[2].as<std::int64_t>());
    CHECK(close(num(t.at("accuracy")), r[2].as<double>() / r[1].as<double>()));
    CHECK(close(num(t.at("avg_answer_ms")), r[3].is_null() ? 0.0 : r[3].as<double>()));
    CHECK(instant(t.at("last_activity")) == r[4].as<Micros>());
  }

  const auto totals_sql = txn.exec_params1(
      "SELECT count(*) FILTER (WHERE kind = 'question_answered'),"
      " count(*) FILTER (WHERE kind = 'question_answered' AND correct),"
      " count(*) FILTER (WHERE kind = 'mock_test_completed'),"
      " count(*) FILTER (WHERE kind = 'mock_test_completed' AND score >= 0.86),"
      " (extract(epoch FROM max(ts)) * 1000000)::bigint"
      " FROM dm.learning_events WHERE user_id = $1",
      user_id);
  const auto& totals = out.at("totals").as_object();
  const auto answered = totals_sql[0].as<std::int64_t>();
  CHECK(integer(totals.at("answered")) == answered);
  CHECK(integer(totals.at("correct")) == totals_sql[1].as<std::int64_t>());
  CHECK(close(num(totals.at("accuracy")), answered == 0 ? 0.0 : totals_sql[1].as<double>() / static_cast<double>(answered)));
  CHECK(integer(totals.at("mock_tests")) == totals_sql[2].as<std::int64_t>());
  CHECK(integer(totals.at("mock_passes")) == totals_sql[3].as<std::int64_t>());
  if (totals_sql[4].is_null())
    CHECK(out.at("last_activity").is_null());
  else
    CHECK(instant(out.at("last_activity")) == totals_sql[4].as<Micros>());

  // Streaks as gaps and islands over the distinct UTC days up to today.
  const std::string today = dm::util::format_rfc3339_utc(now).substr(0, 10);
  const auto streaks_sql = txn.exec_params1(
      "WITH d AS (SELECT DISTINCT (ts AT TIME ZONE 'UTC')::date AS day FROM dm.learning_events"
      "           WHERE user_id = $1 AND (ts AT TIME ZONE 'UTC')::date <= $2::date),"
      " runs AS (SELECT max(day) AS last, count(*) AS len FROM"
      "          (SELECT day, day - (row_number() OVER (ORDER BY day))::int AS island FROM d) g GROUP BY island)"
      " SELECT coalesce((SELECT max(len) FILTER (WHERE last >= $2::date - 1) FROM runs), 0),"
      "        coalesce((SELECT max(len) FROM runs), 0),"
      "        (SELECT count(*) FROM d WHERE day > $2::date - 30)",
      user_id, today);
  CHECK(integer(out.at("streak_days")) == streaks_sql[0].as<std::int64_t>());
  CHECK(integer(out.at("longest_streak_days")) == streaks_sql[1].as<std::int64_t>());
  CHECK(integer(out.at("active_days_last_30")) == streaks_sql[2].as<std::int64_t>());
}

/// Inserts learning events with plain SQL: (ts, user_id, kind, topic, correct, answer_ms, score).
void insert_events(dm::test::TestDatabase& db, const std::string& values)
{
  pqxx::work txn{db.connection()};
  txn.exec0("INSERT INTO dm.learning_events (ts, user_id, kind, topic, correct, answer_ms, score) VALUES " + values);
  txn.commit();
}

} // namespace

TEST_CASE("user progress: seeded learners equal plain SQL over the raw events", "[dashboard]")
{
  // The seed loads through ingest, which fills the user-first tables itself.
  auto& db = seeded();
  REQUIRE(std::stoll(db.scalar("SELECT count(*) FROM dm.user_active_days")) > 1000);
  const Micros now = at("2026-11-08T14:30:00Z");
  // A spread of learners: the most active, some in the middle, the least
  // active, and some whose latest activity is today, yesterday or older.
  pqxx::nontransaction txn{db.connection()};
  std::vector<std::int64_t> users;
  for (const char* sql : {
           "SELECT user_id FROM dm.learning_events GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 5",
           "SELECT user_id FROM dm.learning_events GROUP BY user_id ORDER BY count(*), user_id LIMIT 5",
           "SELECT user_id FROM dm.learning_events GROUP BY user_id ORDER BY user_id LIMIT 5 OFFSET 300",
           "SELECT user_id FROM dm.learning_events WHERE ts >= '2026-11-08' AND ts < '2026-11-08T14:30:00Z'"
           " GROUP BY user_id ORDER BY user_id LIMIT 5",
           "SELECT user_id FROM dm.learning_events GROUP BY user_id"
           " HAVING max(ts) >= '2026-11-07' AND max(ts) < '2026-11-08' ORDER BY user_id LIMIT 5",
           "SELECT user_id FROM dm.learning_events GROUP BY user_id HAVING max(ts) < '2026-11-01' ORDER BY user_id LIMIT 5"})
    for (const auto& r : txn.exec(sql))
      users.push_back(r[0].as<std::int64_t>());
  txn.commit();
  REQUIRE(users.size() == 30);
  std::int64_t with_streak = 0;
  for (const std::int64_t u : users) {
    check_against_events(db, u, now);
    with_streak += compute_user_progress(db.connection(), u, now).at("streak_days").as_int64() > 0 ? 1 : 0;
  }
  CHECK(with_streak >= 5); // the sample does exercise live streaks
}

TEST_CASE("user progress: streaks on hand-made days", "[dashboard]")
{
  dm::test::TestDatabase db;
  insert_events(db,
                // user 1: Oct 30, 31, Nov 1, 2, 3 (5 days), then Nov 6, 7, 8 (now is Nov 8)
                "('2026-10-30T23:59:59Z', 1, 'question_answered', 'Vorfahrt', true, 4000, NULL),"
                "('2026-10-31T00:00:00Z', 1, 'question_answered', 'Vorfahrt', false, 6000, NULL),"
                "('2026-11-01T12:00:00Z', 1, 'session_start', NULL, NULL, NULL, NULL),"
                "('2026-11-02T12:00:00Z', 1, 'question_answered', 'Zeichen', true, NULL, NULL),"
                "('2026-11-03T12:00:00Z', 1, 'mock_test_completed', NULL, NULL, NULL, 0.9),"
                "('2026-11-06T08:00:00Z', 1, 'mock_test_completed', NULL, NULL, NULL, 0.5),"
                "('2026-11-07T08:00:00Z', 1, 'question_answered', 'Zeichen', false, 2000, NULL),"
                "('2026-11-08T07:00:00Z', 1, 'question_answered', 'Zeichen', true, 3000, NULL),"
                // user 2: Nov 5 and 6 only: the streak is broken by Nov 8
                "('2026-11-05T10:00:00Z', 2, 'question_answered', 'Vorfahrt', true, 1000, NULL),"
                "('2026-11-06T10:00:00Z', 2, 'question_answered', 'Vorfahrt', true, 1000, NULL),"
                // user 3: yesterday only, and an event after `now` on the same day
                "('2026-11-07T23:00:00Z', 3, 'lesson_completed', NULL, NULL, NULL, NULL),"
                "('2026-11-08T20:00:00Z', 3, 'question_answered', 'Vorfahrt', true, 1000, NULL)");
  backfill_user_progress(db.connection());
  const Micros now = at("2026-11-08T09:00:00Z");

  const auto u1 = compute_user_progress(db.connection(), 1, now);
  CHECK(integer(u1.at("streak_days")) == 3);
  CHECK(integer(u1.at("longest_streak_days")) == 5);
  CHECK(integer(u1.at("active_days_last_30")) == 8);
  CHECK(text(u1.at("last_activity")) == "2026-11-08T07:00:00Z");
  CHECK(text(u1.at("as_of")) == "2026-11-08T09:00:00Z");
  const auto& topics = u1.at("topics").as_array();
  REQUIRE(topics.size() == 2);
  CHECK(text(topics[0].at("topic")) == "Vorfahrt");
  CHECK(integer(topics[0].at("answered")) == 2);
  CHECK(num(topics[0].at("accuracy")) == 0.5);
  CHECK(num(topics[0].at("avg_answer_ms")) == 5000);
  CHECK(text(topics[0].at("last_activity")) == "2026-10-31T00:00:00Z");
  CHECK(text(topics[1].at("topic")) == "Zeichen");
  CHECK(integer(topics[1].at("answered")) == 3);
  CHECK(integer(topics[1].at("correct")) == 2);
  CHECK(num(topics[1].at("avg_answer_ms")) == 2500); // the untimed answer is left out
  CHECK(integer(u1.at("totals").at("answered")) == 5);
  CHECK(integer(u1.at("totals").at("mock_tests")) == 2);
  CHECK(integer(u1.at("totals").at("mock_passes")) == 1);
  CHECK(num(u1.at("totals").at("accuracy")) == 0.6);

  const auto u2 = compute_user_progress(db.connection(), 2, now);
  CHECK(integer(u2.at("streak_days")) == 0);
  CHECK(integer(u2.at("longest_streak_days")) == 2);

  const auto u3 = compute_user_progress(db.connection(), 3, now);
  CHECK(integer(u3.at("streak_days")) == 2); // yesterday and today (the day of `now`)
  CHECK(integer(u3.at("streak_days")) == integer(u3.at("longest_streak_days")));
  // A day later the same history still holds a streak ending yesterday.
  CHECK(integer(compute_user_progress(db.connection(), 3, at("2026-11-09T23:59:59Z")).at("streak_days")) == 2);
  CHECK(integer(compute_user_progress(db.connection(), 3, at("2026-11-10T00:00:00Z")).at("streak_days")) == 0);

  for (const std::int64_t u : {1, 2, 3})
    check_against_events(db, u, now);
}

TEST_CASE("user progress: a known user without activity, and an unknown user", "[dashboard]")
{
  dm::test::TestDatabase db;
  {
    pqxx::work txn{db.connection()};
    txn.exec0("INSERT INTO dm.users (user_id, signup_at, country, platform, channel)"
              " VALUES (41, '2026-11-01T10:00:00Z', 'DE', 'web', 'organic')");
    txn.commit();
  }
  const auto out = compute_user_progress(db.connection(), 41, at("2026-11-08T09:00:00Z"));
  CHECK(integer(out.at("user_id")) == 41);
  CHECK(out.at("topics").as_array().empty());
  CHECK(integer(out.at("totals").at("answered")) == 0);
  CHECK(num(out.at("totals").at("accuracy")) == 0);
  CHECK(integer(out.at("streak_days")) == 0);
  CHECK(integer(out.at("longest_streak_days")) == 0);
  CHECK(integer(out.at("active_days_last_30")) == 0);
  CHECK(out.at("last_activity").is_null());
  CHECK(boost::json::serialize(out).find("NaN") == std::string::npos);

  try {
    compute_user_progress(db.connection(), 42, at("2026-11-08T09:00:00Z"));
    FAIL("no NotFound for an unknown user");
  } catch (const dm::NotFound& e) {
    CHECK(std::string(e.what()) == "user 42 has no learning activity");
  }
  // The connection is still usable after the failed call.
  CHECK(integer(compute_user_progress(db.connection(), 41, at("2026-11-08T09:00:00Z")).at("user_id")) == 41);
}

TEST_CASE("user progress: what ingest writes, over two files, equals plain SQL over the raw events", "[dashboard]")
{
  dm::test::TestDatabase db;
  dm::db::PgConnection raw(db.url());
  dm::ingest::IngestOptions o;
  o.kind = dm::ingest::Kind::learning;
  // Offsets put local evenings on the next UTC day; the second file adds to
  // the same users, topics and days as the first.
  dm::test::TempFile first("ts,user_id,session_id,kind,topic,correct,answer_ms,score\n"
                           "2026-11-05T23:30:00-01:00,7,1,session_start,,,,\n"
                           "2026-11-05T23:31:00-01:00,7,1,question_answered,Vorfahrt,true,4000,\n"
                           "2026-11-05T23:32:00-01:00,7,1,question_answered,Vorfahrt,false,,\n"
                           "2026-11-06T10:00:00Z,7,2,question_answered,Überholen,true,3000,\n"
                           "2026-11-06T10:05:00Z,7,2,question_answered,,true,1000,\n"
                           "2026-11-06T10:10:00Z,7,2,mock_test_completed,,,,0.86\n"
                           "2026-11-04T09:00:00Z,8,3,question_answered,Zeichen,false,9000,\n");
  dm::ingest::ingest_file(raw, first.path(), o);
  dm::test::TempFile second(R"({"ts":"2026-11-07T08:00:00+01:00","user_id":7,"session_id":4,"kind":"question_answered","topic":"Vorfahrt","correct":true,"answer_ms":2000})"
                            "\n"
                            R"({"ts":"2026-11-08T07:59:59Z","user_id":7,"session_id":5,"kind":"mock_test_completed","score":0.5})"
                            "\n"
                            R"({"ts":"2026-11-06T12:00:00Z","user_id":8,"session_id":6,"kind":"question_answered","topic":"Zeichen","correct":true,"answer_ms":1000})"
                            "\n",
                            ".ndjson");
  dm::ingest::ingest_file(raw, second.path(), o);

  const Micros now = at("2026-11-08T09:00:00Z");
  for (const std::int64_t u : {7, 8})
    check_against_events(db, u, now);

  // The same numbers written out, so that a shared mistake of the SQL above
  // and the code under test would still show.
  const auto u7 = compute_user_progress(db.connection(), 7, now);
  CHECK(integer(u7.at("totals").at("answered")) == 5);
  CHECK(integer(u7.at("totals").at("correct")) == 4);
  CHECK(integer(u7.at("totals").at("mock_tests")) == 2);
  CHECK(integer(u7.at("totals").at("mock_passes")) == 1);
  const auto& topics = u7.at("topics").as_array();
  REQUIRE(topics.size() == 2);
  CHECK(text(topics[0].at("topic")) == "Vorfahrt");
  CHECK(integer(topics[0].at("answered")) == 3);
  CHECK(integer(topics[0].at("correct")) == 2);
  CHECK(num(topics[0].at("avg_answer_ms")) == 3000);
  CHECK(text(topics[0].at("last_activity")) == "2026-11-07T07:00:00Z");
  CHECK(text(topics[1].at("topic")) == "Überholen"); // bytewise after ASCII
  // UTC days 6 (the -01:00 evening of the 5th and the morning), 7 and 8.
  CHECK(integer(u7.at("streak_days")) == 3);
  CHECK(integer(u7.at("longest_streak_days")) == 3);
  CHECK(integer(u7.at("active_days_last_30")) == 3);
  CHECK(text(u7.at("last_activity")) == "2026-11-08T07:59:59Z");

  const auto u8 = compute_user_progress(db.connection(), 8, now);
  CHECK(integer(u8.at("streak_days")) == 0);
  CHECK(integer(u8.at("longest_streak_days")) == 1);
  CHECK(integer(u8.at("active_days_last_30")) == 2);
  CHECK(num(u8.at("topics").at(0).at("accuracy")) == 0.5);
  CHECK_THROWS_AS(compute_user_progress(db.connection(), 9, now), dm::NotFound);
}
