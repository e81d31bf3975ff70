#include "daemon/db_gate.hpp"

#include "dm/util/error.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace dm::daemon {

namespace {
constexpr std::chrono::milliseconds first_backoff{500};
constexpr std::chrono::milliseconds max_backoff{30000};
} // namespace

void DbGate::check_due()
{
  std::lock_guard lock(mutex_);
  if (down_ && std::chrono::steady_clock::now() < next_attempt_)
    throw Unavailable(fmt::format("database unavailable: {}", last_error_));
}

void DbGate::record_failure(const std::string& error)
{
  std::lock_guard lock(mutex_);
  if (!down_)
    spdlog::warn("database unavailable: {}", error);
  down_ = true;
  backoff_ = backoff_.count() == 0 ? first_backoff : std::min(backoff_ * 2, max_backoff);
  next_attempt_ = std::chrono::steady_clock::now() + backoff_;
  last_error_ = error;
}

void DbGate::record_success()
{
  std::lock_guard lock(mutex_);
  if (down_)
    spdlog::info("database reachable again");
  down_ = false;
  backoff_ = std::chrono::milliseconds(0);
  last_error_.clear();
}

std::unique_ptr<pqxx::connection> DbGate::connect()
{
  check_due();
  try {
    auto conn = database_.connect();
    record_success();
    return conn;
  } catch (const std::exception& e) {
    record_failure(full_message(e));
    std::throw_with_nested(Unavailable("database unavailable"));
  }
}

std::unique_ptr<db::PgConnection> DbGate::connect_raw()
{
  check_due();
  try {
    auto conn = database_.connect_raw();
    record_success();
    return conn;
  } catch (const std::exception& e) {
    record_failure(full_message(e));
    std::throw_with_nested(Unavailable("database unavailable"));
  }
}

void DbGate::report_broken(const std::string& error)
{
  record_failure(error);
}

bool DbGate::down() const
{
  std::lock_guard lock(mutex_);
  return down_;
}

std::string DbGate::last_error() const
{
  std::lock_guard lock(mutex_);
  return last_error_;
}

bool is_connection_error(const std::exception& e) noexcept
{
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr)
    return true;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    return state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0;
  }
  if (const auto* pg = dynamic_cast<const db::PgError*>(&e)) {
    const std::string& state = pg->sqlstate();
    return state.empty() || state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0;
  }
  try {
    std::rethrow_if_nested(e);
  } catch (const std::exception& inner) {
    return is_connection_error(inner);
  } catch (...) {
  }
  return false;
}

} // namespace dm::daemon
