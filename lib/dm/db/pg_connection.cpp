#include "dm/db/pg_connection.hpp"

#include "dm/db/database.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <bit>
#include <cstring>

namespace dm::db {

namespace {

[[noreturn]] void throw_result(PGresult* res, pg_conn* conn, std::string_view what)
{
  std::string message = res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn);
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state != nullptr ? state : "";
  if (res != nullptr)
    PQclear(res);
  while (!message.empty() && message.back() == '\n')
    message.pop_back();
  throw PgError(fmt::format("{}: {}", what, message), std::move(sqlstate));
}

/// PQputCopyData failed: the connection broke, libpq could not take the data,
/// or the server refused a row (then the COPY's result holds its message).
/// Ends the COPY in any case, so that the connection can go on.
[[noreturn]] void throw_copy_failure(pg_conn* conn)
{
  std::string local = PQerrorMessage(conn);
  while (!local.empty() && local.back() == '\n')
    local.pop_back();
  PQputCopyEnd(conn, "the client could not send the rows");
  PGresult* error = nullptr;
  while (PGresult* r = PQgetResult(conn)) {
    if (error == nullptr && PQresultStatus(r) == PGRES_FATAL_ERROR)
      error = r;
    else
      PQclear(r);
  }
  if (error != nullptr)
    throw_result(error, conn, "COPY");
  throw PgError(fmt::format("COPY: {}", local), "");
}

void check(PGresult* res, pg_conn* conn, std::string_view what)
{
  const auto status = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_COPY_IN)
    throw_result(res, conn, what);
}

std::string quote_ident(std::string_view name)
{
  // "schema.table" is split at the dot; each part is quoted.
  std::string out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = name.find('.', start);
    const std::string_view part = name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
    out += '"';
    for (char c : part) {
      if (c == '"')
        out += '"';
      out += c;
    }
    out += '"';
    if (dot == std::string_view::npos)
      break;
    out += '.';
    start = dot + 1;
  }
  return out;
}

/// The server's notices go to the log rather than libpq's default, stderr:
/// warnings as warnings, the rest (NOTICE, INFO: "already exists, skipping")
/// at debug level.
void log_notice(void*, const PGresult* res)
{
  const char* severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  std::string message = PQresultErrorMessage(res);
  while (!message.empty() && message.back() == '\n')
    message.pop_back();
  if (severity != nullptr && std::strcmp(severity, "WARNING") == 0)
    spdlog::warn("PostgreSQL: {}", message);
  else
    spdlog::debug("PostgreSQL: {}", message);
}

} // namespace

PgConnection::PgConnection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str()))
{
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    std::string message = conn_ != nullptr ? PQerrorMessage(conn_) : "out of memory";
    while (!message.empty() && message.back() == '\n')
      message.pop_back();
    PQfinish(conn_);
    conn_ = nullptr;
    throw PgError(fmt::format("cannot connect to the database {}: {}", redact_url(conninfo), message), "08000");
  }
  PQsetNoticeReceiver(conn_, log_notice, nullptr);
  exec("SET TimeZone = 'UTC'");
}

PgConnection::~PgConnection()
{
  PQfinish(conn_);
}

void PgConnection::exec(const std::string& sql)
{
  PGresult* res = PQexec(conn_, sql.c_str());
  check(res, conn_, sql.substr(0, sql.find_first_of(" \n")));
  PQclear(res);
}

std::optional<std::string> PgConnection::query_value(const std::string& sql,
                                                     const std::vector<std::optional<std::string>>& params)
{
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params)
    values.push_back(p ? p->c_str() : nullptr);
  PGresult* res = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                               nullptr, nullptr, 0);
  check(res, conn_, sql.substr(0, sql.find_first_of(" \n")));
  std::optional<std::string> out;
  if (PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0))
    out = std::string(PQgetvalue(res, 0, 0), static_cast<std::size_t>(PQgetlength(res, 0, 0)));
  PQclear(res);
  return out;
}

PgTransaction::PgTransaction(PgConnection& conn) : conn_(conn)
{
  conn_.exec("BEGIN");
}

PgTransaction::~PgTransaction()
{
  if (!done_) {
    // An unfinished COPY is cancelled first so that ROLLBACK can run.
    if (PQtransactionStatus(conn_.native()) == PQTRANS_ACTIVE) {
      PQputCopyEnd(conn_.native(), "aborted");
      while (PGresult* r = PQgetResult(conn_.native()))
        PQclear(r);
    }
    PGresult* res = PQexec(conn_.native(), "ROLLBACK");
    PQclear(res);
  }
}

