// Ingest against a real PostgreSQL: all or nothing, errors with line and
// column, rollups equal to aggregates of the raw rows, concurrency.

#include "temp_file.hpp"
#include "test_database.hpp"

#include "dm/ingest/ingest.hpp"
#include "dm/ingest/loader.hpp"
#include "dm/stats/sketch.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <map>
#include <thread>

using dm::ingest::IngestOptions;
using dm::ingest::IngestRejected;
using dm::ingest::Kind;
using dm::test::TempFile;
using dm::test::TestDatabase;

namespace {

/// The bulk-load connection of a test database, one per database.
dm::db::PgConnection& raw(TestDatabase& db)
{
  static std::map<std::string, std::unique_ptr<dm::db::PgConnection>> connections;
  auto& c = connections[db.name()];
  if (!c)
    c = std::make_unique<dm::db::PgConnection>(db.url());
  return *c;
}

IngestOptions opts(Kind kind, std::uint64_t max_errors = 0)
{
  IngestOptions o;
  o.kind = kind;
  o.max_errors = max_errors;
  return o;
}

/// Row counts of every table the ingest writes.
std::string table_counts(TestDatabase& db)
{
  return db.scalar(
      "SELECT concat_ws(',', (SELECT count(*) FROM dm.users), (SELECT count(*) FROM dm.learning_events), "
      "(SELECT count(*) FROM dm.payments), (SELECT count(*) FROM dm.request_metrics), "
      "(SELECT count(*) FROM dm.host_samples), (SELECT count(*) FROM dm.learning_hourly), "
      "(SELECT count(*) FROM dm.learning_sessions), (SELECT count(*) FROM dm.request_rollup_1m), "
      "(SELECT count(*) FROM dm.learning_user_hourly))");
}

/// Options that write the rollups on a second connection, whatever the size.
IngestOptions with_second_connection(Kind kind, const TestDatabase& db)
{
  IngestOptions o = opts(kind);
  o.second_connection = [url = db.url()] { return std::make_unique<dm::db::PgConnection>(url); };
  o.second_connection_min_bytes = 0;
  return o;
}

/// Prepared transactions, records and staging tables left in the database.
std::string two_phase_leftovers(TestDatabase& db)
{
  return db.scalar("SELECT (SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()) || ',' || "
                   "(SELECT count(*) FROM dm.prepared_commits) || ',' || "
                   "(SELECT count(*) FROM pg_tables WHERE schemaname = 'dm' AND tablename LIKE 'stage\\_%')");
}

/// The message of an exception and of those nested in it, joined by " | ".
std::string full_message(const std::exception& e)
{
  std::string text = e.what();
  try {
    std::rethrow_if_nested(e);
  } catch (const std::exception& inner) {
    text += " | " + full_message(inner);
  }
  return text;
}

/// Loads `file` with a second connection; returns the whole message of the
/// failure ("" when it loads).
std::string failure_of(TestDatabase& db, const TempFile& file)
{
  try {
    dm::ingest::ingest_file(raw(db), file.path(), with_second_connection(Kind::learning, db));
  } catch (const std::exception& e) {
    return full_message(e);
  }
  return "";
}

/// A learning CSV of `rows` answers over 40 users, 12 hours and 6 topics.
std::string many_answers(int rows, int shift)
{
  std::string csv = "ts,user_id,session_id,kind,topic,correct,answer_ms\n";
  for (int i = 0; i < rows; ++i)
    csv += fmt::format("2026-11-02T{:02}:{:02}:{:02}Z,{},{},question_answered,T{},{},{}\n", (i / 97 + shift) % 12,
                       (i * 7) % 60, i % 60, i % 40, 500 + i % 40 + 100 * ((i / 97 + shift) % 12), i % 6,
                       i % 3 == 0 ? "true" : "false", 100 + i % 900);
  return csv;
}

const char* learning_csv =
    "ts,user_id,session_id,kind,topic,correct,answer_ms,score\n"
    "2026-11-02T08:15:00Z,1,10,session_start,,,,\n"
    "2026-11-02T08:15:20Z,1,10,question_answered,Vorfahrt,true,4200,\n"
    "2026-11-02T08:15:50Z,1,10,question_answered,Vorfahrt,false,,\n"
    "2026-11-02T09:15:10+01:00,1,10,question_answered,Überholen,1,9000,\n"
    "2026-11-02T08:59:59Z,1,10,mock_test_completed,,,,0.9\n"
    "2026-11-02T09:00:00Z,2,11,question_answered,Vorfahrt,0,3000,\n"
    "2026-11-02T09:30:00Z,2,11,mock_test_completed,,,,0.5\n"
    "2026-11-02T09:31:00Z,1,10,session_end,,,,\n";

} // namespace

