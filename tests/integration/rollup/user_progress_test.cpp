// The user progress rollups (user_topic_totals, user_active_days) equal the
// same aggregates computed by plain SQL over dm.learning_events, after one
// file, after files that add to the same user, topic and day, and after two
// ingests into the same users at once.

#include "temp_file.hpp"
#include "test_database.hpp"

#include "dm/ingest/ingest.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <thread>

using dm::ingest::IngestOptions;
using dm::ingest::Kind;
using dm::test::TempFile;
using dm::test::TestDatabase;

namespace {

void ingest(TestDatabase& db, const std::string& csv)
{
  TempFile file(csv);
  dm::db::PgConnection conn(db.url());
  IngestOptions o;
  o.kind = Kind::learning;
  dm::ingest::ingest_file(conn, file.path(), o);
}

/// Rows that differ between each rollup and its definition over the raw rows
/// (0 when they are equal), as "topic_totals,active_days".
std::string differences(TestDatabase& db)
{
  return db.scalar(R"(
    WITH topic_raw AS (
      SELECT user_id, topic, count(*) AS answered, count(*) FILTER (WHERE correct) AS correct,
             coalesce(sum(answer_ms), 0) AS sum_answer_ms, count(answer_ms) AS timed,
             min(ts) AS first_ts, max(ts) AS last_ts
      FROM dm.learning_events WHERE kind = 'question_answered' AND topic <> '' GROUP BY 1, 2),
    topic_rollup AS (
      SELECT user_id, topic, answered, correct, sum_answer_ms, timed, first_ts, last_ts FROM dm.user_topic_totals),
    day_raw AS (
      SELECT user_id, (ts AT TIME ZONE 'UTC')::date AS day, count(*) AS events,
             count(*) FILTER (WHERE kind = 'question_answered') AS answered,
             count(*) FILTER (WHERE kind = 'question_answered' AND correct) AS correct,
             count(*) FILTER (WHERE kind = 'mock_test_completed') AS mock_attempts,
             count(*) FILTER (WHERE kind = 'mock_test_completed' AND score >= 0.86) AS mock_passes,
             max(ts) AS last_ts
      FROM dm.learning_events GROUP BY 1, 2),
    day_rollup AS (
      SELECT user_id, day, events::bigint, answered::bigint, correct::bigint, mock_attempts::bigint,
             mock_passes::bigint, last_ts FROM dm.user_active_days)
    SELECT concat_ws(',',
      (SELECT count(*) FROM ((SELECT * FROM topic_raw EXCEPT SELECT * FROM topic_rollup)
                             UNION ALL (SELECT * FROM topic_rollup EXCEPT SELECT * FROM topic_raw)) d),
      (SELECT count(*) FROM ((SELECT * FROM day_raw EXCEPT SELECT * FROM day_rollup)
                             UNION ALL (SELECT * FROM day_rollup EXCEPT SELECT * FROM day_raw)) d)))");
}

const char* first_file =
    "ts,user_id,session_id,kind,topic,correct,answer_ms,score\n"
    "2026-11-02T08:15:00Z,1,10,session_start,,,,\n"
    "2026-11-02T08:15:20Z,1,10,question_answered,Vorfahrt,true,4200,\n"
    "2026-11-02T08:15:50Z,1,10,question_answered,Vorfahrt,false,,\n"
    "2026-11-02T09:15:10+01:00,1,10,question_answered,Überholen,1,9000,\n"
    "2026-11-02T08:20:00Z,1,10,lesson_completed,Vorfahrt,,,\n"
    "2026-11-02T08:59:59Z,1,10,mock_test_completed,,,,0.9\n"
    "2026-11-02T23:59:59Z,1,12,question_answered,\"\",true,100,\n"
    "2026-11-03T00:00:00Z,1,12,question_answered,Vorfahrt,true,,\n"
    "2026-11-02T09:00:00Z,2,11,question_answered,Vorfahrt,0,3000,\n"
    "2026-11-02T09:30:00Z,2,11,mock_test_completed,,,,0.5\n"
    "2026-11-02T09:31:00Z,2,11,mock_test_completed,Vorfahrt,,,0.86\n"
    "2026-11-02T09:31:00Z,1,10,session_end,,,,\n";

} // namespace

