// Reports against seeded data: rollups and raw rows agree, and KPIs match
// plain SQL written from the definitions of DESIGN 5.

#include "temp_file.hpp"
#include "test_database.hpp"

#include "dm/ingest/ingest.hpp"
#include "dm/report/calendar.hpp"
#include "dm/report/generator.hpp"
#include "dm/seed/seed_database.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>

using dm::ingest::IngestOptions;
using dm::ingest::Kind;
using dm::report::Cell;
using dm::report::GenerateRequest;
using dm::report::Period;
using dm::report::Report;
using dm::report::ReportType;
using dm::test::TempFile;
using dm::test::TestDatabase;

namespace {

dm::util::Micros at(const char* text)
{
  return *dm::util::parse_date_or_timestamp(text);
}

/// One seeded database shared by the cases of this file (seeding is the slow part).
TestDatabase& seeded()
{
  static TestDatabase db;
  static bool done = false;
  if (!done) {
    dm::seed::SeedOptions o;
    o.users = 300;
    o.days = 42;
    o.seed = 11;
    o.end = at("2026-11-09");
    dm::db::PgConnection raw(db.url());
    dm::seed::seed_database(raw, o);
    done = true;
  }
  return db;
}

Report make(ReportType type, const Period& p, bool exact)
{
  GenerateRequest r;
  r.type = type;
  r.period = p;
  r.exact = exact;
  r.now = at("2026-11-10");
  return dm::report::generate_report(seeded().connection(), r);
}

double number(const dm::report::Cell& c)
{
  if (std::holds_alternative<std::int64_t>(c))
    return static_cast<double>(std::get<std::int64_t>(c));
  if (std::holds_alternative<double>(c))
    return std::get<double>(c);
  return std::nan("");
}

double kpi(const Report& r, const std::string& name)
{
  for (const auto& k : r.kpis)
    if (k.name == name)
      return number(k.value);
  FAIL("no KPI " << name);
  return 0;
}

/// Every KPI and every cell of every section agrees; percentiles within 1%.
void check_same(const Report& rollup, const Report& exact)
{
  REQUIRE(rollup.kpis.size() == exact.kpis.size());
  for (std::size_t i = 0; i < rollup.kpis.size(); ++i) {
    const std::string& name = rollup.kpis[i].name;
    INFO("KPI " << name);
    const double a = number(rollup.kpis[i].value), b = number(exact.kpis[i].value);
    REQUIRE(std::isfinite(a));
    if (name.find("p50") != std::string::npos || name.find("p95") != std::string::npos || name.find("p99") != std::string::npos)
      CHECK(std::abs(a - b) <= 0.01 * std::abs(b) + 1e-9);
    else
      CHECK(std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b)));
  }
  REQUIRE(rollup.sections.size() == exact.sections.size());
  for (std::size_t s = 0; s < rollup.sections.size(); ++s) {
    const auto& x = rollup.sections[s];
    const auto& y = exact.sections[s];
    INFO("section " << x.name);
    REQUIRE(x.rows.size() == y.rows.size());
    for (std::size_t r = 0; r < x.rows.size(); ++r) {
      // A recommendation on latency carries percentiles (value, and the
      // previous period's p95 as threshold), within 1% like any percentile;
      // its text prints them rounded.
      const bool latency_rule = x.name == "recommendations" &&
                                (x.rows[r][0] == Cell{std::string("p99_above_slo")} ||
                                 x.rows[r][0] == Cell{std::string("slower_than_previous")});
      for (std::size_t c = 0; c < x.columns.size(); ++c) {
        INFO("row " << r << " column " << x.columns[c].name);
        const auto& cx = x.rows[r][c];
        const auto& cy = y.rows[r][c];
        if (latency_rule && (x.columns[c].name == "value" || x.columns[c].name == "threshold")) {
          CHECK(std::abs(number(cx) - number(cy)) <= 0.01 * std::abs(number(cy)) + 1e-9);
        } else if (latency_rule && x.columns[c].name == "text") {
          CHECK(x.rows[r][0] == y.rows[r][0]);
        } else if (std::holds_alternative<std::string>(cx)) {
          CHECK(cx == cy);
        } else if (x.columns[c].name.find("p95") != std::string::npos || x.columns[c].name.find("p99") != std::string::npos ||
                   x.columns[c].name.find("p50") != std::string::npos) {
          CHECK(std::abs(number(cx) - number(cy)) <= 0.01 * std::abs(number(cy)) + 1e-9);
        } else if (!std::holds_alternative<std::monostate>(cy)) {
          CHECK(std::abs(number(cx) - number(cy)) <= 1e-9 * std::max(1.0, std::abs(number(cy))));
        }
      }
    }
  }
}

