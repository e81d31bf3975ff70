#pragma once
// Whether the database answers and the schema is current, checked on a
// thread of its own every few seconds so that /readyz never blocks an I/O
// thread. Thread-safe.

#include "dm/db/database.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace dm::daemon {

class Readiness {
public:
  explicit Readiness(const db::Database& database);
  ~Readiness();

  bool ready() const noexcept { return ready_.load(); }
  /// Why not ready ("" when ready).
  std::string reason() const;

private:
  void run();
  void check();

  const db::Database& database_;
  std::atomic<bool> ready_{false};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::string reason_ = "not checked yet";
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace dm::daemon
