// CompanionTransaction and resolve_prepared against a real PostgreSQL: both
// halves commit or neither does, whichever way the main transaction ends,
// and a load cut short between its two commits is finished from its record.

#include "test_database.hpp"

#include "dm/db/two_phase.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

using dm::db::CompanionTransaction;
using dm::db::PgConnection;
using dm::db::PgTransaction;
using dm::test::TestDatabase;

namespace {

void create_tables(TestDatabase& db)
{
  db.scalar("CREATE TABLE main_half (v int); CREATE TABLE second_half (v int); SELECT 1");
}

std::string halves(TestDatabase& db)
{
  return db.scalar("SELECT (SELECT count(*) FROM main_half) || ',' || (SELECT count(*) FROM second_half)");
}

std::string prepared_left(TestDatabase& db)
{
  return db.scalar("SELECT (SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()) || ',' || "
                   "(SELECT count(*) FROM dm.prepared_commits)");
}

/// Owner locks held in the cluster (every session's).
std::string owner_locks(TestDatabase& db)
{
  return db.scalar(fmt::format("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = {}",
                               dm::db::owner_lock_class));
}

void wait_until_gone(TestDatabase& db, int pid)
{
  for (int i = 0; i < 200; ++i) {
    if (db.scalar(fmt::format("SELECT count(*) FROM pg_stat_activity WHERE pid = {}", pid)) == "0")
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("backend " << pid << " is still there after 2 s");
}

} // namespace

TEST_CASE("the test cluster allows prepared transactions", "[db][two-phase]")
{
  TestDatabase db;
  PgConnection conn(db.url());
  // Without them every load would quietly take the one-connection path.
  CHECK(CompanionTransaction::supported(conn));
}

TEST_CASE("a companion transaction commits with the main one and leaves nothing prepared", "[db][two-phase]")
{
  TestDatabase db;
  create_tables(db);
  PgConnection main(db.url());
  {
    PgTransaction txn{main};
    CompanionTransaction second(txn, std::make_unique<PgConnection>(db.url()));
    main.exec("INSERT INTO main_half VALUES (1), (2)");
    second.connection().exec("INSERT INTO second_half VALUES (1), (2), (3)");
    CHECK(second.gid().starts_with("dm_2pc:"));
    // The main session holds the load's owner lock.
    CHECK(owner_locks(db) == "1");
    second.prepare();
    // Prepared and seen waiting, its session at work, its rows not yet
    // committed; neither half visible to others.
    const auto waiting = dm::db::waiting_loads(db.connection());
    REQUIRE(waiting.size() == 1);
    CHECK(waiting[0].gid == second.gid());
    CHECK(waiting[0].owner_alive);
    CHECK_FALSE(waiting[0].recorded);
    CHECK(halves(db) == "0,0");
    second.commit();
  }
  CHECK(dm::db::waiting_loads(db.connection()).empty());
  CHECK(halves(db) == "2,3");
  CHECK(prepared_left(db) == "0,0");
  CHECK(owner_locks(db) == "0");
  // The main connection goes on outside any transaction.
  CHECK(main.query_value("SELECT count(*) FROM second_half") == "3");
}

TEST_CASE("a companion transaction that is not committed rolls back, prepared or not", "[db][two-phase]")
{
  TestDatabase db;
  create_tables(db);
  PgConnection main(db.url());
  const bool prepared = GENERATE(false, true);
  INFO("prepared " << prepared);
  {
    PgTransaction txn{main};
    CompanionTransaction second(txn, std::make_unique<PgConnection>(db.url()));
    main.exec("INSERT INTO main_half VALUES (1)");
    second.connection().exec("INSERT INTO second_half VALUES (1)");
    if (prepared) {
      second.prepare();
      CHECK(db.scalar("SELECT count(*) FROM pg_prepared_xacts WHERE gid = '" + second.gid() + "'") == "1");
    }
    // An error of the load: both go out of scope uncommitted.
  }
  CHECK(halves(db) == "0,0");
  CHECK(prepared_left(db) == "0,0");
  CHECK(owner_locks(db) == "0");
}

TEST_CASE("a main COMMIT the server refuses rolls the prepared half back", "[db][two-phase]")
{
  TestDatabase db;
  create_tables(db);
  // Checked at COMMIT: the refusal comes after the second half is prepared.
  db.scalar(R"(CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
    $$BEGIN RAISE EXCEPTION 'main half refused at commit'; END$$;
    CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON main_half DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION refuse(); SELECT 1)");
  PgConnection main(db.url());
  {
    PgTransaction txn{main};
    CompanionTransaction second(txn, std::make_unique<PgConnection>(db.url()));
    main.exec("INSERT INTO main_half VALUES (1)");
    second.connection().exec("INSERT INTO second_half VALUES (1)");
    CHECK_THROWS_WITH(second.commit(), Catch::Contains("main half refused at commit"));
  }
  CHECK(halves(db) == "0,0");
  CHECK(prepared_left(db) == "0,0");
}

TEST_CASE("resolve_prepared finishes the loads of ended sessions from their records and leaves live ones",
          "[db][two-phase]")
{
  TestDatabase db;
  create_tables(db);
  // Three loads stopped between their two commits, as a killed process
  // leaves them: A committed its main half (its record exists), B did not,
  // C's main session is still there. Each main session holds its owner lock.
  auto start_main = [&db](std::int32_t key) {
    auto main = std::make_unique<PgConnection>(db.url());
    main->query_value(fmt::format("SELECT pg_advisory_lock({}, {})", dm::db::owner_lock_class, key));
    return main;
  };
  auto prepare_second = [&db](std::int32_t key, int value) {
    const std::string gid = fmt::format("dm_2pc:{}:00000000000000{:02}", key, value);
    PgConnection c(db.url());
    c.exec("BEGIN");
    c.exec(fmt::format("INSERT INTO second_half VALUES ({})", value));
    c.exec("PREPARE TRANSACTION '" + gid + "'");
    return gid;
  };
  auto a_main = start_main(1001);
  const int a_pid = PQbackendPID(a_main->native());
  const std::string a = prepare_second(1001, 1);
  a_main->exec("BEGIN");
  a_main->exec("INSERT INTO main_half VALUES (1)");
  a_main->query_value("INSERT INTO dm.prepared_commits (gid) VALUES ($1)", {a});
  a_main->exec("COMMIT");

  auto b_main = start_main(1002);
  const int b_pid = PQbackendPID(b_main->native());
  const std::string b = prepare_second(1002, 2);
  b_main->exec("BEGIN");
  b_main->exec("INSERT INTO main_half VALUES (2)");

  auto c_main = start_main(1003);
  const std::string c = prepare_second(1003, 3);

  // All three sessions live: nothing is decided.
  CHECK(dm::db::resolve_prepared(db.connection()).empty());
  CHECK(db.scalar("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()") == "3");

  a_main.reset();
  b_main.reset();  // its main half rolls back with the session
  wait_until_gone(db, a_pid);
  wait_until_gone(db, b_pid);
  // As `db status` shows them: A's rows committed, B's not, C at work.
  const auto waiting = dm::db::waiting_loads(db.connection());
  REQUIRE(waiting.size() == 3);
  CHECK((waiting[0].gid == a && waiting[0].recorded && !waiting[0].owner_alive));
  CHECK((waiting[1].gid == b && !waiting[1].recorded && !waiting[1].owner_alive));
  CHECK((waiting[2].gid == c && !waiting[2].recorded && waiting[2].owner_alive));
  const auto done = dm::db::resolve_prepared(db.connection());
  REQUIRE(done.size() == 2);
  CHECK(done[0] == "committed prepared transaction " + a + " of an ended session");
  CHECK(done[1] == "rolled back prepared transaction " + b + " of an ended session");
  CHECK(db.scalar("SELECT string_agg(v::text, ',' ORDER BY v) FROM main_half") == "1");
  CHECK(db.scalar("SELECT string_agg(v::text, ',' ORDER BY v) FROM second_half") == "1");
  CHECK(db.scalar("SELECT string_agg(gid, ',') FROM pg_prepared_xacts WHERE database = current_database()") == c);
  CHECK(db.scalar("SELECT count(*) FROM dm.prepared_commits") == "0");
  // The resolver let go of the owner locks it took to decide.
  CHECK(owner_locks(db) == "1");
  // C is its owner's to finish.
  PgConnection(db.url()).exec("ROLLBACK PREPARED '" + c + "'");
}

TEST_CASE("a COMMIT of a transaction that had failed throws instead of passing for a commit", "[db][two-phase]")
{
  TestDatabase db;
  create_tables(db);
  PgConnection conn(db.url());
  PgTransaction txn{conn};
  conn.exec("INSERT INTO main_half VALUES (1)");
  CHECK_THROWS(conn.exec("SELECT 1/0"));
  // The server answers this COMMIT with ROLLBACK and no error.
  CHECK_THROWS_WITH(txn.commit(), Catch::Contains("the transaction had failed and was rolled back"));
  CHECK(halves(db) == "0,0");
}