TEST_CASE("a learning CSV loads raw rows and rollups that match them", "[ingest]")
{
  TestDatabase db;
  TempFile file(learning_csv);
  auto result = dm::ingest::ingest_file(raw(db), file.path(), opts(Kind::learning));
  CHECK(result.summary.rows == 8);
  CHECK(db.scalar("SELECT count(*) FROM dm.learning_events") == "8");
  CHECK(db.scalar("SELECT count(*) FROM dm.learning_events WHERE answer_ms IS NULL AND kind = "
                  "'question_answered'") == "1");
  // 09:15+01:00 is 08:15Z
  CHECK(db.scalar("SELECT count(*) FROM dm.learning_events WHERE ts = '2026-11-02T08:15:10Z'") == "1");

  // learning_hourly equals GROUP BY over the raw rows, column by column.
  const std::string diff = db.scalar(R"(
    WITH raw AS (
      SELECT date_trunc('hour', ts) AS hour, user_id, coalesce(topic, '') AS topic,
             count(*) FILTER (WHERE kind = 'question_answered') AS answered,
             count(*) FILTER (WHERE kind = 'question_answered' AND correct) AS correct,
             coalesce(sum(answer_ms) FILTER (WHERE kind = 'question_answered'), 0) AS sum_answer_ms,
             count(answer_ms) FILTER (WHERE kind = 'question_answered') AS timed,
             count(*) FILTER (WHERE kind = 'mock_test_completed') AS mock_attempts,
             count(*) FILTER (WHERE kind = 'mock_test_completed' AND score >= 0.86) AS mock_passes,
             coalesce(sum(score) FILTER (WHERE kind = 'mock_test_completed'), 0) AS mock_score_sum,
             count(*) AS events
      FROM dm.learning_events GROUP BY 1, 2, 3)
    SELECT count(*) FROM (
      (SELECT hour, user_id, topic, answered, correct, sum_answer_ms, timed, mock_attempts, mock_passes,
              round(mock_score_sum::numeric, 4), events FROM raw
       EXCEPT SELECT hour, user_id, topic, answered, correct, sum_answer_ms, timed, mock_attempts,
              mock_passes, round(mock_score_sum::numeric, 4), events FROM dm.learning_hourly)
      UNION ALL
      (SELECT hour, user_id, topic, answered, correct, sum_answer_ms, timed, mock_attempts, mock_passes,
              round(mock_score_sum::numeric, 4), events FROM dm.learning_hourly
       EXCEPT SELECT hour, user_id, topic, answered, correct, sum_answer_ms, timed, mock_attempts,
              mock_passes, round(mock_score_sum::numeric, 4), events FROM raw)) d)");
  CHECK(diff == "0");
  CHECK(db.scalar("SELECT count(*) FROM dm.learning_hourly") == "6");
  // learning_user_hourly is learning_hourly without the topic.
  CHECK(db.scalar("SELECT count(*) FROM (SELECT hour, user_id, sum(events), sum(answered), sum(correct) "
                  "FROM dm.learning_hourly GROUP BY 1, 2 EXCEPT SELECT hour, user_id, events, answered, correct "
                  "FROM dm.learning_user_hourly) d") == "0");
  CHECK(db.scalar("SELECT count(*) FROM dm.learning_user_hourly") == "3");
  CHECK(db.scalar("SELECT mock_passes FROM dm.learning_hourly WHERE user_id = 1 AND topic = '' AND "
                  "hour = '2026-11-02T08:00Z'") == "1");

  CHECK(db.scalar("SELECT concat_ws(',', user_id, first_ts, last_ts, events) FROM dm.learning_sessions "
                  "WHERE session_id = 10") == "1,2026-11-02 08:15:00+00,2026-11-02 09:31:00+00,6");
}

