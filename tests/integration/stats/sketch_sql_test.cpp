// The SQL functions of share/sql/0002_sketch.sql against dm::stats::Sketch:
// merging serialised sketches in PostgreSQL must give the same bytes as
// Sketch::merge, because ingest merges in SQL (ON CONFLICT) and reports read
// the result in C++.

#include "dm/stats/sketch.hpp"
#include "test_database.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

using dm::stats::Sketch;

namespace {

/// Sketches of request durations with the shapes ingest produces: mostly
/// lognormal, some zeros, a few outliers, some empty.
std::vector<Sketch> random_sketches(std::size_t how_many, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> duration(3, 1.2);
  std::uniform_int_distribution<int> size(0, 400);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Sketch> sketches(how_many);
  for (std::size_t i = 0; i < how_many; ++i) {
    const int n = i % 9 == 4 ? 0 : size(rng);
    for (int j = 0; j < n; ++j) {
      const double p = u(rng);
      sketches[i].insert(p < 0.05 ? 0.0 : p > 0.995 ? duration(rng) * 1e4 : duration(rng));
    }
  }
  return sketches;
}

Sketch merged(const std::vector<Sketch>& sketches) {
  Sketch all;
  for (const Sketch& s : sketches) {
    all.merge(s);
  }
  return all;
}

/// A bytea result as the bytes it holds.
std::string bytes_of(const pqxx::field& field) { return pqxx::binarystring(field).str(); }

/// dm.sketch_merge of two serialised sketches, std::nullopt passed as NULL.
std::string sql_merge(pqxx::transaction_base& txn, const std::optional<std::string>& a,
                      const std::optional<std::string>& b) {
  const std::string sql = "SELECT dm.sketch_merge($1, $2)";
  const pqxx::row row = a && b ? txn.exec_params1(sql, pqxx::binarystring(*a), pqxx::binarystring(*b))
                        : a    ? txn.exec_params1(sql, pqxx::binarystring(*a), nullptr)
                        : b    ? txn.exec_params1(sql, nullptr, pqxx::binarystring(*b))
                               : txn.exec_params1(sql, nullptr, nullptr);
  REQUIRE_FALSE(row[0].is_null());
  return bytes_of(row[0]);
}

/// One serialised entry, for sketches built byte by byte.
std::string entry(std::int32_t key, std::uint64_t count) {
  const auto k = static_cast<std::uint32_t>(key);
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>(k >> shift));
  }
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>(count >> shift));
  }
  return out;
}

void insert_parts(pqxx::transaction_base& txn, const std::vector<Sketch>& sketches) {
  txn.exec0("CREATE TEMP TABLE sketch_parts (id integer PRIMARY KEY, sketch bytea)");
  for (std::size_t i = 0; i < sketches.size(); ++i) {
    txn.exec_params0("INSERT INTO sketch_parts VALUES ($1, $2)", static_cast<int>(i),
                     pqxx::binarystring(sketches[i].serialize()));
  }
}

} // namespace

TEST_CASE("dm.sketch_merge equals Sketch::merge byte for byte", "[sketch]") {
  dm::test::TestDatabase db;
  pqxx::work txn{db.connection()};
  const std::vector<Sketch> sketches = random_sketches(40, 1);

  for (std::size_t i = 0; i + 1 < sketches.size(); ++i) {
    Sketch expected = sketches[i];
    expected.merge(sketches[i + 1]);
    CAPTURE(i);
    CHECK(sql_merge(txn, sketches[i].serialize(), sketches[i + 1].serialize()) == expected.serialize());
  }

  // A fold in SQL, one pair at a time, as repeated upserts do.
  std::string folded;
  for (const Sketch& s : sketches) {
    folded = sql_merge(txn, folded, s.serialize());
  }
  const Sketch expected = merged(sketches);
  CHECK(folded == expected.serialize());
  const Sketch restored = Sketch::deserialize(folded);
  CHECK(restored.count() == expected.count());
  CHECK(restored.zero_count() == expected.zero_count());
}

