#include "test_database.hpp"

#include "dm/db/migrator.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

namespace dm::test {

namespace {

}

/// The template is named after the schema it holds, so that a changed
/// migration gets a new template instead of a stale one.
const std::string& template_database_name()
{
  static const std::string name = [] {
    std::string all;
    for (const auto& m : dm::db::bundled_migrations())
      all += dm::db::checksum_of(m);
    return "dm_tmpl_" + dm::db::checksum_of({0, "", all});
  }();
  return name;
}

namespace {

/// Creates the migrated template once per cluster; concurrent test processes
/// serialise on an advisory lock.
void ensure_template(dm::db::Database& db)
{
  const std::string& template_name = template_database_name();
  pqxx::connection admin{db.cluster()->connection_string("postgres")};
  pqxx::nontransaction txn{admin};
  txn.exec("SELECT pg_advisory_lock(4242)");
  try {
    if (txn.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", template_name).empty()) {
      txn.exec0(fmt::format("CREATE DATABASE {}", template_name));
      pqxx::connection t{db.cluster()->connection_string(template_name)};
      dm::db::migrate(t);
    }
  } catch (...) {
    txn.exec("SELECT pg_advisory_unlock(4242)");
    throw;
  }
  txn.exec("SELECT pg_advisory_unlock(4242)");
}

} // namespace

std::string test_state_dir()
{
  if (const char* env = std::getenv("DM_TEST_STATE_DIR"); env && *env)
    return env;
  return DM_TEST_STATE_DIR;
}

std::string bin_dir()
{
  return DM_BIN_DIR;
}

dm::db::Database& TestDatabase::cluster()
{
  static const std::unique_ptr<dm::db::Database> db = [] {
    std::filesystem::create_directories(test_state_dir());
    chmod(test_state_dir().c_str(), 0755);
    auto d = std::make_unique<dm::db::Database>(dm::db::Database::Options{.url = "",
                                                                         .state_dir = test_state_dir(),
                                                                         .stop_when_unused = false,
                                                                         .unsafe_fast = true,
                                                                         .statement_timeout_s = 0});
    ensure_template(*d);
    return d;
  }();
  return *db;
}

TestDatabase::TestDatabase()
{
  static std::atomic<int> counter{0};
  auto& db = cluster();
  name_ = fmt::format("dm_test_{}_{}", getpid(), counter++);
  {
    pqxx::connection admin{db.cluster()->connection_string("postgres")};
    pqxx::nontransaction txn{admin};
    txn.exec0(fmt::format("DROP DATABASE IF EXISTS {}", name_));
    txn.exec0(fmt::format("CREATE DATABASE {} TEMPLATE {}", name_, template_database_name()));
  }
  url_ = db.cluster()->connection_string(name_);
}

TestDatabase::~TestDatabase()
{
  try {
    conn_.reset();
    pqxx::connection admin{cluster().cluster()->connection_string("postgres")};
    pqxx::nontransaction txn{admin};
    // A prepared transaction a failed test left would keep the database.
    const auto prepared = txn.exec_params("SELECT gid FROM pg_prepared_xacts WHERE database = $1", name_);
    if (!prepared.empty()) {
      pqxx::connection own{url_};
      pqxx::nontransaction rollback{own};
      for (const auto& row : prepared)
        rollback.exec0("ROLLBACK PREPARED " + rollback.quote(row[0].as<std::string>()));
    }
    txn.exec0(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name_));
  } catch (...) {
    // a leftover test database is dropped by the next `dm_test_cluster start`
  }
}

pqxx::connection& TestDatabase::connection()
{
  if (!conn_)
    conn_ = connect();
  return *conn_;
}

std::unique_ptr<pqxx::connection> TestDatabase::connect() const
{
  auto c = std::make_unique<pqxx::connection>(url_);
  pqxx::nontransaction txn{*c};
  txn.exec("SET TimeZone = 'UTC'");
  return c;
}

std::string TestDatabase::scalar(const std::string& sql)
{
  pqxx::nontransaction txn{connection()};
  auto r = txn.exec1(sql);
  return r[0].is_null() ? std::string() : r[0].as<std::string>();
}

std::string schema_fingerprint(TestDatabase& db)
{
  return db.scalar(R"(SELECT string_agg(tablename || ':' || (xpath('/row/c/text()', query_to_xml(format(
    'SELECT md5(coalesce(string_agg(t::text, ''|'' ORDER BY t::text), '''')) AS c FROM dm.%I t', tablename),
    false, true, '')))[1]::text, ',' ORDER BY tablename)
    FROM pg_tables WHERE schemaname = 'dm' AND tablename NOT IN ('schema_migrations', 'prepared_commits'))");
}

} // namespace dm::test
