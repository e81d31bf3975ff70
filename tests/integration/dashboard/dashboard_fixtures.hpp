#pragma once
// Shared by the dashboard integration tests: one seeded database for the
// whole binary (seeding is the slow part), the backfill of the user-first
// tables, and small JSON accessors.

#include "test_database.hpp"

#include "dm/seed/seed_database.hpp"
#include "dm/util/time.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

namespace dm::test::dashboard {

inline util::Micros at(const char* text)
{
  return *util::parse_date_or_timestamp(text);
}

/// 3000 users over the 42 days before 2026-11-09 (a Monday).
inline TestDatabase& seeded()
{
  static TestDatabase db;
  static bool done = false;
  if (!done) {
    seed::SeedOptions o;
    o.users = 3000;
    o.days = 42;
    o.seed = 23;
    o.end = at("2026-11-09");
    db::PgConnection raw(db.url());
    seed::seed_database(raw, o);
    done = true;
  }
  return db;
}

/// Fills dm.user_topic_totals and dm.user_active_days from dm.learning_events
/// with the statements of share/sql/0005_user_progress.sql, replacing what
/// ingest may have written: the tests then hold whatever ingest does to
/// exactly the definitions of that migration.
inline void backfill_user_progress(pqxx::connection& conn)
{
  pqxx::work txn{conn};
  txn.exec0("TRUNCATE dm.user_topic_totals, dm.user_active_days");
  txn.exec0("INSERT INTO dm.user_topic_totals"
            " SELECT user_id, topic, count(*), count(*) FILTER (WHERE correct), coalesce(sum(answer_ms), 0),"
            " count(answer_ms), min(ts), max(ts)"
            " FROM dm.learning_events WHERE kind = 'question_answered' AND topic IS NOT NULL GROUP BY user_id, topic");
  txn.exec0("INSERT INTO dm.user_active_days"
            " SELECT user_id, (ts AT TIME ZONE 'UTC')::date, count(*), count(*) FILTER (WHERE kind = 'question_answered'),"
            " count(*) FILTER (WHERE kind = 'question_answered' AND correct),"
            " count(*) FILTER (WHERE kind = 'mock_test_completed'),"
            " count(*) FILTER (WHERE kind = 'mock_test_completed' AND score >= 0.86), max(ts)"
            " FROM dm.learning_events GROUP BY 1, 2");
  txn.commit();
}

inline double num(const boost::json::value& v)
{
  if (v.is_int64())
    return static_cast<double>(v.as_int64());
  if (v.is_uint64())
    return static_cast<double>(v.as_uint64());
  if (v.is_double())
    return v.as_double();
  FAIL("not a number: " << boost::json::serialize(v));
  return 0;
}

inline std::int64_t integer(const boost::json::value& v)
{
  REQUIRE(v.is_int64());
  return v.as_int64();
}

inline std::string text(const boost::json::value& v)
{
  REQUIRE(v.is_string());
  return std::string(v.as_string());
}

/// The instant of an RFC 3339 string value.
inline util::Micros instant(const boost::json::value& v)
{
  const auto t = util::parse_rfc3339(text(v));
  REQUIRE(t);
  return *t;
}

/// |a - b| within 1e-9 relative (ratios and means).
inline bool close(double a, double b)
{
  return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b));
}

/// Within 1% of b (sketch percentiles against percentile_cont).
inline bool within_1pct(double a, double b)
{
  return std::abs(a - b) <= 0.01 * std::abs(b) + 1e-9;
}

} // namespace dm::test::dashboard
