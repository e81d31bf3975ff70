// The report rollups of migration 0006 (learning_topic_hourly,
// request_rollup_1h, request_rollup_1d, request_totals_1h, host_hourly) and
// user_topic_answers_hourly (0008) equal the same aggregates computed by plain SQL over the raw rows, after
// files that add to existing rows and after concurrent ingests; the coarser
// request sketches are exactly the merge of the minute sketches.

#include "temp_file.hpp"
#include "test_database.hpp"

#include "dm/ingest/ingest.hpp"
#include "dm/stats/sketch.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>
#include <map>
#include <thread>

using dm::ingest::IngestOptions;
using dm::ingest::Kind;
using dm::test::TempFile;
using dm::test::TestDatabase;

namespace {

void ingest(TestDatabase& db, Kind kind, const std::string& content)
{
  TempFile file(content);
  dm::db::PgConnection conn(db.url());
  IngestOptions o;
  o.kind = kind;
  dm::ingest::ingest_file(conn, file.path(), o);
}

/// Rows in either of two queries' results but not the other (0: equal).
std::string symmetric_difference(TestDatabase& db, const std::string& a, const std::string& b)
{
  return db.scalar(fmt::format("SELECT count(*) FROM (({0} EXCEPT {1}) UNION ALL ({1} EXCEPT {0})) d", a, b));
}

/// Request samples over two hours across a UTC midnight, three series.
std::string requests_csv(int seed, int count)
{
  std::string csv = "ts,service,endpoint,status,duration_ms\n";
  std::uint64_t state = static_cast<std::uint64_t>(seed) * 7919 + 17;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  for (int i = 0; i < count; ++i) {
    const int second = static_cast<int>(next() * 7200);
    const char* day = second < 3600 ? "2026-11-02T23" : "2026-11-03T00";
    const double ms = std::exp(2 + 2 * (next() + next() - 1));
    csv += fmt::format("{}:{:02}:{:02}Z,{},{},{},{:.3f}\n", day, (second % 3600) / 60, second % 60,
                       i % 3 == 0 ? "auth" : "api", i % 2 ? "/v1/a" : "", next() < 0.03 ? 500 : 200, ms);
  }
  return csv;
}

/// The sketches of `sql` (rows: key text, sketch bytea) merged per key.
std::map<std::string, dm::stats::Sketch> merged(TestDatabase& db, const std::string& sql)
{
  std::map<std::string, dm::stats::Sketch> out;
  pqxx::work txn{db.connection()};
  for (const auto& row : txn.exec(sql))
    out[row[0].as<std::string>()].merge(dm::stats::Sketch::deserialize(pqxx::binarystring(row[1]).str()));
  return out;
}

void check_request_rollups(TestDatabase& db)
{
  // Counts, errors and sums equal the raw rows per hour, per UTC day and per hour over all series.
  const std::string raw_cols =
      "service, coalesce(endpoint, ''), count(*), count(*) FILTER (WHERE status >= 500),"
      " round(sum(duration_ms::float8)::numeric, 3)";
  const std::string roll_cols = "service, endpoint, n, errors, round(sum_ms::numeric, 3)";
  CHECK(symmetric_difference(db,
                             "SELECT date_trunc('hour', ts AT TIME ZONE 'UTC'), " + raw_cols +
                                 " FROM dm.request_metrics GROUP BY 1, 2, 3",
                             "SELECT hour AT TIME ZONE 'UTC', " + roll_cols + " FROM dm.request_rollup_1h") == "0");
  CHECK(symmetric_difference(db,
                             "SELECT date_trunc('day', ts AT TIME ZONE 'UTC'), " + raw_cols +
                                 " FROM dm.request_metrics GROUP BY 1, 2, 3",
                             "SELECT day AT TIME ZONE 'UTC', " + roll_cols + " FROM dm.request_rollup_1d") == "0");
  CHECK(symmetric_difference(db,
                             "SELECT date_trunc('hour', ts AT TIME ZONE 'UTC'), count(*), count(*) FILTER (WHERE status >= 500),"
                             " round(sum(duration_ms::float8)::numeric, 3) FROM dm.request_metrics GROUP BY 1",
                             "SELECT hour AT TIME ZONE 'UTC', n, errors, round(sum_ms::numeric, 3) FROM dm.request_totals_1h") ==
        "0");
  // Each coarser sketch is exactly the merge of its minute sketches.
  const auto minutes_by_hour = merged(db, "SELECT concat_ws('|', date_trunc('hour', bucket AT TIME ZONE 'UTC'), service, endpoint),"
                                          " sketch FROM dm.request_rollup_1m");
  const auto hours = merged(db, "SELECT concat_ws('|', hour AT TIME ZONE 'UTC', service, endpoint), sketch FROM dm.request_rollup_1h");
  REQUIRE(hours.size() == minutes_by_hour.size());
  for (const auto& [key, sketch] : hours) {
    INFO(key);
    REQUIRE(minutes_by_hour.count(key) == 1);
    CHECK(sketch.serialize() == minutes_by_hour.at(key).serialize());
  }
  const auto minutes_by_day = merged(db, "SELECT concat_ws('|', date_trunc('day', bucket AT TIME ZONE 'UTC'), service, endpoint),"
                                         " sketch FROM dm.request_rollup_1m");
  const auto days = merged(db, "SELECT concat_ws('|', day AT TIME ZONE 'UTC', service, endpoint), sketch FROM dm.request_rollup_1d");
  REQUIRE(days.size() == minutes_by_day.size());
  for (const auto& [key, sketch] : days)
    CHECK(sketch.serialize() == minutes_by_day.at(key).serialize());
  const auto all_by_hour =
      merged(db, "SELECT date_trunc('hour', bucket AT TIME ZONE 'UTC')::text, sketch FROM dm.request_rollup_1m");
  const auto totals = merged(db, "SELECT (hour AT TIME ZONE 'UTC')::text, sketch FROM dm.request_totals_1h");
  REQUIRE(totals.size() == all_by_hour.size());
  for (const auto& [key, sketch] : totals)
    CHECK(sketch.serialize() == all_by_hour.at(key).serialize());
  // And within 1% of percentile_cont over the raw rows of each day.
  pqxx::work txn{db.connection()};
  for (const auto& [key, sketch] : days) {
    const auto service = key.substr(key.find('|') + 1, key.rfind('|') - key.find('|') - 1);
    for (double q : {0.5, 0.95, 0.99}) {
      const double exact = txn.exec_params1("SELECT percentile_cont($1) WITHIN GROUP (ORDER BY duration_ms) FROM dm.request_metrics"
                                            " WHERE date_trunc('day', ts AT TIME ZONE 'UTC')::text || '|' || service || '|' ||"
                                            " coalesce(endpoint, '') = $2",
                                            q, key)[0]
                               .as<double>();
      INFO(key << " q=" << q << " " << service);
      CHECK(std::abs(sketch.quantile(q) - exact) <= 0.01 * exact);
    }
  }
}

} // namespace

