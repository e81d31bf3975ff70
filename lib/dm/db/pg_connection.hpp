#pragma once
// A plain libpq connection for the bulk-load path. Ingest streams rows with
// binary COPY (PQputCopyData), which libpqxx 6.4 cannot send: its stream_to
// speaks only the text format and formats every field through a std::string.
// Everything else in dmanalytics uses libpqxx.
//
// Not thread-safe; one thread uses a connection at a time.

#include "dm/util/time.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

struct pg_conn;

namespace dm::db {

/// A database error with its SQLSTATE.
class PgError : public std::runtime_error {
public:
  PgError(const std::string& message, std::string sqlstate)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate))
  {
  }
  const std::string& sqlstate() const noexcept { return sqlstate_; }

private:
  std::string sqlstate_;
};

class PgConnection {
public:
  /// Connects; throws PgError naming the (password-masked) URL.
  explicit PgConnection(const std::string& conninfo);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  pg_conn* native() const noexcept { return conn_; }

  /// Set while this connection's transaction is to be prepared (PREPARE
  /// TRANSACTION, see two_phase.hpp), which refuses temporary tables: work
  /// on it stages rows in tables of the transaction named with this tag
  /// instead. Empty: temporary tables are fine.
  const std::string& staging_tag() const noexcept { return staging_tag_; }
  void set_staging_tag(std::string tag) { staging_tag_ = std::move(tag); }

  /// Runs statements without parameters; throws PgError.
  void exec(const std::string& sql);
  /// Runs a statement with text parameters (nullopt = NULL) and returns the
  /// first column of the first row (nullopt for NULL or no row).
  std::optional<std::string> query_value(const std::string& sql,
                                         const std::vector<std::optional<std::string>>& params = {});

private:
  pg_conn* conn_ = nullptr;
  std::string staging_tag_;
};

/// BEGIN on construction; ROLLBACK on destruction unless committed.
class PgTransaction {
public:
  explicit PgTransaction(PgConnection& conn);
  ~PgTransaction();
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;

  void commit();
  PgConnection& connection() noexcept { return conn_; }

private:
  PgConnection& conn_;
  bool done_ = false;
};

/// `COPY table (columns) FROM STDIN (FORMAT binary)`, buffered. Rows are
/// written field by field after begin_row(). finish() ends the COPY and
/// reports the server's verdict; destroying an unfinished copy aborts it.
///
/// With `send_ahead` > 0 a thread of the copy sends the rows, and up to that
/// many bytes wait for it in memory: the writer goes on while the server is
/// busy (a bulk load then finishes reading its input before the server has
/// taken it all, and can do other work meanwhile). The connection belongs to
/// that thread until finish() returns or the copy is destroyed.
class BinaryCopy {
public:
  BinaryCopy(PgConnection& conn, std::string_view table, const std::vector<std::string_view>& columns,
             std::size_t send_ahead = 0);
  ~BinaryCopy();
  BinaryCopy(const BinaryCopy&) = delete;
  BinaryCopy& operator=(const BinaryCopy&) = delete;

  void begin_row(std::int16_t fields)
  {
    reserve(2);
    put_be(static_cast<std::uint16_t>(fields));
  }
  void null()
  {
    reserve(4);
    put_be(static_cast<std::uint32_t>(-1));
  }
  void int16(std::int16_t v) { field(static_cast<std::uint16_t>(v)); }
  void int32(std::int32_t v) { field(static_cast<std::uint32_t>(v)); }
  void int64(std::int64_t v) { field(static_cast<std::uint64_t>(v)); }
  void float4(float v);
  void float8(double v);
  void boolean(bool v)
  {
    reserve(5);
    put_be(std::uint32_t{1});
    buf_.push_back(v ? '\1' : '\0');
  }
  /// timestamptz: microseconds since 2000-01-01 on the wire.
  void timestamp(util::Micros t) { int64(t - postgres_epoch); }
  void text(std::string_view s) { bytes(s); }
  void bytea(std::string_view s) { bytes(s); }

  template <typename T, typename F> void optional(const std::optional<T>& v, F&& write)
  {
    if (v)
      write(*v);
    else
      null();
  }

  /// Ends the COPY; returns the rows the server took. Throws PgError.
  std::uint64_t finish();

private:
  static constexpr util::Micros postgres_epoch = 946'684'800LL * 1'000'000;
  static constexpr std::size_t flush_at = 64 * 1024;

  template <typename U> void put_be(U v)
  {
    char b[sizeof(U)];
    for (std::size_t i = 0; i < sizeof(U); ++i)
      b[i] = static_cast<char>((v >> (8 * (sizeof(U) - 1 - i))) & 0xff);
    buf_.append(b, sizeof(U));
  }
  template <typename U> void field(U v)
  {
    reserve(4 + sizeof(U));
    put_be(static_cast<std::uint32_t>(sizeof(U)));
    put_be(v);
  }
  void bytes(std::string_view s);
  void reserve(std::size_t n)
  {
    if (buf_.size() + n > flush_at)
      flush();
  }
  void flush();
  /// The sending thread's loop.
  void send_queued();
  /// Stops the sending thread (abandoning what is queued when `abandon`) and
  /// waits for it; rethrows what it failed with unless abandoning.
  void stop_sender(bool abandon);

  PgConnection& conn_;
  std::string buf_;
  bool open_ = false;

  // The sending thread (send_ahead > 0), and what it shares with the writer.
  std::size_t send_ahead_ = 0;
  bool flushed_once_ = false;
  std::thread sender_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  bool no_more_ = false;  ///< finish(): send what is queued, then stop
  bool abandon_ = false;  ///< destruction: stop at once
  std::exception_ptr send_error_;
};

} // namespace dm::db