std::string q(const std::string& sql)
{
  return seeded().scalar(sql);
}

} // namespace

TEST_CASE("engagement: a week across the DST change in Europe/Berlin, rollup = exact = SQL", "[report]")
{
  // 2026-10-25 has 25 hours in Berlin.
  const Period p{at("2026-10-21T22:00:00Z"), at("2026-10-28T23:00:00Z"), "Europe/Berlin"};
  REQUIRE(dm::report::local_days(p).size() == 7);
  const Report rollup = make(ReportType::engagement, p, false);
  const Report exact = make(ReportType::engagement, p, true);
  CHECK(rollup.source == "rollup");
  CHECK(exact.source == "exact");
  check_same(rollup, exact);

  const std::string where = "ts >= '2026-10-21T22:00:00Z' AND ts < '2026-10-28T23:00:00Z'";
  CHECK(kpi(exact, "active_users") == std::stod(q("SELECT count(DISTINCT user_id) FROM dm.learning_events WHERE " + where)));
  CHECK(kpi(exact, "questions") ==
        std::stod(q("SELECT count(*) FROM dm.learning_events WHERE kind = 'question_answered' AND " + where)));
  CHECK(kpi(exact, "sessions") ==
        std::stod(q("SELECT count(DISTINCT session_id) FROM dm.learning_events WHERE " + where)));
  CHECK(std::abs(kpi(exact, "dau_avg") -
                 std::stod(q("SELECT count(*) / 7.0 FROM (SELECT DISTINCT (ts AT TIME ZONE 'Europe/Berlin')::date, user_id "
                             "FROM dm.learning_events WHERE " + where + ") d"))) < 1e-9);
  CHECK(kpi(exact, "new_users") ==
        std::stod(q("SELECT count(*) FROM dm.users WHERE signup_at >= '2026-10-21T22:00:00Z' AND signup_at < '2026-10-28T23:00:00Z'")));
  CHECK(kpi(exact, "mau") ==
        std::stod(q("SELECT count(DISTINCT user_id) FROM dm.learning_events WHERE ts >= '2026-09-28T22:00:00Z' AND "
                    "ts < '2026-10-28T23:00:00Z'")));
  CHECK(std::abs(kpi(exact, "avg_session_minutes") -
                 std::stod(q("SELECT avg(extract(epoch FROM mx - mn)) / 60 FROM (SELECT session_id, min(ts) mn, max(ts) mx "
                             "FROM dm.learning_events WHERE " + where + " GROUP BY session_id) s"))) < 1e-9);
  const auto* daily = rollup.section("daily");
  REQUIRE(daily != nullptr);
  CHECK(daily->rows.size() == 7);
  CHECK(std::get<std::string>(daily->rows[3][0]) == "2026-10-25");
}

