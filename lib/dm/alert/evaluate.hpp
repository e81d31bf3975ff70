#pragma once
// Alert evaluation (DESIGN 7): every enabled rule at an instant, the
// schedule_missed dead-man's switch, and the backtest of a rule over history.
//
// Conditions:
// - threshold rules: `value op threshold`, value = metric_value(at) (see
//   metric.hpp). No data is never a condition, for `>` and `<` alike: a
//   missing value is neither above nor below. Counts (rps, active_users) are
//   0 rather than missing, so `rps < X` and `active_users < X` alarm on silence.
// - anomaly rules: the metric over consecutive windows of window_s that end
//   on multiples of window_s since the epoch; at `at`, the last such window
//   ending at or before `at` and the anomaly_history_points before it are fed,
//   oldest first, to a fresh dm::stats::AnomalyDetector with the rule's
//   sensitivity; the condition is that the last window has data and its score
//   is at least the detector's threshold (the score, not the one-shot alarm,
//   so the condition lasts as long as the anomaly). Windows without data are
//   left out of the series. The value reported is the last window's metric.
// - schedule_missed: an enabled schedule whose missed_since is set
//   (dm::schedule::update_missed) has an open alert keyed
//   "schedule_missed:<schedule id>", severity high, firing at once (for 0,
//   resolve_for 0); it resolves at the first evaluation after missed_since is
//   cleared or the schedule is disabled or deleted.
// An open alert whose rule was deleted or disabled resolves at the next
// evaluation (value NaN).

#include "dm/alert/rule.hpp"
#include "dm/util/time.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dm::alert {

/// Length of the series an anomaly rule feeds to the detector: one day at the
/// default window of 5 minutes.
inline constexpr int anomaly_history_points = 288;

/// Name of the transaction-level advisory lock (pg_advisory_xact_lock of
/// hashtext(name)) that serialises evaluate_rules() calls on one database.
inline constexpr const char* evaluation_lock_name = "dm.alerts.evaluate";

/// The channel of the NOTIFY sent for every transition.
inline constexpr const char* notify_channel = "dm_alerts";

/// One transition made by evaluate_rules(). from: inactive|pending|firing;
/// to: pending|firing|resolved. value: NaN when there was no data.
struct AlertTransition {
  std::int64_t alert_id = 0;
  std::string key, rule_name, severity, from, to;
  util::Micros at = 0;
  double value = 0;
};

/// Evaluates every enabled rule and the schedule_missed condition at `at` in
/// one transaction: steps each rule's state machine (state.hpp) from its open
/// alert, inserts an alert on inactive -> pending|firing, updates it on
/// -> firing|resolved, records each transition in dm.alert_events and sends
/// `NOTIFY dm_alerts` with `{"alert_id","key","rule","severity","from","to",
/// "at","value"}` (at RFC 3339, value null without data) in the same
/// transaction. Calls are serialised by evaluation_lock_name; instants should
/// not go backwards. Returns the transitions, rules by id, then schedules.
std::vector<AlertTransition> evaluate_rules(pqxx::connection_base& conn, util::Micros at);

/// The JSON text of the NOTIFY payload of a transition.
std::string notify_payload(const AlertTransition& t);

struct BacktestStep {
  util::Micros at = 0;
  std::optional<double> value;
  std::string from, to;
};

/// Replays `rule` from inactive at from, from + step, ... before `to` over
/// stored data without writing, and returns its transitions with their
/// values: what evaluate_rules() called at the same instants would have done.
/// Throws FieldError for a bad rule, UsageError for `to` <= `from`, a step
/// <= 0 or more than 1,000,000 instants. Cost: one query per rule (anomaly
/// rules also run the detector over anomaly_history_points windows for each
/// window_s of the range).
std::vector<BacktestStep> backtest(pqxx::connection_base& conn, const RuleSpec& rule, util::Micros from,
                                   util::Micros to, std::chrono::seconds step);

} // namespace dm::alert