TEST_CASE("a second file widens sessions and adds to existing rollup rows", "[ingest]")
{
  TestDatabase db;
  TempFile first(learning_csv);
  dm::ingest::ingest_file(raw(db), first.path(), opts(Kind::learning));
  TempFile second("ts,user_id,session_id,kind,topic,correct,answer_ms\n"
                  "2026-11-02T08:10:00Z,1,10,question_answered,Vorfahrt,true,1000\n"
                  "2026-11-02T09:45:00Z,1,10,question_answered,Vorfahrt,true,1000\n");
  dm::ingest::ingest_file(raw(db), second.path(), opts(Kind::learning));
  CHECK(db.scalar("SELECT concat_ws(',', first_ts, last_ts, events) FROM dm.learning_sessions WHERE "
                  "session_id = 10") == "2026-11-02 08:10:00+00,2026-11-02 09:45:00+00,8");
  CHECK(db.scalar("SELECT concat_ws(',', answered, correct, sum_answer_ms, timed) FROM dm.learning_hourly "
                  "WHERE user_id = 1 AND topic = 'Vorfahrt' AND hour = '2026-11-02T08:00Z'") == "3,2,5200,2");
}

TEST_CASE("a bad value fails the whole file with its line and column and changes nothing", "[ingest]")
{
  TestDatabase db;
  TempFile good(learning_csv);
  dm::ingest::ingest_file(raw(db), good.path(), opts(Kind::learning));
  const std::string before = table_counts(db);

  struct Case {
    std::string line;
    std::string expected;
  };
  const std::vector<Case> cases{
      {"2026-11-02T10:00:00Z,1,10,question_answered,Vorfahrt,maybe,100,", ":3: column correct: expected true"},
      {"2026-11-02T10:00:00Z,1,10,question_answered,Vorfahrt,true,-5,", ":3: column answer_ms: -5 is out of range"},
      {"2026-11-02 10:00,1,10,question_answered,Vorfahrt,true,5,", ":3: column ts: expected an RFC 3339 timestamp"},
      {"2026-11-02T10:00:00Z,abc,10,question_answered,Vorfahrt,true,5,", ":3: column user_id: expected an integer, got 'abc'"},
      {"2026-11-02T10:00:00Z,1,10,question_skipped,Vorfahrt,true,5,", ":3: column kind: expected one of session_start|"},
      {"2026-11-02T10:00:00Z,1,10,mock_test_completed,,,,1.5", ":3: column score: 1.5 is out of range 0..1"},
      {"2026-11-02T10:00:00Z,1,10,session_start,,,", ":3: expected 8 fields as in the header, got 7"},
      {"2026-02-30T10:00:00Z,1,10,session_start,,,,", ":3: column ts:"},
  };
  for (const auto& c : cases) {
    // The bad line is the third: the first data line is good and must not be kept either.
    TempFile bad("ts,user_id,session_id,kind,topic,correct,answer_ms,score\n"
                 "2026-11-02T10:00:00Z,3,12,session_start,,,,\n" +
                 c.line + "\n2026-11-02T10:05:00Z,3,12,session_end,,,,\n");
    INFO(c.line);
    try {
      dm::ingest::ingest_file(raw(db), bad.path(), opts(Kind::learning));
      FAIL("a bad file was accepted");
    } catch (const IngestRejected& e) {
      const std::string message = e.what();
      CHECK(message.rfind(bad.path() + c.expected, 0) == 0);
      CHECK(e.errors().size() == 1);
    }
    CHECK(table_counts(db) == before);
  }
}

