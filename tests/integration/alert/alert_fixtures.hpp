#pragma once
// Data for the alert tests, loaded through ingest so the rollups are filled
// as in production.

#include "test_database.hpp"

#include "dm/db/pg_connection.hpp"
#include "dm/ingest/ingest.hpp"
#include "dm/util/time.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <functional>
#include <string>

namespace dm::test::alert {

inline dm::util::Micros at(const char* rfc3339)
{
  const auto t = dm::util::parse_rfc3339(rfc3339);
  REQUIRE(t);
  return *t;
}

inline std::string hms(dm::util::Micros t)
{
  return dm::util::format_rfc3339_utc(t).substr(11, 8);
}

/// Loads `data` of `kind` (CSV with a header row) with ingest.
inline void ingest_csv(TestDatabase& db, dm::ingest::Kind kind, std::string data)
{
  dm::db::PgConnection conn(db.url());
  dm::ingest::IngestOptions options;
  options.kind = kind;
  options.format = dm::ingest::Format::csv;
  dm::ingest::ingest_buffer(conn, "alert-test.csv", std::move(data), options);
}

/// 20 requests of service `service` per minute over [from, to) (one every 3 s,
/// 100 ms each); `failing(minute)` makes every request of that minute a 500.
inline void ingest_requests(TestDatabase& db, const std::string& service, dm::util::Micros from, dm::util::Micros to,
                            const std::function<bool(dm::util::Micros)>& failing)
{
  std::string csv = "ts,service,endpoint,status,duration_ms\n";
  for (dm::util::Micros minute = from; minute < to; minute += dm::util::micros_per_minute) {
    const bool bad = failing(minute);
    for (int i = 0; i < 20; ++i)
      csv += fmt::format("{},{},/v1/questions,{},{}\n",
                         dm::util::format_rfc3339_utc(minute + i * 3 * dm::util::micros_per_second), service,
                         bad ? 500 : 200, 100 + i);
  }
  ingest_csv(db, dm::ingest::Kind::requests, std::move(csv));
}

} // namespace dm::test::alert
