// store_host_sample writes dm.host_samples rows that read back exactly, NULL
// for what was not measured, and refuses values the table's CHECKs would.

#include "test_database.hpp"

#include "dm/metrics/host_sampler.hpp"
#include "dm/util/time.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <cmath>
#include <limits>
#include <stdexcept>

using namespace dm::metrics;

TEST_CASE("store_host_sample inserts a row that reads back", "[metrics][host][db]")
{
  dm::test::TestDatabase db;
  const auto ts = dm::util::parse_rfc3339("2026-11-02T08:15:00.123456Z");
  REQUIRE(ts);

  HostSample s;
  s.cpu = 0.25;
  s.mem = 0.5;
  s.disk = 0.875;
  s.load1 = 3.5;
  store_host_sample(db.connection(), "web-1", s, *ts);

  CHECK(db.scalar("SELECT count(*) FROM dm.host_samples") == "1");
  CHECK(db.scalar("SELECT (extract(epoch FROM ts) * 1000000)::bigint FROM dm.host_samples") ==
        std::to_string(*ts));
  CHECK(db.scalar("SELECT format('%s|%s|%s|%s|%s', host, cpu, mem, disk, load1) FROM dm.host_samples") ==
        "web-1|0.25|0.5|0.875|3.5");

  // The statement is prepared once per connection; a second store reuses it.
  s.cpu = 1;
  s.disk = std::numeric_limits<double>::quiet_NaN(); // not measured
  store_host_sample(db.connection(), "web-2", s, *ts + dm::util::micros_per_minute);
  CHECK(db.scalar("SELECT count(*) FROM dm.host_samples") == "2");
  CHECK(db.scalar("SELECT format('%s|%s', cpu, disk IS NULL) FROM dm.host_samples WHERE host = 'web-2'") ==
        "1|t");
}

TEST_CASE("store_host_sample stores a real sample of this machine", "[metrics][host][db]")
{
  dm::test::TestDatabase db;
  HostSampler sampler({"/"});
  const HostSample s = sampler.sample();
  const auto now = dm::util::now();
  store_host_sample(db.connection(), "this-host", s, now);
  CHECK(db.scalar("SELECT count(*) FROM dm.host_samples WHERE host = 'this-host' AND cpu BETWEEN 0 AND 1 "
                  "AND mem BETWEEN 0 AND 1 AND disk BETWEEN 0 AND 1 AND load1 >= 0") == "1");
}

TEST_CASE("store_host_sample refuses out-of-range values and joins the caller's transaction", "[metrics][host][db]")
{
  dm::test::TestDatabase db;
  const auto ts = dm::util::now();
  HostSample bad;
  bad.cpu = 1.5;
  CHECK_THROWS_AS(store_host_sample(db.connection(), "h", bad, ts), std::invalid_argument);
  bad.cpu = 0;
  bad.load1 = -1;
  CHECK_THROWS_AS(store_host_sample(db.connection(), "h", bad, ts), std::invalid_argument);
  CHECK(db.scalar("SELECT count(*) FROM dm.host_samples") == "0");

  HostSample ok;
  {
    pqxx::work txn{db.connection()};
    store_host_sample(txn, "a", ok, ts);
    store_host_sample(txn, "b", ok, ts);
    // Not committed: rolled back when txn goes out of scope.
  }
  CHECK(db.scalar("SELECT count(*) FROM dm.host_samples") == "0");
  {
    pqxx::work txn{db.connection()};
    store_host_sample(txn, "a", ok, ts);
    store_host_sample(txn, "b", ok, ts);
    txn.commit();
  }
  CHECK(db.scalar("SELECT string_agg(host, ',' ORDER BY host) FROM dm.host_samples") == "a,b");
}
