#include "readiness.hpp"

#include "dm/db/migrator.hpp"
#include "dm/util/error.hpp"

#include <spdlog/spdlog.h>

namespace dm::daemon {

Readiness::Readiness(const db::Database& database) : database_(database)
{
  check();
  thread_ = std::thread([this] { run(); });
}

Readiness::~Readiness()
{
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::string Readiness::reason() const
{
  std::lock_guard lock(mutex_);
  return reason_;
}

void Readiness::run()
{
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::seconds(2));
    if (stopping_)
      break;
    lock.unlock();
    check();
    lock.lock();
  }
}

void Readiness::check()
{
  std::string why;
  try {
    auto conn = database_.connect();
    if (!db::is_current(*conn))
      why = "database migrations pending";
  } catch (const std::exception& e) {
    why = "database unreachable: " + full_message(e);
  }
  const bool was = ready_.exchange(why.empty());
  if (was != why.empty())
    spdlog::log(why.empty() ? spdlog::level::info : spdlog::level::warn, "readiness: {}",
                why.empty() ? "ready" : why);
  std::lock_guard lock(mutex_);
  reason_ = std::move(why);
}

} // namespace dm::daemon
