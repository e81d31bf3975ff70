#include "daemon/alert_evaluator.hpp"

#include "daemon/db_gate.hpp"

#include "dm/alert/evaluate.hpp"
#include "dm/alert/rule.hpp"
#include "dm/metrics/daemon_metrics.hpp"
#include "dm/util/error.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

namespace dm::daemon {

namespace {

/// The session advisory lock of the evaluating daemon.
constexpr const char* leader_lock = "SELECT pg_try_advisory_lock(hashtextextended('dm.alerts.evaluator', 0))";

} // namespace

AlertEvaluator::AlertEvaluator(const db::Database& database, const config::Config& config,
                               metrics::DaemonMetrics* metrics, AlertEvaluatorOptions options)
    : database_(database), config_(config), metrics_(metrics), options_(std::move(options))
{
}

AlertEvaluator::~AlertEvaluator()
{
  stop();
}

void AlertEvaluator::start()
{
  const std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_)
    return;
  thread_ = std::thread([this] { run(); });
}

void AlertEvaluator::stop()
{
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void AlertEvaluator::run()
{
  std::unique_ptr<pqxx::connection> conn;
  bool outage_logged = false;
  bool defaults_pending = false;
  for (;;) {
    std::chrono::milliseconds wait = options_.retry;
    try {
      if (!conn) {
        conn = database_.connect();
        outage_logged = false;
      }
      if (!leading_) {
        bool got = false;
        {
          pqxx::nontransaction txn{*conn};
          got = txn.exec1(leader_lock)[0].as<bool>();
        }
        if (got) {
          leading_ = true;
          defaults_pending = options_.create_defaults;
          spdlog::info("alert evaluator: this daemon evaluates the alert rules (every {} ms)",
                       options_.interval.count());
        }
      }
      if (leading_ && defaults_pending) {
        const int created =
            alert::ensure_default_rules(*conn, config_.dashboard.alert_thresholds, config_.alerts.resolve_for);
        if (created > 0)
          spdlog::info("alert rules: {} default rule(s) from [dashboard.alert_thresholds]", created);
        defaults_pending = false;
      }
      if (leading_) {
        const util::Micros at = options_.clock ? options_.clock() : util::now();
        const auto transitions = alert::evaluate_rules(*conn, at);
        for (const auto& t : transitions) {
          if (t.to == "firing" && metrics_ != nullptr)
            metrics_->alerts_generated.labels({t.severity}).inc();
          spdlog::log(t.to == "firing" ? spdlog::level::warn : spdlog::level::info, "alert {} '{}' ({}): {} -> {}",
                      t.alert_id, t.rule_name, t.severity, t.from, t.to);
        }
        if (options_.on_transitions && !transitions.empty())
          options_.on_transitions(transitions);
        wait = options_.interval;
      }
    } catch (const std::exception& e) {
      const bool lost = is_connection_error(e) || !conn || !conn->is_open();
      if (lost) {
        if (leading_)
          spdlog::warn("alert evaluator: the database connection was lost ({}); competing for the lock again",
                       full_message(e));
        else if (!outage_logged)
          spdlog::warn("alert evaluator: database unreachable ({})", full_message(e));
        outage_logged = true;
        leading_ = false;
        conn.reset();
      } else {
        spdlog::error("alert evaluator: {}", full_message(e));
        if (leading_)
          wait = options_.interval;
      }
    }
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, wait, [this] { return stopping_; }))
      break;
  }
  leading_ = false;
  conn.reset(); // ends the session: the lock goes with it
}

} // namespace dm::daemon