TEST_CASE("learning, performance and business: rollup = exact, KPIs = SQL", "[report]")
{
  const Period p{at("2026-10-26T00:00:00Z"), at("2026-11-02T00:00:00Z"), "UTC"};
  const std::string where = "ts >= '2026-10-26' AND ts < '2026-11-02'";
  SECTION("learning")
  {
    const Report rollup = make(ReportType::learning, p, false);
    check_same(rollup, make(ReportType::learning, p, true));
    CHECK(std::abs(kpi(rollup, "accuracy") -
                   std::stod(q("SELECT avg(correct::int) FROM dm.learning_events WHERE kind = 'question_answered' AND " + where))) <
          1e-9);
    CHECK(kpi(rollup, "mock_tests") ==
          std::stod(q("SELECT count(*) FROM dm.learning_events WHERE kind = 'mock_test_completed' AND " + where)));
    REQUIRE(rollup.section("topics") != nullptr);
    CHECK(rollup.section("topics")->rows.size() >= 5);
  }
  SECTION("performance")
  {
    const Report rollup = make(ReportType::performance, p, false);
    check_same(rollup, make(ReportType::performance, p, true));
    CHECK(kpi(rollup, "requests") == std::stod(q("SELECT count(*) FROM dm.request_metrics WHERE " + where)));
    const double p95 = std::stod(q("SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) FROM dm.request_metrics WHERE " + where));
    CHECK(std::abs(kpi(rollup, "p95_ms") - p95) <= 0.01 * p95);
    CHECK(std::abs(kpi(rollup, "rps") - kpi(rollup, "requests") / (7 * 86400.0)) < 1e-9);
  }
  SECTION("business")
  {
    const Report r = make(ReportType::business, p, false);
    CHECK(kpi(r, "revenue_cents") ==
          std::stod(q("SELECT coalesce(sum(CASE WHEN kind IN ('subscribe','renew') THEN amount_cents WHEN kind = 'refund' "
                      "THEN -amount_cents ELSE 0 END), 0) FROM dm.payments WHERE " + where)));
    for (const auto& k : r.kpis)
      CHECK(k.has_comparison);
  }
}

TEST_CASE("a zone west of UTC and a one-day period agree between rollup and exact", "[report]")
{
  const Period week{at("2026-10-26T07:00:00Z"), at("2026-11-02T08:00:00Z"), "America/Los_Angeles"};
  check_same(make(ReportType::engagement, week, false), make(ReportType::engagement, week, true));
  const Period day{at("2026-10-30T00:00:00Z"), at("2026-10-31T00:00:00Z"), "UTC"};
  check_same(make(ReportType::learning, day, false), make(ReportType::learning, day, true));
}

TEST_CASE("a period with no data gives zeros, not errors or NaN", "[report]")
{
  const Period empty{at("2020-01-01T00:00:00Z"), at("2020-01-08T00:00:00Z"), "UTC"};
  for (auto type : {ReportType::engagement, ReportType::learning, ReportType::performance, ReportType::business}) {
    const Report r = make(type, empty, false);
    for (const auto& k : r.kpis) {
      INFO(k.name);
      CHECK(number(k.value) == 0);
    }
  }
}

TEST_CASE("engagement in UTC on whole days reads the day rollup and agrees with exact and SQL", "[report]")
{
  // Local days are UTC days: daily users, WAU/MAU, cohorts and segments come from user_active_days.
  const Period p{at("2026-10-05T00:00:00Z"), at("2026-11-02T00:00:00Z"), "UTC"};
  const Report rollup = make(ReportType::engagement, p, false);
  const Report exact = make(ReportType::engagement, p, true);
  check_same(rollup, exact);
  const std::string where = "ts >= '2026-10-05' AND ts < '2026-11-02'";
  CHECK(kpi(rollup, "active_users") == std::stod(q("SELECT count(DISTINCT user_id) FROM dm.learning_events WHERE " + where)));
  CHECK(kpi(rollup, "wau") ==
        std::stod(q("SELECT count(DISTINCT user_id) FROM dm.learning_events WHERE ts >= '2026-10-26' AND ts < '2026-11-02'")));
  CHECK(std::abs(kpi(rollup, "dau_avg") -
                 std::stod(q("SELECT count(*) / 28.0 FROM (SELECT DISTINCT ts::date, user_id FROM dm.learning_events WHERE " +
                             where + ") d"))) < 1e-9);
  CHECK(kpi(rollup, "sessions") == std::stod(q("SELECT count(DISTINCT session_id) FROM dm.learning_events WHERE " + where)));
  const auto* segments = rollup.section("segments");
  REQUIRE(segments != nullptr);
  // Per platform: active users, as plain SQL counts them.
  for (const auto& row : segments->rows) {
    if (std::get<std::string>(row[0]) != "platform")
      continue;
    const std::string value = std::get<std::string>(row[1]);
    INFO(value);
    CHECK(number(row[2]) ==
          std::stod(q("SELECT count(DISTINCT e.user_id) FROM dm.learning_events e LEFT JOIN dm.users u USING (user_id) WHERE " +
                      where + " AND coalesce(u.platform, '(unknown)') = '" + value + "'")));
  }
}