TEST_CASE("user progress rollups equal the raw aggregates after one file", "[rollup][user_progress]")
{
  TestDatabase db;
  ingest(db, first_file);
  CHECK(differences(db) == "0,0");
  CHECK(db.scalar("SELECT count(*) FROM dm.user_topic_totals") == "3");
  CHECK(db.scalar("SELECT count(*) FROM dm.user_active_days") == "3");
  CHECK(db.scalar("SELECT concat_ws(',', answered, correct, sum_answer_ms, timed, first_ts, last_ts) "
                  "FROM dm.user_topic_totals WHERE user_id = 1 AND topic = 'Vorfahrt'") ==
        "3,2,4200,1,2026-11-02 08:15:20+00,2026-11-03 00:00:00+00");
  CHECK(db.scalar("SELECT concat_ws(',', events, answered, correct, mock_attempts, mock_passes, last_ts) "
                  "FROM dm.user_active_days WHERE user_id = 2") == "3,1,0,2,1,2026-11-02 09:31:00+00");
}

TEST_CASE("a second file adds to the same user, topic and day; the timestamps widen", "[rollup][user_progress]")
{
  TestDatabase db;
  ingest(db, first_file);
  // Earlier and later answers of user 1 in Vorfahrt, on the same UTC day, and a new user.
  ingest(db, "ts,user_id,session_id,kind,topic,correct,answer_ms,score\n"
             "2026-11-02T06:00:00Z,1,13,question_answered,Vorfahrt,true,500,\n"
             "2026-11-02T22:00:00Z,1,13,question_answered,Vorfahrt,false,700,\n"
             "2026-11-02T22:05:00Z,1,13,mock_test_completed,,,,0.95\n"
             "2026-11-04T10:00:00Z,3,14,question_answered,Schilder,true,900,\n");
  CHECK(differences(db) == "0,0");
  CHECK(db.scalar("SELECT concat_ws(',', answered, correct, sum_answer_ms, timed, first_ts, last_ts) "
                  "FROM dm.user_topic_totals WHERE user_id = 1 AND topic = 'Vorfahrt'") ==
        "5,3,5400,3,2026-11-02 06:00:00+00,2026-11-03 00:00:00+00");
  CHECK(db.scalar("SELECT concat_ws(',', events, answered, mock_attempts, mock_passes, last_ts) "
                  "FROM dm.user_active_days WHERE user_id = 1 AND day = '2026-11-02'") ==
        "11,6,2,2,2026-11-02 23:59:59+00");
  // The same file again doubles every count and leaves the timestamps.
  ingest(db, first_file);
  CHECK(differences(db) == "0,0");
}

TEST_CASE("two ingests into the same users at once both succeed and add up", "[rollup][user_progress]")
{
  TestDatabase db;
  auto make = [](int offset) {
    std::string csv = "ts,user_id,session_id,kind,topic,correct,answer_ms,score\n";
    for (int i = 0; i < 20000; ++i) {
      const bool mock = i % 97 == 0;
      csv += fmt::format("2026-11-{:02}T{:02}:{:02}:{:02}Z,{},{},{},T{},{},{},{}\n", 2 + i % 3, (i / 60) % 24, i % 60,
                         (i + offset) % 60, i % 400, i % 400 + 1000 * offset,
                         mock ? "mock_test_completed" : "question_answered", i % 7, mock ? "" : i % 3 == 0 ? "true" : "false",
                         mock ? "" : std::to_string(100 + i % 900), mock ? fmt::format("{:.2f}", (i % 100) / 100.0) : "");
    }
    return csv;
  };
  TempFile a(make(1)), b(make(2));
  std::exception_ptr error_a, error_b;
  auto run = [&db](const std::string& path, std::exception_ptr& error) {
    try {
      dm::db::PgConnection conn(db.url());
      IngestOptions o;
      o.kind = Kind::learning;
      dm::ingest::ingest_file(conn, path, o);
    } catch (...) {
      error = std::current_exception();
    }
  };
  std::thread ta(run, a.path(), std::ref(error_a)), tb(run, b.path(), std::ref(error_b));
  ta.join();
  tb.join();
  CHECK_FALSE(error_a);
  CHECK_FALSE(error_b);
  CHECK(db.scalar("SELECT count(*) FROM dm.learning_events") == "40000");
  CHECK(differences(db) == "0,0");
  CHECK(db.scalar("SELECT sum(events) FROM dm.user_active_days") == "40000");
}