TEST_CASE("dm.sketch_merge treats NULL and the empty sketch as empty", "[sketch]") {
  dm::test::TestDatabase db;
  pqxx::work txn{db.connection()};
  const std::string some = random_sketches(1, 2).front().serialize();
  REQUIRE_FALSE(some.empty());

  CHECK(sql_merge(txn, std::nullopt, std::nullopt).empty());
  CHECK(sql_merge(txn, std::string(), std::string()).empty());
  CHECK(sql_merge(txn, std::nullopt, some) == some);
  CHECK(sql_merge(txn, some, std::nullopt) == some);
  CHECK(sql_merge(txn, std::string(), some) == some);
  CHECK(txn.exec1("SELECT dm.sketch_count(NULL)")[0].as<long long>() == 0);
  CHECK(txn.exec1("SELECT dm.sketch_count(''::bytea)")[0].as<long long>() == 0);
}

TEST_CASE("dm.sketch_merge_agg and dm.sketch_merge_all equal Sketch::merge", "[sketch]") {
  dm::test::TestDatabase db;
  pqxx::work txn{db.connection()};
  const std::vector<Sketch> sketches = random_sketches(60, 3);
  insert_parts(txn, sketches);
  txn.exec0("INSERT INTO sketch_parts VALUES (1000, NULL)");
  const std::string expected = merged(sketches).serialize();

  CHECK(bytes_of(txn.exec1("SELECT dm.sketch_merge_agg(sketch) FROM sketch_parts")[0]) == expected);
  CHECK(bytes_of(txn.exec1("SELECT dm.sketch_merge_agg(sketch ORDER BY id DESC) FROM sketch_parts")[0]) ==
        expected);
  CHECK(bytes_of(txn.exec1("SELECT dm.sketch_merge_all(array_agg(sketch)) FROM sketch_parts")[0]) == expected);
  // No rows: the empty sketch, not NULL, so callers always get a sketch.
  CHECK(bytes_of(txn.exec1("SELECT dm.sketch_merge_agg(sketch) FROM sketch_parts WHERE false")[0]).empty());
  CHECK(bytes_of(txn.exec1("SELECT dm.sketch_merge_all(array_agg(sketch)) FROM sketch_parts WHERE false")[0])
            .empty());

  // Grouped, as a report per service does.
  const pqxx::result groups =
      txn.exec("SELECT id % 3, dm.sketch_merge_agg(sketch) FROM sketch_parts WHERE id < 1000 GROUP BY 1");
  REQUIRE(groups.size() == 3);
  for (const pqxx::row& row : groups) {
    const auto group = row[0].as<std::size_t>();
    Sketch expected_group;
    for (std::size_t i = group; i < sketches.size(); i += 3) {
      expected_group.merge(sketches[i]);
    }
    CAPTURE(group);
    CHECK(bytes_of(row[1]) == expected_group.serialize());
  }
}

TEST_CASE("dm.sketch_count equals Sketch::count", "[sketch]") {
  dm::test::TestDatabase db;
  pqxx::work txn{db.connection()};
  const std::vector<Sketch> sketches = random_sketches(30, 4);
  insert_parts(txn, sketches);
  for (const pqxx::row& row : txn.exec("SELECT id, dm.sketch_count(sketch) FROM sketch_parts")) {
    const auto id = row[0].as<std::size_t>();
    CAPTURE(id);
    CHECK(row[1].as<std::uint64_t>() == sketches.at(id).count());
  }
}