TEST_CASE("performance in Europe/Berlin reads hourly rollups around whole UTC days and agrees with exact", "[report]")
{
  // The period starts and ends at 22:00 and 23:00 UTC: hours on both sides of the whole UTC days.
  const Period p{at("2026-10-21T22:00:00Z"), at("2026-10-28T23:00:00Z"), "Europe/Berlin"};
  const Report rollup = make(ReportType::performance, p, false);
  check_same(rollup, make(ReportType::performance, p, true));
  const std::string where = "ts >= '2026-10-21T22:00:00Z' AND ts < '2026-10-28T23:00:00Z'";
  CHECK(kpi(rollup, "requests") == std::stod(q("SELECT count(*) FROM dm.request_metrics WHERE " + where)));
  const double p99 = std::stod(q("SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) FROM dm.request_metrics WHERE " + where));
  CHECK(std::abs(kpi(rollup, "p99_ms") - p99) <= 0.01 * p99);
  CHECK(std::abs(kpi(rollup, "cpu_avg") - std::stod(q("SELECT avg(cpu) FROM dm.host_samples WHERE " + where))) < 1e-9);
  // The timeline has 169 local hours (the clocks go back on 2026-10-25) but the repeated hour is one row.
  const auto* timeline = rollup.section("timeline");
  REQUIRE(timeline != nullptr);
  CHECK(timeline->rows.size() == 168);
  // A period inside one day reads only hourly rows.
  const Period hours{at("2026-10-30T05:00:00Z"), at("2026-10-30T17:00:00Z"), "UTC"};
  check_same(make(ReportType::performance, hours, false), make(ReportType::performance, hours, true));
}

TEST_CASE("learning over most of the data reads all-time totals minus the rest, and agrees with exact", "[report]")
{
  // 40 of the 42 seeded days: fewer hours outside the period than inside.
  const Period most{at("2026-09-30T00:00:00Z"), at("2026-11-08T00:00:00Z"), "UTC"};
  const Report rollup = make(ReportType::learning, most, false);
  check_same(rollup, make(ReportType::learning, most, true));
  const auto* topics = rollup.section("topics");
  REQUIRE(topics != nullptr);
  REQUIRE(!topics->rows.empty());
  for (const auto& row : topics->rows) {
    const std::string topic = std::get<std::string>(row[0]);
    INFO(topic);
    CHECK(number(row[4]) == std::stod(q("SELECT count(DISTINCT user_id) FROM dm.learning_events WHERE kind = 'question_answered'"
                                        " AND ts >= '2026-09-30' AND ts < '2026-11-08' AND topic = '" + topic + "'")));
  }
  // An odd number of hours: the midpoint falls inside an hour.
  const Period odd{at("2026-10-20T00:00:00Z"), at("2026-10-27T03:00:00Z"), "UTC"};
  check_same(make(ReportType::learning, odd, false), make(ReportType::learning, odd, true));
}

TEST_CASE("engagement over more than 63 weeks counts cohorts without week bits and agrees with exact", "[report]")
{
  const Period p{at("2025-08-04T00:00:00Z"), at("2026-11-09T00:00:00Z"), "UTC"};
  check_same(make(ReportType::engagement, p, false), make(ReportType::engagement, p, true));
}

