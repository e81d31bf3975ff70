#include "dm/db/two_phase.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <random>

namespace dm::db {

namespace {

std::string new_gid(PgConnection& main)
{
  std::random_device rd;
  const std::uint64_t r = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return fmt::format("{}{}:{:016x}", prepared_prefix, PQbackendPID(main.native()), r);
}

/// A prepared id as a literal: COMMIT PREPARED takes no parameters.
std::string literal(const std::string& gid)
{
  // Ours are made of the prefix, digits and hex digits only.
  for (char c : gid)
    if (c == '\'' || c == '\\')
      throw std::invalid_argument(fmt::format("prepared transaction id '{}' has a quote", gid));
  return "'" + gid + "'";
}

void forget(PgConnection& conn, const std::string& gid)
{
  conn.query_value("DELETE FROM dm.prepared_commits WHERE gid = $1", {gid});
}

} // namespace

bool CompanionTransaction::supported(PgConnection& conn)
{
  return conn.query_value("SELECT current_setting('max_prepared_transactions')::int > 0") == "t";
}

CompanionTransaction::CompanionTransaction(PgTransaction& main_txn, std::unique_ptr<PgConnection> own)
    : main_txn_(main_txn), own_(std::move(own)), gid_(new_gid(main_txn.connection()))
{
  own_->exec("BEGIN");
  own_->set_will_prepare(true);
}

CompanionTransaction::~CompanionTransaction()
{
  if (state_ == State::open || state_ == State::prepared)
    rollback();
}

void CompanionTransaction::rollback() noexcept
{
  try {
    if (state_ == State::open) {
      // An unfinished COPY of a failed write is cancelled by closing: the
      // server rolls back a transaction whose session ends.
      own_.reset();
    } else if (state_ == State::prepared) {
      own_->exec("ROLLBACK PREPARED " + literal(gid_));
    }
  } catch (const std::exception& e) {
    spdlog::error("prepared transaction {} could not be rolled back ({}); the next load or the daemon "
                  "rolls it back", gid_, e.what());
  }
  state_ = State::failed;
}

void CompanionTransaction::prepare()
{
  if (state_ != State::open)
    throw std::logic_error("CompanionTransaction::prepare: not open");
  own_->exec("PREPARE TRANSACTION " + literal(gid_));
  own_->set_will_prepare(false);
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
    state_ = State::failed;
    std::throw_with_nested(std::runtime_error(fmt::format(
        "the connection broke during COMMIT: whether the load was committed is decided by its record once "
        "that session has ended (prepared transaction {}; the next load or the daemon finishes it)",
        gid_)));
  }
  state_ = State::committed;
  // The rows are committed: from here on only this half is missing, and
  // any session may supply it.
  for (PgConnection* conn : {own_.get(), &main_txn_.connection()}) {
    try {
      conn->exec("COMMIT PREPARED " + literal(gid_));
      forget(*conn, gid_);
      return;
    } catch (const PgError& e) {
      // 42704: gone already. Only resolve_prepared() ends ours, and with the
      // record in place it commits: the load is whole.
      if (e.sqlstate() == "42704")
        return;
      if (conn == own_.get())
        spdlog::warn("COMMIT PREPARED {} on the second connection failed ({}); retrying on the first", gid_,
                     e.what());
      else
        throw;
    }
  }
}

std::vector<std::string> resolve_prepared(pqxx::connection_base& conn)
{
  std::vector<std::string> done;
  pqxx::nontransaction tx(conn);
  // Orphans only: the session whose pid the id names is gone, so its
  // transaction has ended one way or the other and its record is final.
  const pqxx::result orphans = tx.exec_params(
      "SELECT p.gid, c.gid IS NOT NULL FROM pg_prepared_xacts p "
      "LEFT JOIN dm.prepared_commits c ON c.gid = p.gid "
      "WHERE p.database = current_database() AND starts_with(p.gid, $1) "
      "AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a "
      "WHERE a.pid = split_part(substr(p.gid, length($1) + 1), ':', 1)::int) ORDER BY p.gid",
      std::string(prepared_prefix));
  for (const auto& row : orphans) {
    const std::string gid = row[0].as<std::string>();
    const bool committed = row[1].as<bool>();
    try {
      tx.exec(fmt::format("{} PREPARED {}", committed ? "COMMIT" : "ROLLBACK", literal(gid)));
    } catch (const pqxx::sql_error& e) {
      // 42704: another session resolved it first.
      if (e.sqlstate() != "42704")
        throw;
      continue;
    }
    done.push_back(fmt::format("{} prepared transaction {} of an ended session",
                               committed ? "committed" : "rolled back", gid));
    spdlog::warn("{}", done.back());
  }
  // Records whose prepared transaction is gone: committed, by its load or
  // above (a load that died between COMMIT PREPARED and deleting its record).
  tx.exec("DELETE FROM dm.prepared_commits c WHERE NOT EXISTS "
          "(SELECT 1 FROM pg_prepared_xacts p WHERE p.gid = c.gid)");
  return done;
}

} // namespace dm::db