TEST_CASE("The ingest upsert merges sketches with dm.sketch_merge", "[sketch]") {
  dm::test::TestDatabase db;
  pqxx::work txn{db.connection()};
  const std::vector<Sketch> sketches = random_sketches(24, 5);
  // Three files each bring a sketch for the same four rollup rows.
  for (std::size_t i = 0; i < sketches.size(); ++i) {
    txn.exec_params0(
        "INSERT INTO dm.request_rollup_1m AS t (bucket, service, endpoint, n, errors, sum_ms, sketch) "
        "VALUES (timestamptz '2026-11-02 08:15:00Z' + $1 * interval '1 minute', 'api', '/q', $2, 0, 0, $3) "
        "ON CONFLICT (bucket, service, endpoint) DO UPDATE "
        "SET n = t.n + excluded.n, sketch = dm.sketch_merge(t.sketch, excluded.sketch)",
        static_cast<int>(i % 4), static_cast<long long>(sketches[i].count()),
        pqxx::binarystring(sketches[i].serialize()));
  }
  const pqxx::result rows = txn.exec(
      "SELECT extract(minute FROM bucket)::int - 15, n, sketch, dm.sketch_count(sketch) "
      "FROM dm.request_rollup_1m ORDER BY bucket");
  REQUIRE(rows.size() == 4);
  for (const pqxx::row& row : rows) {
    const auto minute = row[0].as<std::size_t>();
    Sketch expected;
    for (std::size_t i = minute; i < sketches.size(); i += 4) {
      expected.merge(sketches[i]);
    }
    CAPTURE(minute);
    CHECK(bytes_of(row[2]) == expected.serialize());
    CHECK(row[1].as<std::uint64_t>() == expected.count());
    CHECK(row[3].as<std::uint64_t>() == expected.count());
    const Sketch restored = Sketch::deserialize(bytes_of(row[2]));
    for (const double q : {0.5, 0.95, 0.99}) {
      // Same buckets; the restored min/max are bucket estimates, so compare
      // within the sketch's accuracy.
      CHECK(restored.quantile(q) == Approx(expected.quantile(q)).epsilon(2 * Sketch::relative_accuracy));
    }
  }
}

TEST_CASE("dm.sketch_merge decodes extreme keys and counts like Sketch", "[sketch]") {
  dm::test::TestDatabase db;
  pqxx::work txn{db.connection()};
  constexpr auto int64_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const std::string a = entry(Sketch::zero_key, 1) + entry(Sketch::min_key, 2) + entry(-1, 0xff) +
                        entry(0, 0x0102030405060708ULL) + entry(Sketch::max_key, 3);
  // Together they count INT64_MAX - 606 values, close to the int64 limit.
  const std::string b = entry(Sketch::zero_key, int64_max - 0x0102030405060708ULL - 0xff00ff00ff00ULL - 1000) +
                        entry(-256, 1) +
                        entry(-1, 0x80) + entry(255, 0xff00ff00ff00ULL) + entry(Sketch::max_key, 4);

  Sketch expected = Sketch::deserialize(a);
  expected.merge(Sketch::deserialize(b));
  REQUIRE(expected.count() == int64_max - 606);
  CHECK(sql_merge(txn, a, b) == expected.serialize());
  CHECK(sql_merge(txn, b, a) == expected.serialize());
  CHECK(txn.exec_params1("SELECT dm.sketch_count($1)", pqxx::binarystring(b))[0].as<std::uint64_t>() ==
        Sketch::deserialize(b).count());
}

TEST_CASE("dm.sketch_merge refuses malformed sketches and overflowing counts", "[sketch]") {
  dm::test::TestDatabase db;
  const std::string good = entry(7, 1);
  const auto merge_fails = [&](const std::string& a, const std::string& b, const std::string& message) {
    pqxx::work txn{db.connection()};
    CHECK_THROWS_WITH(sql_merge(txn, a, b), Catch::Contains(message));
  };
  merge_fails(good.substr(0, 11), good, "11 bytes is not a whole number of 12-byte entries");
  merge_fails(good, good + "x", "13 bytes is not a whole number of 12-byte entries");
  const auto int64_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  merge_fails(entry(7, int64_max), good, "bigint out of range");
}
