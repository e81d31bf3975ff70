#include "dm/db/migrator.hpp"

#include <fmt/format.h>

#include <map>
#include <stdexcept>

namespace dm::db {

namespace {

/// Advisory lock key serialising migrators: "dm-migr" as a number.
constexpr long long migration_lock_key = 0x646d2d6d696772LL;

void ensure_bookkeeping(pqxx::connection_base& conn)
{
  pqxx::work txn{conn};
  txn.exec0("CREATE SCHEMA IF NOT EXISTS dm");
  txn.exec0(
      "CREATE TABLE IF NOT EXISTS dm.schema_migrations ("
      " version integer PRIMARY KEY,"
      " name text NOT NULL,"
      " applied_at timestamptz NOT NULL DEFAULT now())");
  txn.commit();
}

std::map<int, std::pair<std::string, std::string>> applied(pqxx::transaction_base& txn)
{
  std::map<int, std::pair<std::string, std::string>> out;
  for (const auto& row : txn.exec(
           "SELECT version, name, to_char(applied_at AT TIME ZONE 'UTC', "
           "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM dm.schema_migrations ORDER BY version"))
    out.emplace(row[0].as<int>(), std::pair{row[1].as<std::string>(), row[2].as<std::string>()});
  return out;
}

bool schema_exists(pqxx::transaction_base& txn)
{
  return txn.exec1("SELECT to_regclass('dm.schema_migrations') IS NOT NULL")[0].as<bool>();
}

} // namespace

int migrate(pqxx::connection_base& conn)
{
  // A session-level lock held across the per-migration transactions (and
  // around CREATE SCHEMA IF NOT EXISTS, which races with itself).
  {
    pqxx::nontransaction lock_txn{conn};
    lock_txn.exec(fmt::format("SELECT pg_advisory_lock({})", migration_lock_key));
  }
  int count = 0;
  try {
    ensure_bookkeeping(conn);
    for (const Migration& m : bundled_migrations()) {
      pqxx::work txn{conn};
      const auto done = applied(txn);
      if (!done.empty() && done.rbegin()->first > bundled_migrations().back().version)
        throw std::runtime_error(fmt::format(
            "the database has schema version {} but this dmanalytics knows only up to {}: "
            "upgrade dmanalytics",
            done.rbegin()->first, bundled_migrations().back().version));
      if (done.count(m.version) != 0)
        continue;
      try {
        txn.exec0(m.sql);
      } catch (const std::exception&) {
        std::throw_with_nested(
            std::runtime_error(fmt::format("migration {:04}_{} failed", m.version, m.name)));
      }
      txn.exec_params0("INSERT INTO dm.schema_migrations (version, name) VALUES ($1, $2)",
                       m.version, m.name);
      txn.commit();
      ++count;
    }
  } catch (...) {
    pqxx::nontransaction unlock{conn};
    unlock.exec(fmt::format("SELECT pg_advisory_unlock({})", migration_lock_key));
    throw;
  }
  pqxx::nontransaction unlock{conn};
  unlock.exec(fmt::format("SELECT pg_advisory_unlock({})", migration_lock_key));
  return count;
}

std::vector<MigrationState> migration_status(pqxx::connection_base& conn)
{
  pqxx::read_transaction txn{conn};
  std::map<int, std::pair<std::string, std::string>> done;
  if (schema_exists(txn))
    done = applied(txn);
  std::vector<MigrationState> out;
  for (const Migration& m : bundled_migrations()) {
    auto it = done.find(m.version);
    if (it == done.end()) {
      out.push_back({m.version, m.name, std::nullopt});
    } else {
      out.push_back({m.version, m.name, it->second.second});
      done.erase(it);
    }
  }
  for (const auto& [version, rest] : done) // applied by a newer build
    out.push_back({version, rest.first, rest.second});
  return out;
}

bool is_current(pqxx::connection_base& conn)
{
  for (const MigrationState& s : migration_status(conn))
    if (!s.applied_at)
      return false;
  return true;
}

} // namespace dm::db
