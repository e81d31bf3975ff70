#include "dm/db/two_phase.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <random>

namespace dm::db {

namespace {

/// A prepared id as a literal: COMMIT PREPARED takes no parameters.
std::string literal(const std::string& gid)
{
  // Ours are made of the prefix, digits and hex digits only.
  for (char c : gid)
    if (c == '\'' || c == '\\')
      throw std::invalid_argument(fmt::format("prepared transaction id '{}' has a quote", gid));
  return "'" + gid + "'";
}

/// The owner lock's key in a prepared id ($1: the prefix), as SQL.
constexpr const char* key_of_gid = "split_part(substr({0}, length($1) + 1), ':', 1)";

/// A database from before migration 0013 has no loads of this kind.
bool no_records_table(pqxx::nontransaction& tx)
{
  return tx.exec("SELECT to_regclass('dm.prepared_commits') IS NULL")[0][0].as<bool>();
}

std::string owner_lock(std::string_view function, std::int32_t key)
{
  return fmt::format("SELECT {}({}, {})", function, owner_lock_class, key);
}

} // namespace

bool CompanionTransaction::supported(PgConnection& conn)
{
  // A slot taken between this and PREPARE fails the load at its end: rare
  // (sixteen loads waiting between their two commits) and said plainly.
  return conn.query_value("SELECT current_setting('max_prepared_transactions')::int > "
                          "(SELECT count(*) FROM pg_prepared_xacts)") == "t";
}

CompanionTransaction::CompanionTransaction(PgTransaction& main_txn, std::unique_ptr<PgConnection> own)
    : main_txn_(main_txn), own_(std::move(own))
{
  // A key no other live load holds: the lock says whose the prepared
  // transaction is for as long as the main session lives.
  std::random_device rd;
  std::uniform_int_distribution<std::int32_t> any(1, std::numeric_limits<std::int32_t>::max());
  for (;;) {
    key_ = any(rd);
    if (main_txn_.connection().query_value(owner_lock("pg_try_advisory_lock", key_)) == "t")
      break;
  }
  gid_ = fmt::format("{}{}:{:08x}{:08x}", prepared_prefix, key_, rd(), rd());
  try {
    // The main session waits, idle in its transaction, while the other
    // finishes: a server-side idle timeout must not end the load.
    main_txn_.connection().exec("SET LOCAL idle_in_transaction_session_timeout = 0");
    own_->exec("BEGIN");
  } catch (...) {
    release_owner_lock();
    throw;
  }
  // Merges on this connection stage their rows in tables named after the key.
  own_->set_staging_tag(fmt::format("{:08x}", key_));
}

CompanionTransaction::~CompanionTransaction()
{
  if (state_ == State::open || state_ == State::prepared)
    rollback();
  // Committed or rolled back: nothing is left for the lock to guard. Left
  // undecided (failed after a broken connection): the session's end frees it.
  if (state_ != State::undecided)
    release_owner_lock();
}

void CompanionTransaction::release_owner_lock() noexcept
{
  try {
    main_txn_.connection().query_value(owner_lock("pg_advisory_unlock", key_));
  } catch (const std::exception& e) {
    spdlog::debug("owner lock of {} not released ({}); the session's end releases it", gid_, e.what());
  }
}

void CompanionTransaction::rollback() noexcept
{
  try {
    if (state_ == State::open) {
      // Closing ends the transaction (and any unfinished COPY of a failed
      // write) on the server.
      own_.reset();
    } else if (state_ == State::prepared) {
      own_->exec("ROLLBACK PREPARED " + literal(gid_));
    }
    state_ = State::done;
  } catch (const std::exception& e) {
    spdlog::error("prepared transaction {} could not be rolled back ({}); the next dmanalytics command or a "
                  "daemon rolls it back once this session has ended",
                  gid_, e.what());
    state_ = State::undecided;
  }
}

void CompanionTransaction::prepare()
{
  if (state_ != State::open)
    throw std::logic_error("CompanionTransaction::prepare: not open");
  own_->exec("PREPARE TRANSACTION " + literal(gid_));
  own_->set_staging_tag({});
  state_ = State::prepared;
  main_txn_.connection().query_value("INSERT INTO dm.prepared_commits (gid) VALUES ($1)", {gid_});
}

void CompanionTransaction::commit()
{
  if (state_ == State::open)
    prepare();
  if (state_ != State::prepared)
    throw std::logic_error("CompanionTransaction::commit: not prepared");
  try {
    main_txn_.commit();
  } catch (const std::exception& e) {
    pg_conn* main = main_txn_.connection().native();
    if (PQstatus(main) == CONNECTION_OK && PQtransactionStatus(main) == PQTRANS_IDLE) {
      // The server answered the COMMIT with an error: nothing of it stands.
      rollback();
      throw;
    }
    state_ = State::undecided;
    std::throw_with_nested(std::runtime_error(fmt::format(
        "the connection broke during COMMIT: whether the load is committed is unknown; its record decides once "
        "the session has ended (prepared transaction {}, finished by the next dmanalytics command or a daemon)",
        gid_)));
  }
  // The rows are committed: from here on only this half is missing. The
  // owner lock keeps resolvers away until it is done.
  std::string failures;
  for (PgConnection* conn : {own_.get(), &main_txn_.connection()}) {
    try {
      conn->exec("COMMIT PREPARED " + literal(gid_));
      state_ = State::done;
      break;
    } catch (const PgError& e) {
      // 42704: gone. While the owner lock was held no resolver could take
      // it, so the main session was lost and a resolver committed it as its
      // record says.
      if (e.sqlstate() == "42704") {
        state_ = State::done;
        break;
      }
      failures += fmt::format("{}{}", failures.empty() ? "" : "; ", e.what());
    }
  }
  if (state_ != State::done) {
    state_ = State::undecided;
    throw std::runtime_error(fmt::format(
        "the rows are committed but their rollups wait in prepared transaction {} ({}); the next dmanalytics "
        "command or a daemon commits it once this session has ended. Do not load the input again.",
        gid_, failures));
  }
  try {
    own_->query_value("DELETE FROM dm.prepared_commits WHERE gid = $1", {gid_});
  } catch (const std::exception& e) {
    spdlog::debug("record of {} left ({}); resolve_prepared deletes it", gid_, e.what());
  }
}

std::unique_ptr<CompanionTransaction> start_companion(PgTransaction& main_txn, const ConnectionFactory& open)
{
  if (!open || !CompanionTransaction::supported(main_txn.connection()))
    return nullptr;
  std::unique_ptr<PgConnection> own;
  try {
    own = open();
  } catch (const std::exception& e) {
    spdlog::warn("a second connection for the rollups could not be opened ({}); loading on one", e.what());
    return nullptr;
  }
  return std::make_unique<CompanionTransaction>(main_txn, std::move(own));
}

std::vector<WaitingLoad> waiting_loads(pqxx::connection_base& conn)
{
  pqxx::nontransaction tx(conn);
  std::vector<WaitingLoad> loads;
  if (no_records_table(tx))
    return loads;
  // The owner lock in pg_locks: two int4 keys are classid, objid, objsubid 2.
  const pqxx::result rows = tx.exec_params(
      fmt::format("SELECT p.gid, to_char(p.prepared AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                  "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
                  "AND l.classid = $2::oid AND l.objid = {}::bigint::oid), "
                  "EXISTS (SELECT 1 FROM dm.prepared_commits c WHERE c.gid = p.gid) "
                  "FROM pg_prepared_xacts p WHERE p.database = current_database() AND starts_with(p.gid, $1) "
                  "ORDER BY p.prepared, p.gid",
                  fmt::format(key_of_gid, "p.gid")),
      std::string(prepared_prefix), owner_lock_class);
  for (const auto& row : rows)
    loads.push_back(WaitingLoad{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<bool>(),
                                row[3].as<bool>()});
  return loads;
}

std::vector<std::string> resolve_prepared(pqxx::connection_base& conn)
{
  std::vector<std::string> done;
  try {
    pqxx::nontransaction tx(conn);
    if (no_records_table(tx))
      return done;
    // Each statement below is its own transaction, with its own snapshot.
    const pqxx::result prepared = tx.exec_params(
        fmt::format("SELECT gid, {} FROM pg_prepared_xacts WHERE database = current_database() "
                    "AND owner = current_user AND starts_with(gid, $1) ORDER BY gid",
                    fmt::format(key_of_gid, "gid")),
        std::string(prepared_prefix));
    for (const auto& row : prepared) {
      const std::string gid = row[0].as<std::string>();
      std::int32_t key = 0;
      try {
        key = static_cast<std::int32_t>(std::stol(row[1].as<std::string>()));
      } catch (const std::exception&) {
        spdlog::warn("prepared transaction {}: not an id of dmanalytics; left alone", gid);
        continue;
      }
      // Free owner lock: the main session is gone, its transaction ended
      // before (commit or not), so the record read after this is final.
      if (!tx.exec(owner_lock("pg_try_advisory_lock", key))[0][0].as<bool>())
        continue;
      try {
        const bool committed =
            tx.exec_params1("SELECT EXISTS (SELECT 1 FROM dm.prepared_commits WHERE gid = $1)", gid)[0].as<bool>();
        try {
          tx.exec(fmt::format("{} PREPARED {}", committed ? "COMMIT" : "ROLLBACK", literal(gid)));
          done.push_back(fmt::format("{} prepared transaction {} of an ended session",
                                     committed ? "committed" : "rolled back", gid));
          spdlog::warn("{}", done.back());
        } catch (const pqxx::sql_error& e) {
          // 42704: another resolver finished it first.
          if (e.sqlstate() != "42704")
            throw;
        }
      } catch (...) {
        tx.exec(owner_lock("pg_advisory_unlock", key));
        throw;
      }
      tx.exec(owner_lock("pg_advisory_unlock", key));
    }
    // Records whose prepared transaction is gone: committed, by its load or
    // above (a load that ended between COMMIT PREPARED and deleting its
    // record). A record is visible only once its main transaction committed,
    // and never names a transaction rolled back.
    tx.exec("DELETE FROM dm.prepared_commits c WHERE NOT EXISTS "
            "(SELECT 1 FROM pg_prepared_xacts p WHERE p.gid = c.gid)");
  } catch (const std::exception& e) {
    spdlog::error("finishing the loads of ended sessions (prepared transactions) failed: {}; retried by the next "
                  "dmanalytics command and by the daemon",
                  e.what());
  }
  return done;
}

} // namespace dm::db
