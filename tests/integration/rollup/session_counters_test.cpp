// The session counters of migration 0008 (learning_session_hours, the
// sessions columns of learning_user_hourly and user_active_days) and the
// activity hours of user_active_days equal their definitions over the raw
// rows: each session counted once, in the hour and UTC day of its first
// event, for the user of that event, with its span. Also when later files
// move a session's first or last event, when the same file comes twice and
// when two ingests extend the same sessions at once.

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

/// Rows that differ between each counter and its definition over the raw
/// rows, as "sessions,session_hours,user_hours,user_days,activity_hours";
/// "0,0,0,0,0" when all agree.
std::string differences(TestDatabase& db)
{
  return db.scalar(R"(
    WITH s AS (
      SELECT session_id, (array_agg(user_id ORDER BY ts))[1] AS user_id, min(ts) AS f, max(ts) AS l, count(*) AS events
      FROM dm.learning_events WHERE session_id IS NOT NULL GROUP BY session_id),
    sessions_raw AS (SELECT session_id, user_id, f, l, events FROM s),
    sessions_rollup AS (SELECT session_id, user_id, first_ts, last_ts, events FROM dm.learning_sessions),
    hours_raw AS (
      SELECT hour, sum(started) AS started, sum(ended) AS ended, sum(span_us) AS span_us FROM (
        SELECT date_trunc('hour', f AT TIME ZONE 'UTC') AS hour, 1 AS started, 0 AS ended,
               (extract(epoch FROM l - f) * 1000000)::int8 AS span_us FROM s
        UNION ALL SELECT date_trunc('hour', l AT TIME ZONE 'UTC'), 0, 1, 0 FROM s) x GROUP BY hour),
    hours_rollup AS (
      SELECT hour AT TIME ZONE 'UTC', started::numeric, ended::numeric, span_us::numeric FROM dm.learning_session_hours
      WHERE started <> 0 OR ended <> 0 OR span_us <> 0),
    user_hours_raw AS (
      SELECT date_trunc('hour', f AT TIME ZONE 'UTC') AS hour, user_id, count(*) AS n FROM s GROUP BY 1, 2),
    user_hours_rollup AS (
      SELECT hour AT TIME ZONE 'UTC', user_id, sessions::bigint FROM dm.learning_user_hourly WHERE sessions <> 0),
    user_days_raw AS (SELECT (f AT TIME ZONE 'UTC')::date AS day, user_id, count(*) AS n FROM s GROUP BY 1, 2),
    user_days_rollup AS (SELECT day, user_id, sessions::bigint FROM dm.user_active_days WHERE sessions <> 0),
    activity_raw AS (
      SELECT (ts AT TIME ZONE 'UTC')::date AS day, user_id, bit_or(1 << extract(hour FROM ts AT TIME ZONE 'UTC')::int) AS hours
      FROM dm.learning_events GROUP BY 1, 2),
    activity_rollup AS (SELECT day, user_id, hours FROM dm.user_active_days)
    SELECT concat_ws(',',
      (SELECT count(*) FROM ((SELECT * FROM sessions_raw EXCEPT SELECT * FROM sessions_rollup)
                             UNION ALL (SELECT * FROM sessions_rollup EXCEPT SELECT * FROM sessions_raw)) d),
      (SELECT count(*) FROM ((SELECT * FROM hours_raw EXCEPT SELECT * FROM hours_rollup)
                             UNION ALL (SELECT * FROM hours_rollup EXCEPT SELECT * FROM hours_raw)) d),
      (SELECT count(*) FROM ((SELECT * FROM user_hours_raw EXCEPT SELECT * FROM user_hours_rollup)
                             UNION ALL (SELECT * FROM user_hours_rollup EXCEPT SELECT * FROM user_hours_raw)) d),
      (SELECT count(*) FROM ((SELECT * FROM user_days_raw EXCEPT SELECT * FROM user_days_rollup)
                             UNION ALL (SELECT * FROM user_days_rollup EXCEPT SELECT * FROM user_days_raw)) d),
      (SELECT count(*) FROM ((SELECT * FROM activity_raw EXCEPT SELECT * FROM activity_rollup)
                             UNION ALL (SELECT * FROM activity_rollup EXCEPT SELECT * FROM activity_raw)) d)))");
}

/// Rollup rows that stand for no event (only rows that moved counters may
/// add, and those rows exist already when the data is consistent).
std::string empty_rows(TestDatabase& db)
{
  return db.scalar("SELECT (SELECT count(*) FROM dm.learning_user_hourly WHERE events = 0) + "
                   "(SELECT count(*) FROM dm.user_active_days WHERE events = 0)");
}

/// Keys held by more than one row of the hourly rollups, which have no
/// unique index: ingest keeps them unique under its advisory locks.
std::string duplicate_keys(TestDatabase& db)
{
  return db.scalar("SELECT (SELECT count(*) FROM (SELECT 1 FROM dm.learning_hourly GROUP BY hour, user_id, topic"
                   " HAVING count(*) > 1) d) + (SELECT count(*) FROM (SELECT 1 FROM dm.learning_user_hourly"
                   " GROUP BY hour, user_id HAVING count(*) > 1) d)");
}

const char* header = "ts,user_id,session_id,kind,topic,correct,answer_ms,score\n";

} // namespace