TEST_CASE("with max_errors several bad lines are listed and still loads nothing", "[ingest]")
{
  TestDatabase db;
  const std::string before = table_counts(db);
  TempFile bad("ts,service,endpoint,status,duration_ms\n"
               "2026-11-02T10:00:00Z,api,/v1/q,200,12.5\n"
               "2026-11-02T10:00:01Z,api,/v1/q,700,12.5\n"
               "2026-11-02T10:00:02Z,api,/v1/q,200,-1\n"
               "2026-11-02T10:00:03Z,,/v1/q,200,3\n"
               "2026-11-02T10:00:04Z,api,/v1/q,200,nan\n");
  try {
    dm::ingest::ingest_file(raw(db), bad.path(), opts(Kind::requests, 3));
    FAIL("a bad file was accepted");
  } catch (const IngestRejected& e) {
    REQUIRE(e.errors().size() == 3);
    CHECK(e.errors()[0] == bad.path() + ":3: column status: 700 is out of range 100..599");
    CHECK(e.errors()[1] == bad.path() + ":4: column duration_ms: -1 is below 0");
    CHECK(e.errors()[2] == bad.path() + ":5: column service: a value is required");
    CHECK(std::string(e.what()).find("more errors not shown") != std::string::npos);
  }
  CHECK(table_counts(db) == before);
}

TEST_CASE("header problems are reported on line 1", "[ingest]")
{
  TestDatabase db;
  TempFile unknown("ts,user_id,kind,colour\n2026-11-02T10:00:00Z,1,session_start,red\n");
  CHECK_THROWS_WITH(dm::ingest::ingest_file(raw(db), unknown.path(), opts(Kind::learning)),
                    Catch::StartsWith(unknown.path() + ":1: column colour: unknown column for learning"));
  TempFile missing("ts,kind\n2026-11-02T10:00:00Z,session_start\n");
  CHECK_THROWS_WITH(dm::ingest::ingest_file(raw(db), missing.path(), opts(Kind::learning)),
                    Catch::StartsWith(missing.path() + ":1: column user_id: required column missing"));
  TempFile empty("");
  CHECK_THROWS_WITH(dm::ingest::ingest_file(raw(db), empty.path(), opts(Kind::learning)),
                    Catch::Contains("the file is empty"));
  CHECK(table_counts(db) == "0,0,0,0,0,0,0,0,0");
}

TEST_CASE("quoted CSV fields and NDJSON load the same values", "[ingest]")
{
  TestDatabase db;
  TempFile csv("user_id,signup_at,country,platform,channel\n"
               "1,2026-10-01T10:00:00Z,\"DE\",ios,organic\n"
               "2,,\"A \"\"quoted\"\", multi\nline country\",,\n"
               "3,2026-10-02T10:00:00Z,\"\",web,referral\n");
  dm::ingest::ingest_file(raw(db), csv.path(), opts(Kind::users));
  CHECK(db.scalar("SELECT country FROM dm.users WHERE user_id = 2") == "A \"quoted\", multi\nline country");
  CHECK(db.scalar("SELECT signup_at IS NULL AND platform IS NULL FROM dm.users WHERE user_id = 2") == "t");
  CHECK(db.scalar("SELECT country = '' FROM dm.users WHERE user_id = 3") == "t");

  TempFile ndjson("{\"ts\":\"2026-11-02T10:00:00Z\",\"host\":\"db-1\",\"cpu\":0.5,\"mem\":1,\"disk\":null,\"load1\":2.25}\n"
                  "\n"
                  "{\"ts\":\"2026-11-02T10:01:00Z\",\"host\":\"db-1\",\"cpu\":0.75}\n",
                  ".ndjson");
  dm::ingest::ingest_file(raw(db), ndjson.path(), opts(Kind::host));
  CHECK(db.scalar("SELECT concat_ws('|', count(*), sum(cpu), max(load1), count(disk)) FROM dm.host_samples") ==
        "2|1.25|2.25|0");

  TempFile bad_json("{\"ts\":\"2026-11-02T10:00:00Z\",\"host\":\"db-1\"}\n{\"ts\":\"2026-11-02T10:00:00Z\",\"host\":\"db-1\",\"cpu\":\"high\"}\n",
                    ".ndjson");
  CHECK_THROWS_WITH(dm::ingest::ingest_file(raw(db), bad_json.path(), opts(Kind::host)),
                    bad_json.path() + ":2: column cpu: expected a number, got 'high'");
  CHECK(db.scalar("SELECT count(*) FROM dm.host_samples") == "2");
}

