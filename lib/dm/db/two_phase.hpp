#pragma once
// A second transaction that commits together with the caller's, so that one
// load can keep two server processes busy (raw rows on the main connection,
// rollups on this one) and still be all or nothing.
//
// The second transaction is prepared (PREPARE TRANSACTION), the main one
// records the prepared id in dm.prepared_commits and commits, then the
// prepared one is committed and the record deleted. Should the process die
// between the two commits, resolve_prepared() finishes the job from any
// session: a prepared transaction whose main session is gone is committed
// when its record exists (the main commit happened) and rolled back otherwise.
//
// Needs max_prepared_transactions > 0 on the server (the embedded cluster
// sets it); supported() tells.

#include "dm/db/pg_connection.hpp"

#include <pqxx/pqxx>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dm::db {

/// Opens another connection to the same database.
using ConnectionFactory = std::function<std::unique_ptr<PgConnection>()>;

/// Prepared ids start with this; the main session's backend pid follows.
inline constexpr std::string_view prepared_prefix = "dm_2pc:";

class CompanionTransaction {
public:
  /// Whether the server allows prepared transactions.
  static bool supported(PgConnection& conn);

  /// BEGINs on `own`. `main` must be inside its transaction (main_txn).
  CompanionTransaction(PgTransaction& main_txn, std::unique_ptr<PgConnection> own);
  /// Not committed: rolls back (prepared or not). The main transaction did
  /// not commit then, or its COMMIT failed with the server's refusal.
  ~CompanionTransaction();
  CompanionTransaction(const CompanionTransaction&) = delete;
  CompanionTransaction& operator=(const CompanionTransaction&) = delete;

  /// The connection whose transaction this is (one thread at a time).
  PgConnection& connection() noexcept { return *own_; }
  const std::string& gid() const noexcept { return gid_; }

  /// PREPARE TRANSACTION, then the record in the main transaction.
  void prepare();
  /// Prepares when not yet done, commits the main transaction, then this
  /// one. A refused main COMMIT rolls this one back and rethrows. A broken
  /// main connection leaves the outcome to resolve_prepared() and throws
  /// saying so.
  void commit();

private:
  enum class State { open, prepared, committed, failed };
  void rollback() noexcept;

  PgTransaction& main_txn_;
  std::unique_ptr<PgConnection> own_;
  std::string gid_;
  State state_ = State::open;
};

/// Commits or rolls back the prepared transactions of this database whose
/// main session is gone, as their record says, and deletes records nothing
/// waits for. Run outside a transaction. Returns what it did, one line each.
std::vector<std::string> resolve_prepared(pqxx::connection_base& conn);

} // namespace dm::db
