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
  txn.exec0("ALTER TABLE dm.schema_migrations ADD COLUMN IF NOT EXISTS checksum text");
  txn.commit();
}

struct Applied {
  std::string name;
  std::string applied_at;
  std::string checksum; ///< "" when recorded before checksums were kept
};

std::map<int, Applied> applied(pqxx::transaction_base& txn)
{
  std::map<int, Applied> out;
  const bool has_checksum =
      // pg_attribute, not information_schema.columns: that view costs ~10 ms,
      // paid by every command at start.
      txn.exec1("SELECT count(*) FROM pg_attribute WHERE attrelid = 'dm.schema_migrations'::regclass AND "
                "attname = 'checksum' AND NOT attisdropped")[0].as<int>() == 1;
  for (const auto& row : txn.exec(std::string("SELECT version, name, to_char(applied_at AT TIME ZONE 'UTC', "
                                              "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ") +
                                  (has_checksum ? "coalesce(checksum, '')" : "''") +
                                  " FROM dm.schema_migrations ORDER BY version"))
    out.emplace(row[0].as<int>(), Applied{row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>()});
  return out;
}

bool schema_exists(pqxx::transaction_base& txn)
{
  return txn.exec1("SELECT to_regclass('dm.schema_migrations') IS NOT NULL")[0].as<bool>();
}

} // namespace

int migrate(pqxx::connection_base& conn)
{
  // Every CLI run opens the database: answer the common case with one query.
  if (is_current(conn))
    return 0;
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
      if (auto it = done.find(m.version); it != done.end()) {
        if (!it->second.checksum.empty() && it->second.checksum != checksum_of(m))
          throw std::runtime_error(fmt::format(
              "migration {:04}_{} was applied with other SQL than this build has; the database "
              "and this dmanalytics disagree about the schema",
              m.version, m.name));
        continue;
      }
      try {
        txn.exec0(m.sql);
      } catch (const std::exception&) {
        std::throw_with_nested(
            std::runtime_error(fmt::format("migration {:04}_{} failed", m.version, m.name)));
      }
      txn.exec_params0("INSERT INTO dm.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                       m.version, m.name, checksum_of(m));
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
  std::map<int, Applied> done;
  if (schema_exists(txn))
    done = applied(txn);
  std::vector<MigrationState> out;
  for (const Migration& m : bundled_migrations()) {
    auto it = done.find(m.version);
    if (it == done.end()) {
      out.push_back({m.version, m.name, std::nullopt, false});
    } else {
      const bool changed = !it->second.checksum.empty() && it->second.checksum != checksum_of(m);
      out.push_back({m.version, m.name, it->second.applied_at, changed});
      done.erase(it);
    }
  }
  for (const auto& [version, a] : done) // applied by a newer build
    out.push_back({version, a.name, a.applied_at, false});
  return out;
}

bool is_current(pqxx::connection_base& conn)
{
  for (const MigrationState& s : migration_status(conn))
    if (!s.applied_at || s.changed)
      return false;
  return true;
}

std::string checksum_of(const Migration& m)
{
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : m.sql) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return fmt::format("{:016x}", h);
}

} // namespace dm::db