TEST_CASE("users are upserted: the latest row of a user wins", "[ingest]")
{
  TestDatabase db;
  TempFile a("user_id,country,platform\n1,DE,ios\n2,AT,web\n1,CH,android\n");
  dm::ingest::ingest_file(raw(db), a.path(), opts(Kind::users));
  CHECK(db.scalar("SELECT country || platform FROM dm.users WHERE user_id = 1") == "CHandroid");
  TempFile b("user_id,country\n2,PL\n");
  dm::ingest::ingest_file(raw(db), b.path(), opts(Kind::users));
  CHECK(db.scalar("SELECT coalesce(country, '') || coalesce(platform, 'null') FROM dm.users WHERE user_id = 2") ==
        "PLnull");
  CHECK(db.scalar("SELECT count(*) FROM dm.users") == "2");
}

TEST_CASE("payments need a plan and an amount where revenue depends on them", "[ingest]")
{
  TestDatabase db;
  TempFile bad("ts,user_id,kind,plan,amount_cents,currency\n"
               "2026-11-02T10:00:00Z,1,subscribe,,999,EUR\n");
  CHECK_THROWS_WITH(dm::ingest::ingest_file(raw(db), bad.path(), opts(Kind::payments)),
                    bad.path() + ":2: column plan: a plan is required for a subscribe");
  TempFile good("ts,user_id,kind,plan,amount_cents,currency\n"
                "2026-11-02T10:00:00Z,1,subscribe,monthly,999,EUR\n"
                "2026-11-03T10:00:00Z,1,cancel,,,\n"
                "2026-11-04T10:00:00Z,1,refund,monthly,999,EUR\n");
  dm::ingest::ingest_file(raw(db), good.path(), opts(Kind::payments));
  CHECK(db.scalar("SELECT count(*) FROM dm.payments") == "3");
}

