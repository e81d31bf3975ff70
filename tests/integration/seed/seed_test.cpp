// Seeding through the real loader: every kind lands with its rollups, and the
// same seed gives the same data.

#include "test_database.hpp"

#include "dm/seed/seed_database.hpp"

#include <catch2/catch.hpp>

using dm::test::TestDatabase;

namespace {

dm::seed::SeedOptions small()
{
  dm::seed::SeedOptions o;
  o.users = 150;
  o.days = 10;
  o.seed = 7;
  o.end = *dm::util::parse_date_or_timestamp("2026-11-02");
  return o;
}

std::string fingerprint(TestDatabase& db)
{
  return db.scalar(
      "SELECT md5(string_agg(x, ',')) FROM ("
      " SELECT (SELECT md5(string_agg(u::text, ',' ORDER BY user_id)) FROM dm.users u) AS x"
      " UNION ALL SELECT (SELECT md5(string_agg(l::text, ',' ORDER BY ts, user_id, session_id, kind, topic, answer_ms)) FROM dm.learning_events l)"
      " UNION ALL SELECT (SELECT md5(string_agg(p::text, ',' ORDER BY ts, user_id, kind)) FROM dm.payments p)"
      " UNION ALL SELECT (SELECT count(*)::text || sum(duration_ms)::text FROM dm.request_metrics)"
      " UNION ALL SELECT (SELECT count(*)::text || sum(cpu)::text FROM dm.host_samples)) t");
}

} // namespace

TEST_CASE("seed loads every kind through the loader, with rollups", "[seed]")
{
  TestDatabase db;
  dm::db::PgConnection raw(db.url());
  CHECK(dm::seed::database_is_empty(raw));
  const auto result = dm::seed::seed_database(raw, small());
  REQUIRE(result.loaded.size() == 5);
  for (const auto& s : result.loaded) {
    INFO(dm::ingest::name_of(s.kind));
    CHECK(s.rows > 0);
    CHECK(db.scalar("SELECT count(*) FROM " + std::string(dm::ingest::table_of(s.kind))) ==
          std::to_string(s.kind == dm::ingest::Kind::users ? 150 : s.rows));
  }
  CHECK_FALSE(dm::seed::database_is_empty(raw));
  // Every raw event is in the period and counted once in the rollups.
  CHECK(db.scalar("SELECT count(*) FROM dm.learning_events WHERE ts < '2026-10-23' OR ts >= '2026-11-02'") == "0");
  CHECK(db.scalar("SELECT sum(events) FROM dm.learning_hourly") ==
        db.scalar("SELECT count(*) FROM dm.learning_events"));
  CHECK(db.scalar("SELECT sum(n) FROM dm.request_rollup_1m") == db.scalar("SELECT count(*) FROM dm.request_metrics"));
  CHECK(db.scalar("SELECT sum(errors) FROM dm.request_rollup_1m") ==
        db.scalar("SELECT count(*) FROM dm.request_metrics WHERE status >= 500"));
  CHECK(db.scalar("SELECT count(*) FROM dm.learning_sessions") ==
        db.scalar("SELECT count(DISTINCT session_id) FROM dm.learning_events"));
  // Realistic enough for the reports: a topic that needs work, a passing mock test or two.
  CHECK(db.scalar("SELECT count(*) > 0 FROM (SELECT topic FROM dm.learning_events WHERE kind = 'question_answered' "
                  "GROUP BY topic HAVING avg(correct::int) < 0.7) t") == "t");
  CHECK(db.scalar("SELECT count(*) > 0 FROM dm.learning_events WHERE topic = 'Überholen'") == "t");
  CHECK(db.scalar("SELECT count(*) > 0 FROM dm.payments WHERE kind = 'subscribe'") == "t");
}

TEST_CASE("the same seed gives the same data", "[seed]")
{
  TestDatabase a, b;
  dm::db::PgConnection raw_a(a.url()), raw_b(b.url());
  dm::seed::seed_database(raw_a, small());
  dm::seed::seed_database(raw_b, small());
  CHECK(fingerprint(a) == fingerprint(b));
  TestDatabase c;
  auto other = small();
  other.seed = 8;
  dm::db::PgConnection raw_c(c.url());
  dm::seed::seed_database(raw_c, other);
  CHECK(fingerprint(a) != fingerprint(c));
}

TEST_CASE("a seed with its rollups on a second connection loads the same tables as one without", "[seed][two-phase]")
{
  TestDatabase a, b;
  dm::db::PgConnection raw_a(a.url()), raw_b(b.url());
  dm::seed::seed_database(raw_a, small());
  const auto result =
      dm::seed::seed_database(raw_b, small(), {}, [url = b.url()] { return std::make_unique<dm::db::PgConnection>(url); });
  for (const auto& loaded : result.loaded)
    CHECK(loaded.rollups_on_second_connection);
  CHECK(b.scalar("SELECT count(*) > 0 FROM dm.learning_hourly") == "t");
  CHECK(dm::test::schema_fingerprint(b) == dm::test::schema_fingerprint(a));
  CHECK(b.scalar("SELECT (SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()) + "
                 "(SELECT count(*) FROM dm.prepared_commits)") == "0");
}