namespace {

/// A database of sessions made to test the rollup's session counting: split
/// over two files (each session's events alternate between them, the second
/// file holding earlier events of many), across UTC and local midnights and
/// DST, plus sessions of 12 hours and more whose gaps cover whole days and a
/// period, events without a session, and users without a users row.
TestDatabase& crafted()
{
  static TestDatabase db;
  static bool done = false;
  if (done)
    return db;
  std::uint64_t state = 42;
  auto next = [&state](int n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int>((state >> 33) % static_cast<std::uint64_t>(n));
  };
  const char* kinds[] = {"question_answered", "question_answered", "lesson_completed", "mock_test_completed"};
  // One topic that COPY's text format escapes (a backslash and a tab).
  const char* topics[] = {"Vorfahrt", "Schilder", "Überholen", "Zeichen\\ und\tTabs"};
  std::string users = "user_id,signup_at,country,platform,channel\n";
  for (int u = 1; u <= 36; ++u)
    users += fmt::format("{},2026-10-{:02}T{:02}:30:00Z,{},{},{}\n", u, 1 + u % 27, u % 24, u % 3 == 0 ? "DE" : "AT",
                         u % 2 == 0 ? "ios" : "web", u % 4 == 0 ? "paid_search" : "organic");
  std::string files[2] = {"ts,user_id,session_id,kind,topic,correct,answer_ms,score\n",
                          "ts,user_id,session_id,kind,topic,correct,answer_ms,score\n"};
  auto event = [&](int file, dm::util::Micros t, int user, const std::string& session) {
    const char* kind = kinds[next(4)];
    const bool answer = std::string(kind) == "question_answered";
    files[file] += fmt::format("{},{},{},{},{},{},{},{}\n", dm::util::format_rfc3339_utc(t), user, session, kind,
                               topics[next(4)], answer ? (next(3) > 0 ? "true" : "false") : "",
                               answer ? std::to_string(500 + next(5000)) : "",
                               std::string(kind) == "mock_test_completed" ? fmt::format("{:.2f}", next(100) / 100.0) : "");
  };
  constexpr dm::util::Micros minute = 60 * dm::util::micros_per_second;
  std::int64_t session = 1000;
  const dm::util::Micros start = at("2026-10-12T00:00:00Z");
  for (int day = 0; day < 24; ++day)
    for (int user = 1; user <= 40; ++user) {
      if (next(3) == 0)
        continue;
      // Often late in the UTC day, so that sessions cross UTC, Berlin and Los Angeles midnights.
      const int hour = next(2) == 0 ? 20 + next(4) : next(24);
      dm::util::Micros t = start + day * dm::util::micros_per_day + hour * dm::util::micros_per_hour + next(60) * minute;
      const int events = 1 + next(12);
      const std::string id = next(10) == 0 ? "" : std::to_string(++session);
      for (int e = 0; e < events; ++e) {
        // The first event goes to the second file for a third of the sessions.
        event((e == 0 && next(3) == 0) ? 1 : e % 2, t, user, id);
        t += (1 + next(15)) * minute;
      }
    }
  // Long sessions: a gap covering whole local days; one covering a period
  // without an event in it; one of 13 hours within two days.
  for (const char* t : {"2026-10-20T10:00:00Z", "2026-10-23T11:00:00Z"})
    event(0, at(t), 5, "1");
  for (const char* t : {"2026-10-19T20:00:00Z", "2026-11-03T09:00:00Z"})
    event(1, at(t), 7, "2");
  for (const char* t : {"2026-10-26T08:00:00Z", "2026-10-26T21:00:00Z", "2026-10-25T23:30:00Z"})
    event(0, at(t), 8, "3");
  const auto load = [](TestDatabase& into, Kind kind, const std::string& csv) {
    TempFile file(csv);
    dm::db::PgConnection conn(into.url());
    IngestOptions o;
    o.kind = kind;
    dm::ingest::ingest_file(conn, file.path(), o);
  };
  load(db, Kind::users, users);
  load(db, Kind::learning, files[0]);
  load(db, Kind::learning, files[1]);
  done = true;
  return db;
}

Report make_crafted(ReportType type, const Period& p, bool exact)
{
  GenerateRequest r;
  r.type = type;
  r.period = p;
  r.exact = exact;
  r.now = at("2026-11-10");
  return dm::report::generate_report(crafted().connection(), r);
}

} // namespace

