// BinaryCopy against a real PostgreSQL, with and without its sending thread:
// every row arrives, the server's refusal is reported by finish(), and an
// abandoned copy leaves the connection usable with nothing written.

#include "test_database.hpp"

#include "dm/db/pg_connection.hpp"

#include <catch2/catch.hpp>

#include <string>

using dm::db::BinaryCopy;
using dm::db::PgConnection;
using dm::db::PgTransaction;
using dm::test::TestDatabase;

namespace {

void create_table(PgConnection& conn)
{
  conn.exec("CREATE TABLE copy_target (id bigint NOT NULL, name text, v integer CHECK (v >= 0))");
}

void put_row(BinaryCopy& copy, std::int64_t id, std::int32_t v)
{
  copy.begin_row(3);
  copy.int64(id);
  copy.text("row " + std::to_string(id));
  copy.int32(v);
}

} // namespace

TEST_CASE("binary copy sends every row, with a sending thread far behind the writer or without one", "[db][copy]")
{
  TestDatabase db;
  PgConnection conn(db.url());
  create_table(conn);
  // 0: the writer sends; 64 KiB: the queue is full most of the time; 1 GiB:
  // never full, the thread trails the writer by the whole table.
  const std::size_t send_ahead = GENERATE(std::size_t{0}, std::size_t{64} << 10, std::size_t{1} << 30);
  INFO("send_ahead " << send_ahead);
  const std::int64_t rows = 200'000;
  {
    PgTransaction txn{conn};
    conn.exec("TRUNCATE copy_target");
    BinaryCopy copy(conn, "copy_target", {"id", "name", "v"}, send_ahead);
    for (std::int64_t i = 1; i <= rows; ++i)
      put_row(copy, i, static_cast<std::int32_t>(i % 1000));
    CHECK(copy.finish() == static_cast<std::uint64_t>(rows));
    txn.commit();
  }
  CHECK(db.scalar("SELECT count(*) || ',' || sum(id) || ',' || count(DISTINCT name) FROM copy_target") ==
        std::to_string(rows) + "," + std::to_string(rows * (rows + 1) / 2) + "," + std::to_string(rows));
}

TEST_CASE("binary copy with a sending thread: a row the server refuses fails finish() and commits nothing",
          "[db][copy]")
{
  TestDatabase db;
  PgConnection conn(db.url());
  create_table(conn);
  {
    PgTransaction txn{conn};
    BinaryCopy copy(conn, "copy_target", {"id", "name", "v"}, std::size_t{64} << 10);
    for (std::int64_t i = 1; i <= 50'000; ++i)
      put_row(copy, i, i == 40'000 ? -1 : 1);
    REQUIRE_THROWS_WITH(copy.finish(), Catch::Contains("copy_target_v_check"));
  }
  // The connection is usable again and nothing was written.
  CHECK(conn.query_value("SELECT count(*) FROM copy_target") == "0");
}

TEST_CASE("binary copy with a sending thread: an abandoned copy writes nothing and frees the connection",
          "[db][copy]")
{
  TestDatabase db;
  PgConnection conn(db.url());
  create_table(conn);
  {
    PgTransaction txn{conn};
    BinaryCopy copy(conn, "copy_target", {"id", "name", "v"}, std::size_t{1} << 30);
    for (std::int64_t i = 1; i <= 100'000; ++i)
      put_row(copy, i, 1);
    // Destroyed unfinished (as when the input turns out bad), then rolled back.
  }
  CHECK(conn.query_value("SELECT count(*) FROM copy_target") == "0");
  {
    PgTransaction txn{conn};
    BinaryCopy copy(conn, "copy_target", {"id", "name", "v"}, std::size_t{1} << 20);
    put_row(copy, 7, 7);
    CHECK(copy.finish() == 1);
    txn.commit();
  }
  CHECK(conn.query_value("SELECT sum(v) FROM copy_target") == "7");
}
