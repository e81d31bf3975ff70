#pragma once
// Alert evaluation (DESIGN 7, 10) on exactly one daemon of those sharing a
// database: the one whose connection holds the session advisory lock
// `dm.alerts.evaluator`. Every `alerts.interval` it evaluates the rules
// (alert::evaluate_rules: states, alert_events, NOTIFY dm_alerts) and counts
// the alerts that fire. The others try to take the lock every couple of
// seconds, so when the holder dies (its session ends and PostgreSQL releases
// the lock) another one takes over within seconds; after a lost connection
// the holder reconnects and competes again. The holder also creates the
// [dashboard.alert_thresholds] default rules.

#include "dm/config/config.hpp"
#include "dm/db/database.hpp"
#include "dm/util/time.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace dm::metrics {
struct DaemonMetrics;
}

namespace dm::alert {
struct AlertTransition;
}

namespace dm::daemon {

struct AlertEvaluatorOptions {
  /// Between two evaluations; alerts.interval.
  std::chrono::milliseconds interval = std::chrono::seconds(15);
  /// How often a daemon without the lock tries to take it.
  std::chrono::milliseconds retry = std::chrono::seconds(2);
  /// The instant rules are evaluated at; empty = util::now().
  std::function<util::Micros()> clock;
  /// Create the default rules when taking the lock.
  bool create_defaults = true;
  /// Called with each evaluation's transitions (on the evaluator's thread).
  std::function<void(const std::vector<alert::AlertTransition>&)> on_transitions;
};

class AlertEvaluator {
public:
  /// `database`, `config` and `metrics` (may be null) must outlive it.
  AlertEvaluator(const db::Database& database, const config::Config& config, metrics::DaemonMetrics* metrics,
                 AlertEvaluatorOptions options);
  ~AlertEvaluator();
  AlertEvaluator(const AlertEvaluator&) = delete;
  AlertEvaluator& operator=(const AlertEvaluator&) = delete;

  void start();
  /// Releases the lock (its connection closes) and joins. Idempotent.
  void stop();
  /// Whether this daemon holds the lock now.
  bool leading() const noexcept { return leading_.load(); }

private:
  void run();

  const db::Database& database_;
  const config::Config& config_;
  metrics::DaemonMetrics* metrics_;
  AlertEvaluatorOptions options_;
  std::atomic<bool> leading_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace dm::daemon