TEST_CASE("engagement from the rollups counts sessions across files, midnights and long gaps like raw SQL", "[report]")
{
  const std::vector<Period> periods{
      {at("2026-10-19T00:00:00Z"), at("2026-10-26T00:00:00Z"), "UTC"},
      {at("2026-10-21T22:00:00Z"), at("2026-10-28T23:00:00Z"), "Europe/Berlin"},
      {at("2026-10-19T07:00:00Z"), at("2026-10-26T07:00:00Z"), "America/Los_Angeles"},
      {at("2026-10-12T00:00:00Z"), at("2026-11-05T00:00:00Z"), "Europe/Berlin"},
      {at("2026-10-22T00:00:00Z"), at("2026-10-23T00:00:00Z"), "UTC"},
      {at("2026-10-20T05:00:00Z"), at("2026-10-23T17:00:00Z"), "UTC"},
      {at("2026-10-20T05:00:00Z"), at("2026-10-23T17:00:00Z"), "Europe/Berlin"},
      {at("2026-10-21T00:00:00Z"), at("2026-10-24T00:00:00Z"), "Asia/Tokyo"},
      {at("2026-10-22T23:00:00Z"), at("2026-10-23T00:00:00Z"), "UTC"},
      {at("2026-10-25T23:00:00Z"), at("2026-10-26T02:00:00Z"), "Europe/Berlin"},
  };
  for (const Period& p : periods) {
    INFO(dm::util::format_rfc3339_utc(p.from) << " " << dm::util::format_rfc3339_utc(p.to) << " " << p.tz);
    const Report rollup = make_crafted(ReportType::engagement, p, false);
    const Report exact = make_crafted(ReportType::engagement, p, true);
    CHECK(rollup.source == "rollup");
    check_same(rollup, exact);
    // Sessions per local day, as plain SQL counts them.
    const auto* daily = rollup.section("daily");
    REQUIRE(daily != nullptr);
    const std::string where = fmt::format("ts >= '{}' AND ts < '{}'", dm::util::format_rfc3339_utc(p.from),
                                          dm::util::format_rfc3339_utc(p.to));
    pqxx::work txn{crafted().connection()};
    for (const auto& row : daily->rows) {
      const std::string day = std::get<std::string>(row[0]);
      INFO(day);
      CHECK(number(row[2]) == txn.exec_params1("SELECT count(DISTINCT session_id) FROM dm.learning_events WHERE " + where +
                                                   " AND (ts AT TIME ZONE $1)::date = $2::date",
                                               p.tz, day)[0]
                                  .as<double>());
    }
    CHECK(kpi(rollup, "sessions") ==
          txn.exec1("SELECT count(DISTINCT session_id) FROM dm.learning_events WHERE " + where)[0].as<double>());
  }
}

TEST_CASE("learning over part of the history sums answers per user and topic like raw SQL", "[report]")
{
  for (const Period& p : {Period{at("2026-10-19T00:00:00Z"), at("2026-10-26T00:00:00Z"), "UTC"},
                          Period{at("2026-10-21T22:00:00Z"), at("2026-10-28T23:00:00Z"), "Europe/Berlin"},
                          Period{at("2026-10-12T00:00:00Z"), at("2026-11-05T00:00:00Z"), "UTC"},
                          Period{at("2026-10-13T05:00:00Z"), at("2026-11-05T00:00:00Z"), "UTC"}}) {
    INFO(dm::util::format_rfc3339_utc(p.from) << " " << p.tz);
    const Report rollup = make_crafted(ReportType::learning, p, false);
    check_same(rollup, make_crafted(ReportType::learning, p, true));
    const auto* topics = rollup.section("topics");
    REQUIRE(topics != nullptr);
    CHECK(topics->rows.size() == 4);
    pqxx::work txn{crafted().connection()};
    for (const auto& row : topics->rows) {
      const std::string topic = std::get<std::string>(row[0]);
      INFO(topic);
      CHECK(number(row[4]) == txn.exec_params1("SELECT count(DISTINCT user_id) FROM dm.learning_events"
                                               " WHERE kind = 'question_answered' AND ts >= $1 AND ts < $2 AND topic = $3",
                                               dm::util::format_rfc3339_utc(p.from), dm::util::format_rfc3339_utc(p.to), topic)[0]
                                  .as<double>());
    }
  }
}
