#pragma once
// Schema migrations: share/sql/NNNN_name.sql, compiled into the library,
// each applied in its own transaction and recorded in dm.schema_migrations.
// Concurrent migrators (several daemons starting at once) are serialised by a
// PostgreSQL advisory lock.

#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <vector>

namespace dm::db {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

/// FNV-1a 64 of a migration's SQL, hex: recorded when it is applied, so that a
/// migration edited after it ran is noticed instead of silently diverging.
std::string checksum_of(const Migration& m);

/// Every migration shipped with this build, ordered by version.
const std::vector<Migration>& bundled_migrations();

struct MigrationState {
  int version;
  std::string name;
  std::optional<std::string> applied_at; ///< RFC 3339; nullopt when pending
  bool changed = false;                  ///< applied with other SQL than this build's
};

/// Applies every pending migration; returns how many were applied.
/// Throws when the database holds a migration this build does not know
/// (a newer version of dmanalytics migrated it), or one whose SQL differs.
int migrate(pqxx::connection_base& conn);

/// The state of every known migration (and of unknown applied ones).
std::vector<MigrationState> migration_status(pqxx::connection_base& conn);

/// True when every bundled migration is applied, as this build has it.
bool is_current(pqxx::connection_base& conn);

} // namespace dm::db