void PgTransaction::commit()
{
  done_ = true;
  PGresult* res = PQexec(conn_.native(), "COMMIT");
  check(res, conn_.native(), "COMMIT");
  // A transaction that had failed answers COMMIT with ROLLBACK, not an error.
  const std::string tag = PQcmdStatus(res);
  PQclear(res);
  if (tag != "COMMIT")
    throw PgError("COMMIT: the transaction had failed and was rolled back (" + tag + ")", "25P02");
}

BinaryCopy::BinaryCopy(PgConnection& conn, std::string_view table, const std::vector<std::string_view>& columns,
                       std::size_t send_ahead)
    : conn_(conn), send_ahead_(send_ahead)
{
  std::string sql = "COPY " + quote_ident(table) + " (";
  for (std::size_t i = 0; i < columns.size(); ++i)
    sql += (i == 0 ? "" : ", ") + quote_ident(columns[i]);
  sql += ") FROM STDIN (FORMAT binary)";
  PGresult* res = PQexec(conn_.native(), sql.c_str());
  if (res == nullptr || PQresultStatus(res) != PGRES_COPY_IN)
    throw_result(res, conn_.native(), "COPY " + std::string(table));
  PQclear(res);
  open_ = true;
  buf_.reserve(flush_at + 1024);
  // Signature, flags, header extension length.
  buf_.append("PGCOPY\n\377\r\n\0", 11);
  put_be(std::uint32_t{0});
  put_be(std::uint32_t{0});
}

BinaryCopy::~BinaryCopy()
{
  stop_sender(true);
  if (open_) {
    PQputCopyEnd(conn_.native(), "the load was abandoned");
    while (PGresult* r = PQgetResult(conn_.native()))
      PQclear(r);
  }
}

void BinaryCopy::float4(float v)
{
  field(std::bit_cast<std::uint32_t>(v));
}

void BinaryCopy::float8(double v)
{
  field(std::bit_cast<std::uint64_t>(v));
}

void BinaryCopy::bytes(std::string_view s)
{
  if (buf_.size() + 4 + s.size() > flush_at)
    flush();
  put_be(static_cast<std::uint32_t>(s.size()));
  buf_.append(s);
}

void BinaryCopy::flush()
{
  if (buf_.empty())
    return;
  // The thread starts with the second buffer: a copy that fits in one
  // (an HTTP batch) is sent by the writer.
  if (send_ahead_ > 0 && !sender_.joinable()) {
    if (flushed_once_)
      sender_ = std::thread([this] { send_queued(); });
    flushed_once_ = true;
  }
  if (!sender_.joinable()) {
    if (PQputCopyData(conn_.native(), buf_.data(), static_cast<int>(buf_.size())) != 1) {
      open_ = false;
      throw_copy_failure(conn_.native());
    }
    buf_.clear();
    return;
  }
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return queued_bytes_ < send_ahead_ || send_error_; });
  if (send_error_)
    std::rethrow_exception(send_error_);
  queued_bytes_ += buf_.size();
  queue_.push_back(std::move(buf_));
  lock.unlock();
  cv_.notify_all();
  buf_ = std::string();
  buf_.reserve(flush_at + 1024);
}

void BinaryCopy::send_queued()
{
  for (;;) {
    std::string chunk;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return !queue_.empty() || no_more_ || abandon_; });
      if (abandon_ || queue_.empty())
        return;
      chunk = std::move(queue_.front());
      queue_.pop_front();
    }
    const bool sent = PQputCopyData(conn_.native(), chunk.data(), static_cast<int>(chunk.size())) == 1;
    const std::lock_guard lock(mutex_);
    queued_bytes_ -= chunk.size();
    if (!sent) {
      open_ = false; // the COPY is over: nothing to end
      try {
        throw_copy_failure(conn_.native());
      } catch (...) {
        send_error_ = std::current_exception();
      }
      cv_.notify_all();
      return;
    }
    cv_.notify_all();
  }
}

void BinaryCopy::stop_sender(bool abandon)
{
  if (!sender_.joinable())
    return;
  {
    const std::lock_guard lock(mutex_);
    (abandon ? abandon_ : no_more_) = true;
  }
  cv_.notify_all();
  sender_.join();
  if (!abandon && send_error_)
    std::rethrow_exception(send_error_);
}

std::uint64_t BinaryCopy::finish()
{
  put_be(static_cast<std::uint16_t>(0xffff)); // trailer
  flush();
  stop_sender(false);
  open_ = false;
  if (PQputCopyEnd(conn_.native(), nullptr) != 1)
    throw_result(nullptr, conn_.native(), "COPY");
  PGresult* res = PQgetResult(conn_.native());
  check(res, conn_.native(), "COPY");
  const char* tuples = PQcmdTuples(res);
  const std::uint64_t rows = tuples != nullptr && *tuples ? std::stoull(tuples) : 0;
  PQclear(res);
  while (PGresult* r = PQgetResult(conn_.native()))
    PQclear(r);
  return rows;
}

} // namespace dm::db
