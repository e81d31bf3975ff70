#pragma once
// A second transaction that commits together with the caller's, so that one
// load can keep two server processes busy (raw rows on the main connection,
// rollups on this one) and still be all or nothing.
//
// The main session takes a session-level advisory lock (owner_lock_class,
// a random key) that it holds until both halves are done. The second
// transaction is prepared (PREPARE TRANSACTION 'dm_2pc:<key>:<random>'), the
// main one records that id in dm.prepared_commits and commits, then the
// prepared one is committed, the record deleted and the lock released.
// Should the process die between the two commits, resolve_prepared()
// finishes the job from any session: a prepared transaction whose owner
// lock is free (its main session is gone, so its transaction has ended one
// way or the other) is committed when its record exists and rolled back
// otherwise.
//
// Needs max_prepared_transactions > 0 on the server (the embedded cluster
// sets it); supported() tells.

#include "dm/db/pg_connection.hpp"

#include <pqxx/pqxx>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dm::db {

/// Opens another connection to the same database.
using ConnectionFactory = std::function<std::unique_ptr<PgConnection>()>;

/// Prepared ids start with this; the owner lock's key follows.
inline constexpr std::string_view prepared_prefix = "dm_2pc:";
/// Class of the session-level advisory lock a load's main session holds
/// while its prepared half waits (pg_advisory_lock(class, key)).
inline constexpr std::int32_t owner_lock_class = 0x646d0010;

class CompanionTransaction {
public:
  /// Whether the server allows prepared transactions and has a slot free.
  static bool supported(PgConnection& conn);

  /// Takes the owner lock on main_txn's connection and BEGINs on `own`.
  /// `main_txn` must outlive this object.
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
  /// one. A refused main COMMIT rolls this one back and rethrows. When the
  /// outcome is left to resolve_prepared() (a connection broke), the
  /// exception says what is committed and what follows.
  void commit();

private:
  /// done: committed or rolled back; undecided: left to resolve_prepared().
  enum class State { open, prepared, done, undecided };
  void rollback() noexcept;
  void release_owner_lock() noexcept;

  PgTransaction& main_txn_;
  std::unique_ptr<PgConnection> own_;
  std::int32_t key_ = 0;
  std::string gid_;
  State state_ = State::open;
};

/// A companion of `main_txn` when `open` is given, the server supports
/// prepared transactions and the second connection opens; otherwise nullptr
/// (a connection that fails to open is logged: the load goes on with one).
std::unique_ptr<CompanionTransaction> start_companion(PgTransaction& main_txn, const ConnectionFactory& open);

/// A load waiting between its two commits (`db status`).
struct WaitingLoad {
  std::string gid;
  std::string prepared_at;  ///< RFC 3339, UTC
  bool owner_alive = false; ///< its main session still holds the owner lock
  bool recorded = false;    ///< its rows are committed: it is to be committed too
};

/// The prepared loads of this database, oldest first.
std::vector<WaitingLoad> waiting_loads(pqxx::connection_base& conn);

/// Commits or rolls back the prepared transactions of this database and
/// role whose main session is gone, as their record says, and deletes the
/// records nothing waits for. Run outside a transaction. Never throws: a
/// failure is logged and left for the next run. Returns what it did, one line
/// each.
std::vector<std::string> resolve_prepared(pqxx::connection_base& conn);

} // namespace dm::db