TEST_CASE("session counters equal the raw sessions after one file", "[rollup][session_counters]")
{
  TestDatabase db;
  ingest(db, std::string(header) +
                 // Session 10 crosses an hour, 11 a UTC midnight, 12 stays in one hour; 13 has a second user later.
                 "2026-11-02T08:50:00Z,1,10,session_start,,,,\n"
                 "2026-11-02T09:10:00Z,1,10,question_answered,Vorfahrt,true,4200,\n"
                 "2026-11-02T23:40:00Z,2,11,session_start,,,,\n"
                 "2026-11-03T00:20:00Z,2,11,session_end,,,,\n"
                 "2026-11-03T07:05:00Z,1,12,question_answered,Vorfahrt,false,,\n"
                 "2026-11-03T07:06:00Z,1,12,question_answered,Vorfahrt,true,100,\n"
                 "2026-11-03T10:00:00Z,3,13,session_start,,,,\n"
                 "2026-11-03T10:30:00Z,4,13,question_answered,Schilder,true,100,\n"
                 "2026-11-03T11:00:00Z,3,,lesson_completed,Schilder,,,\n");
  CHECK(differences(db) == "0,0,0,0,0");
  CHECK(empty_rows(db) == "0");
  CHECK(db.scalar("SELECT concat_ws(',', started, ended, span_us) FROM dm.learning_session_hours "
                  "WHERE hour = '2026-11-02T23:00Z'") == "1,0,2400000000");
  CHECK(db.scalar("SELECT concat_ws(',', hours, sessions) FROM dm.user_active_days WHERE user_id = 1 AND day = '2026-11-02'") ==
        fmt::format("{},1", (1 << 8) | (1 << 9)));
}

TEST_CASE("files that move a session's first or last event move its counters", "[rollup][session_counters]")
{
  TestDatabase db;
  const std::string first = std::string(header) +
                            "2026-11-02T10:10:00Z,1,10,session_start,,,,\n"
                            "2026-11-02T10:20:00Z,1,10,question_answered,Vorfahrt,true,100,\n"
                            "2026-11-02T23:50:00Z,2,11,session_start,,,,\n"
                            "2026-11-03T08:00:00Z,3,12,session_start,,,,\n"
                            "2026-11-03T08:05:00Z,3,12,session_end,,,,\n";
  ingest(db, first);
  CHECK(differences(db) == "0,0,0,0,0");
  // Session 10 now starts an hour and a UTC day earlier and ends later;
  // 11 reaches past midnight; 12 is unchanged; 14 is new.
  ingest(db, std::string(header) +
                 "2026-11-01T23:55:00Z,1,10,question_answered,Vorfahrt,false,200,\n"
                 "2026-11-02T11:15:00Z,1,10,session_end,,,,\n"
                 "2026-11-03T00:10:00Z,2,11,session_end,,,,\n"
                 "2026-11-03T08:03:00Z,3,12,question_answered,Schilder,true,300,\n"
                 "2026-11-04T12:00:00Z,4,14,session_start,,,,\n");
  CHECK(differences(db) == "0,0,0,0,0");
  CHECK(empty_rows(db) == "0");
  CHECK(db.scalar("SELECT sessions FROM dm.user_active_days WHERE user_id = 1 AND day = '2026-11-02'") == "0");
  CHECK(db.scalar("SELECT sessions FROM dm.user_active_days WHERE user_id = 1 AND day = '2026-11-01'") == "1");
  CHECK(db.scalar("SELECT sum(started) FROM dm.learning_session_hours") == "4");
  // The first file again: its events count twice, no span changes.
  ingest(db, first);
  CHECK(differences(db) == "0,0,0,0,0");
  CHECK(duplicate_keys(db) == "0");
  CHECK(db.scalar("SELECT sum(sessions) FROM dm.learning_user_hourly") == "4");
}

TEST_CASE("an earlier event of another user makes the session that user's", "[rollup][session_counters]")
{
  TestDatabase db;
  ingest(db, std::string(header) + "2026-11-02T10:10:00Z,1,10,session_start,,,,\n"
                                   "2026-11-02T10:20:00Z,1,10,session_end,,,,\n");
  ingest(db, std::string(header) + "2026-11-02T09:10:00Z,2,10,session_start,,,,\n");
  CHECK(differences(db) == "0,0,0,0,0");
  CHECK(db.scalar("SELECT user_id FROM dm.learning_sessions WHERE session_id = 10") == "2");
  CHECK(db.scalar("SELECT concat_ws(',', user_id, sessions) FROM dm.learning_user_hourly WHERE sessions <> 0") ==
        "2,1");
}

TEST_CASE("two ingests that extend the same sessions at once both count", "[rollup][session_counters]")
{
  TestDatabase db;
  // Every session has events in both files, each file holding its first or its last event.
  auto make = [](int part) {
    std::string csv = header;
    for (int i = 0; i < 6000; ++i) {
      const int session = i % 1500;
      const int minute = session * 7 % 1440 + (part == 1 ? i / 1500 : 40 + i / 1500 * 5);
      csv += fmt::format("2026-11-{:02}T{:02}:{:02}:{:02}Z,{},{},question_answered,T{},{},100,\n", 2 + minute / 1440,
                         minute % 1440 / 60, minute % 60, part * 10 + i % 7, session % 300, 5000 + session, i % 5,
                         i % 3 == 0 ? "true" : "false");
    }
    return csv;
  };
  ingest(db, std::string(header) + "2026-11-02T00:00:00Z,0,5000,session_start,,,,\n");
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
  CHECK(db.scalar("SELECT count(*) FROM dm.learning_events") == "12001");
  CHECK(differences(db) == "0,0,0,0,0");
  CHECK(empty_rows(db) == "0");
  CHECK(duplicate_keys(db) == "0");
  CHECK(db.scalar("SELECT sum(started) FROM dm.learning_session_hours") == "1500");
}
