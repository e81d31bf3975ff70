#pragma once
// Whether the database is reachable, shared by every worker: after a failed
// connection, requests fail fast (503) until the next attempt is due, with
// the wait doubling from 0.5 s up to 30 s, so that an outage costs no
// connect timeout per request and the daemon reconnects by itself when the
// server returns. Thread-safe.

#include "dm/db/database.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace dm::daemon {

class DbGate {
public:
  explicit DbGate(const db::Database& database) : database_(database) {}

  /// A new connection, or dm::Unavailable when the database is down (either
  /// now or, without trying, within the back-off after the last failure).
  std::unique_ptr<pqxx::connection> connect();
  /// A new libpq connection for bulk loads, under the same rules.
  std::unique_ptr<db::PgConnection> connect_raw();

  /// Records that an open connection broke (the server went away).
  void report_broken(const std::string& error);
  bool down() const;
  std::string last_error() const;

private:
  void check_due();
  void record_failure(const std::string& error);
  void record_success();

  const db::Database& database_;
  mutable std::mutex mutex_;
  bool down_ = false;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
  std::string last_error_;
};

/// True for errors that mean the database connection is gone or the server
/// is shutting down or unreachable (SQLSTATE classes 08 and 57P).
bool is_connection_error(const std::exception& e) noexcept;

} // namespace dm::daemon