TEST_CASE("request rollups hold counts, errors, sums and a sketch within 1% of percentile_cont", "[ingest]")
{
  TestDatabase db;
  std::string csv = "ts,service,endpoint,status,duration_ms\n";
  std::uint64_t state = 12345;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  for (int i = 0; i < 5000; ++i) {
    const int second = i % 180;
    const double ms = std::exp(3 + 1.5 * (next() + next() + next() - 1.5)); // skewed
    csv += fmt::format("2026-11-02T10:{:02}:{:02}Z,{},{},{},{:.3f}\n", second / 60, second % 60,
                       i % 3 == 0 ? "auth" : "api", i % 2 ? "/v1/a" : "", next() < 0.02 ? 503 : 200, ms);
  }
  TempFile file(csv);
  dm::ingest::ingest_file(raw(db), file.path(), opts(Kind::requests));
  CHECK(db.scalar(R"(
    SELECT count(*) FROM (
      SELECT date_trunc('minute', ts) AS bucket, service, coalesce(endpoint, '') AS endpoint, count(*) AS n,
             count(*) FILTER (WHERE status >= 500) AS errors, round(sum(duration_ms::float8)::numeric, 1) AS s
      FROM dm.request_metrics GROUP BY 1, 2, 3
      EXCEPT
      SELECT bucket, service, endpoint, n, errors, round(sum_ms::numeric, 1) FROM dm.request_rollup_1m) d)") ==
        "0");
  CHECK(db.scalar("SELECT count(*) FROM dm.request_rollup_1m") == "12");

  pqxx::work txn{db.connection()};
  for (const char* service : {"api", "auth"}) {
    dm::stats::Sketch merged;
    for (const auto& row : txn.exec_params("SELECT sketch FROM dm.request_rollup_1m WHERE service = $1", service)) {
      pqxx::binarystring bytes(row[0]);
      merged.merge(dm::stats::Sketch::deserialize(bytes.str()));
    }
    for (double q : {0.5, 0.95, 0.99}) {
      const double exact = txn.exec_params1("SELECT percentile_cont($1) WITHIN GROUP (ORDER BY duration_ms) "
                                            "FROM dm.request_metrics WHERE service = $2",
                                            q, service)[0]
                               .as<double>();
      INFO(service << " q=" << q);
      CHECK(std::abs(merged.quantile(q) - exact) <= 0.01 * exact);
    }
    CHECK(merged.count() == txn.exec_params1("SELECT count(*) FROM dm.request_metrics WHERE service = $1",
                                             service)[0].as<std::uint64_t>());
  }
}

TEST_CASE("small loads merge through the session's scratch tables: each row counted once, none left over",
          "[ingest]")
{
  TestDatabase db;
  auto& conn = raw(db);
  auto load = [&conn](int rows, std::int16_t status) {
    dm::ingest::Loader loader(conn, Kind::requests);
    for (int i = 0; i < rows; ++i)
      loader.add(dm::ingest::RequestRecord{dm::util::parse_rfc3339("2026-11-02T10:00:30Z").value() + i, "api",
                                           "/v1/a", status, 10.0F});
    loader.finish();
  };
  // Three loads of one minute in one transaction: the first COPYs straight
  // into the empty range, the next two merge through the same scratch table.
  {
    dm::db::PgTransaction txn{conn};
    load(3, 200);
    load(2, 503);
    load(4, 200);
    txn.commit();
  }
  CHECK(db.scalar("SELECT n || ',' || errors FROM dm.request_rollup_1m") == "9,2");
  CHECK(db.scalar("SELECT n || ',' || errors FROM dm.request_totals_1h") == "9,2");
  // A load rolled back after its merge leaves neither rows nor scratch rows.
  {
    dm::db::PgTransaction txn{conn};
    load(5, 503);
  }
  CHECK(db.scalar("SELECT n || ',' || errors FROM dm.request_rollup_1m") == "9,2");
  // The next transaction on the same connection merges on an empty scratch table.
  {
    dm::db::PgTransaction txn{conn};
    CHECK(conn.query_value("SELECT count(*) FROM dm_scratch_request_rollup_1m") == "0");
    load(1, 200);
    txn.commit();
  }
  CHECK(db.scalar("SELECT n || ',' || errors FROM dm.request_rollup_1m") == "10,2");
  CHECK(conn.query_value("SELECT count(*) FROM dm_scratch_request_rollup_1m") == "0");
}