TEST_CASE("learning_topic_hourly equals the raw answers per hour and topic", "[rollup][report_rollups]")
{
  TestDatabase db;
  const std::string header = "ts,user_id,session_id,kind,topic,correct,answer_ms,score\n";
  ingest(db, Kind::learning,
         header + "2026-11-02T08:15:00Z,1,10,session_start,,,,\n"
                  "2026-11-02T08:15:20Z,1,10,question_answered,Vorfahrt,true,4200,\n"
                  "2026-11-02T08:15:50Z,2,11,question_answered,Vorfahrt,false,,\n"
                  "2026-11-02T08:20:00Z,2,11,question_answered,Überholen,true,900,\n"
                  "2026-11-02T08:40:00Z,1,10,mock_test_completed,,,,0.9\n"
                  "2026-11-02T09:00:00Z,1,10,lesson_completed,Vorfahrt,,,\n");
  // Adds to the 08:00 hour of both topics and opens a new hour.
  ingest(db, Kind::learning,
         header + "2026-11-02T08:59:59Z,3,12,question_answered,Vorfahrt,true,100,\n"
                  "2026-11-02T08:01:00Z,1,10,question_answered,\"\",true,100,\n"
                  "2026-11-02T10:00:00Z,3,12,mock_test_completed,Schilder,,,0.5\n");
  const std::string raw =
      "SELECT date_trunc('hour', ts AT TIME ZONE 'UTC') AS hour, coalesce(topic, ''),"
      " count(*) FILTER (WHERE kind = 'question_answered'), count(*) FILTER (WHERE kind = 'question_answered' AND correct),"
      " coalesce(sum(answer_ms) FILTER (WHERE kind = 'question_answered'), 0),"
      " count(answer_ms) FILTER (WHERE kind = 'question_answered'), count(*) FILTER (WHERE kind = 'mock_test_completed'),"
      " count(*) FILTER (WHERE kind = 'mock_test_completed' AND score >= 0.86), count(*)"
      " FROM dm.learning_events GROUP BY 1, 2";
  const std::string rollup = "SELECT hour AT TIME ZONE 'UTC', topic, answered, correct, sum_answer_ms, timed, mock_attempts,"
                             " mock_passes, events FROM dm.learning_topic_hourly";
  CHECK(symmetric_difference(db, raw, rollup) == "0");
  CHECK(db.scalar("SELECT count(*) FROM dm.learning_topic_hourly") == "5");
  CHECK(db.scalar("SELECT concat_ws(',', answered, correct, sum_answer_ms, timed) FROM dm.learning_topic_hourly"
                  " WHERE topic = 'Vorfahrt' AND hour = '2026-11-02T08:00Z'") == "3,2,4300,2");
  // A third file adds to user 1's 08:00 hour: a second packed row for it.
  ingest(db, Kind::learning, header + "2026-11-02T08:30:00Z,1,10,question_answered,Vorfahrt,true,100,\n");
  // user_topic_answers_hourly, unpacked and summed per hour, user and topic,
  // equals the answers of the raw rows (several rows of one user and hour add up).
  std::map<std::string, std::pair<long, long>> packed, expected;
  {
    pqxx::work txn{db.connection()};
    for (const auto& row : txn.exec("SELECT a.hour, a.user_id, t.name, split_part(e, ':', 2), split_part(e, ':', 3)"
                                    " FROM dm.user_topic_answers_hourly a"
                                    " CROSS JOIN LATERAL regexp_split_to_table(a.topics, ' ') e"
                                    " JOIN dm.topics t ON t.id = split_part(e, ':', 1)::int")) {
      auto& sums = packed[row[0].as<std::string>() + "|" + row[1].as<std::string>() + "|" + row[2].as<std::string>()];
      sums.first += row[3].as<long>();
      sums.second += row[4].as<long>();
    }
    for (const auto& row : txn.exec("SELECT date_trunc('hour', ts), user_id, topic, count(*), count(*) FILTER (WHERE correct)"
                                    " FROM dm.learning_events WHERE kind = 'question_answered' AND topic <> ''"
                                    " GROUP BY 1, 2, 3"))
      expected[row[0].as<std::string>() + "|" + row[1].as<std::string>() + "|" + row[2].as<std::string>()] = {
          row[3].as<long>(), row[4].as<long>()};
  }
  CHECK(packed == expected);
  CHECK(packed.size() == 4);
  CHECK(db.scalar("SELECT count(*) FROM dm.user_topic_answers_hourly") == "4");
}

