// The embedded cluster: first start with initdb, reuse by a second user, stop
// by the last one, and recovery from a crash that left postmaster.pid behind.

#include "test_database.hpp"

#include "dm/db/embedded_cluster.hpp"
#include "dm/db/migrator.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <csignal>
#include <fstream>
#include <sys/stat.h>
#include <thread>

namespace fs = std::filesystem;
using dm::db::EmbeddedCluster;

namespace {

/// A state folder of its own, reachable by the postgres user, removed after.
struct StateDir {
  fs::path path;
  StateDir()
  {
    char templ[] = "/tmp/dm-cluster-test-XXXXXX";
    path = mkdtemp(templ);
    chmod(path.c_str(), 0755);
  }
  ~StateDir()
  {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

bool answers(const std::string& url)
{
  try {
    pqxx::connection c{url};
    pqxx::nontransaction t{c};
    return t.exec1("SELECT 1")[0].as<int>() == 1;
  } catch (const std::exception&) {
    return false;
  }
}

long postmaster_pid(const fs::path& data_dir)
{
  std::ifstream in(data_dir / "postmaster.pid");
  long pid = 0;
  in >> pid;
  return pid;
}

} // namespace

TEST_CASE("the first user starts the cluster, later users join, the last one stops it", "[db][cluster]")
{
  StateDir state;
  std::string url;
  {
    EmbeddedCluster first({.state_dir = state.path, .stop_when_unused = true, .unsafe_fast = true});
    CHECK(first.started_here());
    CHECK(fs::exists(first.data_dir() / "PG_VERSION"));
    url = first.connection_string();
    CHECK(answers(url));
    {
      EmbeddedCluster second({.state_dir = state.path, .stop_when_unused = true, .unsafe_fast = true});
      CHECK_FALSE(second.started_here());
      CHECK(second.connection_string() == url);
    }
    // The second user left; the first still holds the cluster.
    CHECK(answers(url));
  }
  CHECK_FALSE(answers(url));
  CHECK_FALSE(fs::exists(state.path / "pg" / "postmaster.pid"));

  // Started again on the existing data folder, with no initdb.
  EmbeddedCluster again({.state_dir = state.path, .stop_when_unused = true, .unsafe_fast = true});
  CHECK(again.started_here());
  CHECK(answers(url));
}

TEST_CASE("a cluster whose server was killed is recovered from its stale postmaster.pid", "[db][cluster]")
{
  StateDir state;
  std::string url;
  {
    // Durable settings: what a crash must not lose is what a real cluster keeps.
    EmbeddedCluster c({.state_dir = state.path, .stop_when_unused = false, .unsafe_fast = false});
    url = c.connection_string();
    pqxx::connection conn{url};
    pqxx::work txn{conn};
    txn.exec0("CREATE TABLE kept (x int)");
    txn.exec0("INSERT INTO kept VALUES (42)");
    txn.commit();
  }
  const long pid = postmaster_pid(state.path / "pg");
  REQUIRE(pid > 0);
  // A crash: the postmaster dies without cleaning up. Its children notice and exit.
  REQUIRE(kill(static_cast<pid_t>(pid), SIGKILL) == 0);
  for (int i = 0; i < 100 && kill(static_cast<pid_t>(pid), 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(fs::exists(state.path / "pg" / "postmaster.pid"));
  // Wait for the orphaned backends to go, as they would after a real crash.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  EmbeddedCluster recovered({.state_dir = state.path, .stop_when_unused = true, .unsafe_fast = true});
  CHECK(recovered.started_here());
  pqxx::connection conn{recovered.connection_string()};
  pqxx::nontransaction txn{conn};
  CHECK(txn.exec1("SELECT x FROM kept")[0].as<int>() == 42);
}

TEST_CASE("a postmaster.pid naming an unrelated live process is recovered too", "[db][cluster]")
{
  StateDir state;
  {
    EmbeddedCluster c({.state_dir = state.path, .stop_when_unused = true, .unsafe_fast = true});
  }
  // After a reboot the old pid may belong to anything, e.g. this test process.
  std::ofstream(state.path / "pg" / "postmaster.pid") << getpid() << "\n" << (state.path / "pg").string() << "\n";
  EmbeddedCluster c({.state_dir = state.path, .stop_when_unused = true, .unsafe_fast = true});
  CHECK(c.started_here());
  CHECK(answers(c.connection_string()));
}

TEST_CASE("migrations apply once, concurrently, and report their state", "[db][migrate]")
{
  auto& cluster = dm::test::TestDatabase::cluster();
  const std::string name = "dm_test_migrate_" + std::to_string(getpid());
  {
    pqxx::connection admin{cluster.cluster()->connection_string("postgres")};
    pqxx::nontransaction txn{admin};
    txn.exec0("DROP DATABASE IF EXISTS " + name);
    txn.exec0("CREATE DATABASE " + name);
  }
  const std::string url = cluster.cluster()->connection_string(name);
  {
    pqxx::connection conn{url};
    CHECK_FALSE(dm::db::is_current(conn));
    const auto pending = dm::db::migration_status(conn);
    REQUIRE(pending.size() == dm::db::bundled_migrations().size());
    CHECK_FALSE(pending.front().applied_at);
  }
  // Four daemons starting at once: every migration is applied exactly once.
  std::vector<int> applied(4, -1);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < applied.size(); ++i)
    threads.emplace_back([&, i] {
      pqxx::connection conn{url};
      applied[i] = dm::db::migrate(conn);
    });
  for (auto& t : threads)
    t.join();
  int total = 0;
  for (int n : applied)
    total += n;
  CHECK(total == static_cast<int>(dm::db::bundled_migrations().size()));
  {
    pqxx::connection conn{url};
    CHECK(dm::db::is_current(conn));
    CHECK(dm::db::migrate(conn) == 0);
    pqxx::nontransaction txn{conn};
    CHECK(txn.exec1("SELECT count(*) FROM dm.schema_migrations")[0].as<std::size_t>() ==
          dm::db::bundled_migrations().size());
  }
  {
    // A migration whose SQL changed after it ran is refused, not skipped.
    pqxx::connection conn{url};
    {
      pqxx::work txn{conn};
      txn.exec0("UPDATE dm.schema_migrations SET checksum = '0000000000000000' WHERE version = 1");
      txn.commit();
    }
    CHECK_FALSE(dm::db::is_current(conn));
    CHECK(dm::db::migration_status(conn).front().changed);
    CHECK_THROWS_WITH(dm::db::migrate(conn), Catch::Contains("was applied with other SQL"));
  }
  pqxx::connection admin{cluster.cluster()->connection_string("postgres")};
  pqxx::nontransaction txn{admin};
  txn.exec0("DROP DATABASE " + name + " WITH (FORCE)");
}