TEST_CASE("with a second connection the rollups equal those written on one, new hours and merged ones alike",
          "[ingest][two-phase]")
{
  TestDatabase one, two;
  // The second file overlaps the first's hours and sessions: its rollups
  // merge into existing rows (staged in tables of the prepared transaction).
  TempFile first(many_answers(6000, 0)), second(many_answers(4000, 5)), requests([] {
    std::string csv = "ts,service,endpoint,status,duration_ms\n";
    for (int i = 0; i < 3000; ++i)
      csv += fmt::format("2026-11-02T{:02}:{:02}:{:02}Z,api,/v1/e{},{},{}\n", i / 500, i % 60, (i * 13) % 60, i % 4,
                         i % 17 == 0 ? 503 : 200, 1 + (i * 37) % 900);
    return csv;
  }());
  for (const auto* file : {&first, &second}) {
    CHECK_FALSE(dm::ingest::ingest_file(raw(one), file->path(), opts(Kind::learning)).summary.rollups_on_second_connection);
    CHECK(dm::ingest::ingest_file(raw(two), file->path(), with_second_connection(Kind::learning, two))
              .summary.rollups_on_second_connection);
  }
  for (int i = 0; i < 2; ++i) {
    dm::ingest::ingest_file(raw(one), requests.path(), opts(Kind::requests));
    CHECK(dm::ingest::ingest_file(raw(two), requests.path(), with_second_connection(Kind::requests, two))
              .summary.rollups_on_second_connection);
  }
  CHECK(two.scalar("SELECT sum(answered) FROM dm.learning_hourly") == "10000");
  CHECK(two.scalar("SELECT sum(n) FROM dm.request_rollup_1m") == "6000");
  CHECK(dm::test::schema_fingerprint(two) == dm::test::schema_fingerprint(one));
  CHECK(two_phase_leftovers(two) == "0,0,0");
}

TEST_CASE("a rollup refused on the second connection fails the file and commits nothing", "[ingest][two-phase]")
{
  TestDatabase db;
  db.scalar(R"(CREATE FUNCTION dm.refuse() RETURNS trigger LANGUAGE plpgsql AS
    $$BEGIN RAISE EXCEPTION 'session rollup refused'; END$$;
    CREATE TRIGGER refuse BEFORE INSERT ON dm.learning_sessions FOR EACH ROW EXECUTE FUNCTION dm.refuse();
    SELECT 1)");
  TempFile file(many_answers(5000, 0));
  const std::string message = failure_of(db, file);
  CHECK_THAT(message, Catch::Contains("loading into the database failed") &&
                          Catch::Contains("session rollup refused"));
  CHECK(table_counts(db) == "0,0,0,0,0,0,0,0,0");
  CHECK(two_phase_leftovers(db) == "0,0,0");
  // The connection goes on: the next file (the trigger gone) loads.
  db.scalar("DROP TRIGGER refuse ON dm.learning_sessions; SELECT 1");
  dm::ingest::ingest_file(raw(db), file.path(), with_second_connection(Kind::learning, db));
  CHECK(db.scalar("SELECT sum(events) FROM dm.learning_sessions") == "5000");
}

TEST_CASE("a second connection that cannot be opened leaves the load to the first", "[ingest][two-phase]")
{
  TestDatabase db;
  TempFile file(many_answers(3000, 0));
  IngestOptions o = with_second_connection(Kind::learning, db);
  o.second_connection = [] { return std::make_unique<dm::db::PgConnection>("host=/nonexistent dbname=none"); };
  const auto result = dm::ingest::ingest_file(raw(db), file.path(), o);
  CHECK_FALSE(result.summary.rollups_on_second_connection);
  CHECK(db.scalar("SELECT sum(answered) FROM dm.learning_hourly") == "3000");
  CHECK(two_phase_leftovers(db) == "0,0,0");
}

TEST_CASE("a raw row the server refuses fails the file while its rollups go in on the second connection",
          "[ingest][two-phase]")
{
  TestDatabase db;
  db.scalar(R"(CREATE FUNCTION dm.refuse_user() RETURNS trigger LANGUAGE plpgsql AS
    $$BEGIN IF NEW.user_id = 39 THEN RAISE EXCEPTION 'user 39 refused'; END IF; RETURN NEW; END$$;
    CREATE TRIGGER refuse_user BEFORE INSERT ON dm.learning_events FOR EACH ROW EXECUTE FUNCTION dm.refuse_user();
    SELECT 1)");
  TempFile file(many_answers(5000, 0));
  const std::string message = failure_of(db, file);
  CHECK_THAT(message, Catch::Contains("user 39 refused"));
  CHECK(table_counts(db) == "0,0,0,0,0,0,0,0,0");
  CHECK(two_phase_leftovers(db) == "0,0,0");
}