TEST_CASE("request rollups per hour, per day and per hour over all series equal the raw rows", "[rollup][report_rollups]")
{
  TestDatabase db;
  ingest(db, Kind::requests, requests_csv(1, 3000));
  check_request_rollups(db);
  // A second file into the same hours and day: counts add, sketches merge.
  ingest(db, Kind::requests, requests_csv(2, 2000));
  check_request_rollups(db);
  CHECK(db.scalar("SELECT sum(n) FROM dm.request_rollup_1d") == "5000");
}

TEST_CASE("two request ingests into the same day at once both succeed", "[rollup][report_rollups]")
{
  TestDatabase db;
  TempFile a(requests_csv(3, 4000)), b(requests_csv(4, 4000));
  std::exception_ptr error_a, error_b;
  auto run = [&db](const std::string& path, std::exception_ptr& error) {
    try {
      dm::db::PgConnection conn(db.url());
      IngestOptions o;
      o.kind = Kind::requests;
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
  CHECK(db.scalar("SELECT sum(n) FROM dm.request_rollup_1d") == "8000");
  check_request_rollups(db);
}

TEST_CASE("host_hourly equals the raw samples per hour and host", "[rollup][report_rollups]")
{
  TestDatabase db;
  const std::string header = "ts,host,cpu,mem,disk,load1\n";
  ingest(db, Kind::host,
         header + "2026-11-02T10:00:00Z,db-1,0.5,0.25,,1\n"
                  "2026-11-02T10:30:00Z,db-1,0.75,,,\n"
                  "2026-11-02T10:30:00Z,web-1,,0.5,0.125,\n"
                  "2026-11-02T11:00:00Z,db-1,0.25,0.5,0.5,\n");
  ingest(db, Kind::host, header + "2026-11-02T10:45:00Z,db-1,0.875,0.125,0.25,\n2026-11-02T10:50:00Z,web-1,,,,\n");
  CHECK(symmetric_difference(db,
                             "SELECT date_trunc('hour', ts AT TIME ZONE 'UTC'), host, count(cpu), coalesce(sum(cpu::float8), 0),"
                             " max(cpu), max(mem), max(disk) FROM dm.host_samples GROUP BY 1, 2",
                             "SELECT hour AT TIME ZONE 'UTC', host, cpu_n, cpu_sum, cpu_max, mem_max, disk_max FROM dm.host_hourly") ==
        "0");
  CHECK(db.scalar("SELECT concat_ws(',', cpu_n, cpu_sum, cpu_max, mem_max, disk_max) FROM dm.host_hourly"
                  " WHERE host = 'db-1' AND hour = '2026-11-02T10:00Z'") == "3,2.125,0.875,0.25,0.25");
  CHECK(db.scalar("SELECT concat_ws(',', cpu_n, cpu_max IS NULL, mem_max) FROM dm.host_hourly WHERE host = 'web-1'") ==
        "0,t,0.5");
}