TEST_CASE("two ingests into the same hours at once both succeed", "[ingest]")
{
  TestDatabase db;
  // Each with its rollups on a second connection, or not.
  const bool second = GENERATE(false, true);
  INFO("second connection " << second);
  auto make = [](int offset) {
    std::string csv = "ts,user_id,session_id,kind,topic,correct,answer_ms\n";
    for (int i = 0; i < 20000; ++i)
      csv += fmt::format("2026-11-02T{:02}:{:02}:{:02}Z,{},{},question_answered,T{},{},{}\n", (i / 60) % 24,
                         i % 60, (i + offset) % 60, i % 50, i % 50 + 1000 * offset, i % 7, i % 3 == 0 ? "true" : "false", 100 + i % 900);
    return csv;
  };
  TempFile a(make(1)), b(make(2));
  std::exception_ptr error_a, error_b;
  auto run = [&db, second](const std::string& path, std::exception_ptr& error) {
    try {
      dm::db::PgConnection conn(db.url());
      dm::ingest::ingest_file(conn, path, second ? with_second_connection(Kind::learning, db) : opts(Kind::learning));
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
  CHECK(db.scalar("SELECT sum(answered) FROM dm.learning_hourly") == "40000");
  CHECK(db.scalar("SELECT sum(answered) FROM dm.learning_user_hourly") == "40000");
  CHECK(db.scalar("SELECT sum(events) FROM dm.learning_sessions") == "40000");
}

TEST_CASE("a committed ingest sends NOTIFY dm_events with the kind and row count", "[ingest]")
{
  TestDatabase db;
  // With the rollups on a second connection the signal follows both commits.
  const bool second = GENERATE(false, true);
  INFO("second connection " << second);
  auto listener = db.connect();
  auto reader = db.connect();
  struct Receiver : pqxx::notification_receiver {
    std::vector<std::string> payloads;
    std::vector<std::string> rollups_then;  ///< what a listener reads when the signal comes
    pqxx::connection_base& reader;
    Receiver(pqxx::connection_base& c, pqxx::connection_base& r)
        : pqxx::notification_receiver(c, "dm_events"), reader(r)
    {
    }
    void operator()(const std::string& payload, int) override
    {
      payloads.push_back(payload);
      pqxx::nontransaction txn{reader};
      rollups_then.push_back(
          txn.exec1("SELECT count(*) || ',' || coalesce(sum(events), 0) FROM dm.learning_hourly")[0].as<std::string>());
    }
  } receiver(*listener, *reader);
  TempFile file(learning_csv);
  // The listener waits while the load runs, as a daemon does: it reads the
  // rollups the moment the signal arrives.
  std::thread load([&] {
    dm::ingest::ingest_file(raw(db), file.path(),
                            second ? with_second_connection(Kind::learning, db) : opts(Kind::learning));
  });
  for (int i = 0; i < 500 && receiver.payloads.empty(); ++i)
    listener->await_notification(0, 10000);
  load.join();
  REQUIRE(receiver.payloads.size() == 1);
  // The keys that came first keep their place; users and at follow
  // (tests/integration/daemon/change_signal_test.cpp checks those).
  CHECK(receiver.payloads[0].starts_with(
      R"({"kind":"learning","rows":8,"from":"2026-11-02T08:15:00Z","to":"2026-11-02T09:31:00Z","users":[1,2],"at":)"));
  CHECK(receiver.rollups_then.at(0) == "6,8");
}
