#include "dm/alert/evaluate.hpp"

#include "dm/alert/metric.hpp"
#include "dm/alert/state.hpp"
#include "dm/stats/anomaly.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <limits>
#include <map>

namespace dm::alert {

namespace {

constexpr double no_value = std::numeric_limits<double>::quiet_NaN();
/// Most instants one backtest replays (metric_series() has the same bound).
constexpr util::Micros max_instants = 1'000'000;

std::string ts_param(int n)
{
  return fmt::format("('epoch'::timestamptz + ${}::bigint * interval '1 microsecond')", n);
}

std::string micros_of(const char* column)
{
  return fmt::format("(extract(epoch FROM {}) * 1000000)::bigint", column);
}

std::optional<double> as_optional(double v)
{
  return std::isnan(v) ? std::nullopt : std::optional<double>(v);
}

/// The outcome of one rule at one instant.
struct Evaluation {
  util::Micros at = 0;
  std::optional<double> value;
  bool condition = false;
  double threshold = 0; ///< the rule's, or the detector's score threshold
  std::string message;
};

std::string describe_value(const std::optional<double>& v)
{
  return v ? fmt::format("{:.6g}", *v) : std::string("no data");
}

std::string subject(const RuleSpec& rule)
{
  return rule.service.empty() ? rule.metric : fmt::format("{} of {}", rule.metric, rule.service);
}

/// Anomaly rules: the outcome at each window end g (a multiple of window_s)
/// that an instant in [from, to) maps to.
struct AnomalyPoint {
  std::optional<double> value;
  bool condition = false;
  double score = 0;
  double threshold = 0;
};

std::map<util::Micros, AnomalyPoint> anomaly_points(pqxx::transaction_base& txn, const RuleSpec& rule,
                                                    util::Micros from, util::Micros to)
{
  const util::Micros w = static_cast<util::Micros>(rule.window_s) * util::micros_per_second;
  const util::Micros g_first = util::floor_to(from, w);
  const util::Micros g_last = util::floor_to(to - 1, w);
  const util::Micros start = g_first - static_cast<util::Micros>(anomaly_history_points - 1) * w;
  const auto series = metric_series(txn, rule, start, g_last + 1, std::chrono::seconds(rule.window_s));
  stats::AnomalyOptions options;
  options.sensitivity = rule.sensitivity.value_or(0.5);
  std::map<util::Micros, AnomalyPoint> out;
  for (std::size_t end = anomaly_history_points - 1; end < series.size(); ++end) {
    stats::AnomalyDetector detector(options);
    stats::AnomalyDetector::Result last;
    for (std::size_t i = end + 1 - anomaly_history_points; i <= end; ++i)
      if (series[i].second)
        last = detector.observe(series[i].first, *series[i].second);
    AnomalyPoint p;
    p.value = series[end].second;
    p.threshold = detector.threshold();
    p.score = p.value ? last.score : 0;
    p.condition = p.value && last.score >= detector.threshold();
    out.emplace(series[end].first, p);
  }
  return out;
}

/// The rule at every instant from, from + step, ... before `to`.
std::vector<Evaluation> evaluate_series(pqxx::transaction_base& txn, const RuleSpec& rule, util::Micros from,
                                        util::Micros to, std::chrono::seconds step)
{
  std::vector<Evaluation> out;
  if (rule.kind == "anomaly") {
    if (step.count() <= 0)
      throw UsageError(fmt::format("step '{}s': expected a positive number of seconds", step.count()));
    if (to <= from)
      return out;
    const util::Micros stride = step.count() * util::micros_per_second;
    if ((to - from - 1) / stride + 1 > max_instants)
      throw UsageError(fmt::format("step '{}s': {} instants from {} to {}, more than {}", step.count(),
                                   (to - from - 1) / stride + 1, util::format_rfc3339_utc(from),
                                   util::format_rfc3339_utc(to), max_instants));
    const auto points = anomaly_points(txn, rule, from, to);
    const util::Micros w = static_cast<util::Micros>(rule.window_s) * util::micros_per_second;
    for (util::Micros t = from; t < to; t += step.count() * util::micros_per_second) {
      const auto it = points.find(util::floor_to(t, w));
      Evaluation e;
      e.at = t;
      if (it != points.end()) {
        e.value = it->second.value;
        e.condition = it->second.condition;
        e.threshold = it->second.threshold;
        e.message = it->second.value
                        ? fmt::format("{} {} over the {} s before {}: anomaly score {:.3g} (alarm at {:.3g})",
                                      subject(rule), describe_value(it->second.value), rule.window_s,
                                      util::format_rfc3339_utc(it->first), it->second.score, it->second.threshold)
                        : fmt::format("{}: no data over the {} s before {}", subject(rule), rule.window_s,
                                      util::format_rfc3339_utc(it->first));
      }
      out.push_back(std::move(e));
    }
    return out;
  }
  for (const auto& [t, v] : metric_series(txn, rule, from, to, step)) {
    Evaluation e;
    e.at = t;
    e.value = v;
    e.threshold = rule.threshold;
    e.condition = v && (rule.op == ">" ? *v > rule.threshold : *v < rule.threshold);
    e.message = fmt::format("{} {} {} {} over the last {} s", subject(rule), describe_value(v), rule.op,
                            fmt::format("{:.6g}", rule.threshold), rule.window_s);
    out.push_back(std::move(e));
  }
  return out;
}

struct OpenAlert {
  std::int64_t id = 0;
  std::string key, rule_name, severity;
  RuleState state;
};

Phase phase_of(const std::string& state)
{
  return state == "firing" ? Phase::firing : state == "pending" ? Phase::pending : Phase::inactive;
}

/// What an alert opened by a transition is about.
struct AlertSubject {
  std::optional<std::int64_t> rule_id;
  std::string key, rule_name, metric, service, severity;
  std::optional<double> threshold;
  std::string message;
};

class Writer {
public:
  explicit Writer(pqxx::transaction_base& txn) : txn_(txn) {}

  /// Writes a transition of `subject` (open: its open alert, if any) and
  /// returns it as reported.
  AlertTransition apply(const Transition& tr, const AlertSubject& subject, const OpenAlert* open)
  {
    const std::optional<double> value = as_optional(tr.value);
    std::int64_t id = 0;
    if (tr.from == "inactive") {
      id = txn_.exec_params1(fmt::format("INSERT INTO dm.alerts (key, rule_id, rule_name, metric, service, severity, "
                                         "state, value, threshold, started_at, firing_at, message) "
                                         "VALUES ($2, $3, $4, $5, $6, $7, $8, $9, $10, {0}, "
                                         "CASE WHEN $8::text = 'firing' THEN {0} END, $11) RETURNING id",
                                         ts_param(1)),
                             tr.at, subject.key, subject.rule_id, subject.rule_name, subject.metric,
                             subject.service.empty() ? std::nullopt : std::optional<std::string>(subject.service),
                             subject.severity, tr.to, value, subject.threshold, subject.message)[0]
               .as<std::int64_t>();
    } else {
      id = open->id;
      if (tr.to == "firing")
        txn_.exec_params(fmt::format("UPDATE dm.alerts SET state = 'firing', firing_at = {}, value = $3, "
                                     "message = $4, clear_since = NULL WHERE id = $2",
                                     ts_param(1)),
                         tr.at, id, value, subject.message);
      else
        txn_.exec_params(fmt::format("UPDATE dm.alerts SET state = 'resolved', resolved_at = {}, clear_since = NULL "
                                     "WHERE id = $2",
                                     ts_param(1)),
                         tr.at, id);
    }
    txn_.exec_params(fmt::format("INSERT INTO dm.alert_events (alert_id, at, from_state, to_state, value) "
                                 "VALUES ($2, {}, $3, $4, $5)",
                                 ts_param(1)),
                     tr.at, id, tr.from, tr.to, value);
    AlertTransition out{id,
                        subject.key,
                        open != nullptr ? open->rule_name : subject.rule_name,
                        open != nullptr ? open->severity : subject.severity,
                        tr.from,
                        tr.to,
                        tr.at,
                        tr.value};
    txn_.exec_params("SELECT pg_notify($1, $2)", std::string(notify_channel), notify_payload(out));
    return out;
  }

  /// Stores clear_since of a firing alert when it changed without a transition.
  void keep_clear_since(const OpenAlert& open, const RuleState& now)
  {
    if (now.phase != Phase::firing || now.clear_since == open.state.clear_since)
      return;
    if (now.clear_since == 0)
      txn_.exec_params("UPDATE dm.alerts SET clear_since = NULL WHERE id = $1", open.id);
    else
      txn_.exec_params(fmt::format("UPDATE dm.alerts SET clear_since = {} WHERE id = $2", ts_param(1)),
                       now.clear_since, open.id);
  }

private:
  pqxx::transaction_base& txn_;
};

} // namespace

std::string notify_payload(const AlertTransition& t)
{
  boost::json::object o;
  o["alert_id"] = t.alert_id;
  o["key"] = t.key;
  o["rule"] = t.rule_name;
  o["severity"] = t.severity;
  o["from"] = t.from;
  o["to"] = t.to;
  o["at"] = util::format_rfc3339_utc(t.at);
  if (std::isfinite(t.value))
    o["value"] = t.value;
  else
    o["value"] = nullptr;
  return boost::json::serialize(o);
}

std::vector<AlertTransition> evaluate_rules(pqxx::connection_base& conn, util::Micros at)
{
  pqxx::work txn{conn};
  txn.exec_params("SELECT pg_advisory_xact_lock(hashtext($1))", std::string(evaluation_lock_name));

  std::vector<StoredRule> rules;
  for (const auto& r : txn.exec(std::string(detail::rule_select_sql) + "WHERE enabled ORDER BY id"))
    rules.push_back(detail::rule_from_row(r));

  std::map<std::string, OpenAlert> open;
  for (const auto& r : txn.exec(fmt::format("SELECT id, key, rule_name, severity, state, {}, {} FROM dm.alerts "
                                            "WHERE state IN ('pending', 'firing') ORDER BY id FOR UPDATE",
                                            micros_of("started_at"), micros_of("clear_since")))) {
    OpenAlert a;
    a.id = r[0].as<std::int64_t>();
    a.key = r[1].as<std::string>();
    a.rule_name = r[2].as<std::string>();
    a.severity = r[3].as<std::string>();
    a.state.phase = phase_of(r[4].as<std::string>());
    a.state.condition_since = r[5].as<util::Micros>();
    a.state.clear_since = r[6].is_null() ? 0 : r[6].as<util::Micros>();
    open.emplace(a.key, std::move(a));
  }

  Writer writer(txn);
  std::vector<AlertTransition> out;
  for (const auto& rule : rules) {
    const std::string key = fmt::format("rule:{}", rule.id);
    const auto it = open.find(key);
    const OpenAlert* current = it == open.end() ? nullptr : &it->second;
    RuleState state = current != nullptr ? current->state : RuleState{};
    Evaluation e;
    try {
      // A rule whose metric cannot be read (a malformed row, a statement
      // timeout) is skipped with its state kept; the others go on.
      pqxx::subtransaction sub(txn, "alert_rule");
      e = evaluate_series(sub, rule.spec, at, at + 1, std::chrono::seconds(1)).front();
      sub.commit();
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const std::exception& ex) {
      spdlog::warn("alert rule '{}' (id {}) not evaluated at {}: {}", rule.spec.name, rule.id,
                   util::format_rfc3339_utc(at), ex.what());
      if (it != open.end())
        open.erase(it);
      continue;
    }
    const auto tr = step(state, e.condition, e.value.value_or(no_value), at, rule.spec.for_s, rule.spec.resolve_for_s);
    if (tr) {
      AlertSubject s{rule.id,          key, rule.spec.name, rule.spec.metric, rule.spec.service, rule.spec.severity,
                     e.threshold,      e.message};
      out.push_back(writer.apply(*tr, s, current));
    } else if (current != nullptr) {
      writer.keep_clear_since(*current, state);
    }
    if (it != open.end())
      open.erase(it);
  }

  for (const auto& r : txn.exec(fmt::format("SELECT id, name, {} FROM dm.schedules WHERE enabled AND "
                                            "missed_since IS NOT NULL ORDER BY id",
                                            micros_of("missed_since")))) {
    const std::string key = fmt::format("schedule_missed:{}", r[0].as<std::int64_t>());
    const auto it = open.find(key);
    const OpenAlert* current = it == open.end() ? nullptr : &it->second;
    RuleState state = current != nullptr ? current->state : RuleState{};
    const auto tr = step(state, true, no_value, at, 0, 0);
    if (tr) {
      AlertSubject s;
      s.key = key;
      s.rule_name = "schedule_missed";
      s.metric = "schedule_missed";
      s.severity = "high";
      s.message = fmt::format("schedule '{}' (id {}) has not succeeded within twice its interval (missed since {})",
                              r[1].as<std::string>(), r[0].as<std::int64_t>(),
                              util::format_rfc3339_utc(r[2].as<util::Micros>()));
      out.push_back(writer.apply(*tr, s, current));
    }
    if (it != open.end())
      open.erase(it);
  }

  // Open alerts nothing asks for any more: the schedule recovered, or the
  // rule was deleted or disabled.
  for (auto& [key, alert] : open) {
    RuleState state = alert.state;
    std::optional<Transition> tr;
    if (key.rfind("schedule_missed:", 0) == 0)
      tr = step(state, false, no_value, at, 0, 0);
    else
      tr = Transition{phase_name(alert.state.phase), "resolved", at, no_value};
    if (tr) {
      AlertSubject s;
      s.key = key;
      s.rule_name = alert.rule_name;
      s.severity = alert.severity;
      out.push_back(writer.apply(*tr, s, &alert));
    }
  }
  txn.commit();
  return out;
}

std::vector<BacktestStep> backtest(pqxx::connection_base& conn, const RuleSpec& rule, util::Micros from,
                                   util::Micros to, std::chrono::seconds step_size)
{
  validate(rule);
  if (to <= from)
    throw UsageError(fmt::format("to '{}': must be after from '{}'", util::format_rfc3339_utc(to),
                                 util::format_rfc3339_utc(from)));
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> txn{conn};
  const auto evaluations = evaluate_series(txn, rule, from, to, step_size);
  txn.commit();
  std::vector<BacktestStep> out;
  RuleState state;
  for (const auto& e : evaluations)
    if (const auto tr = step(state, e.condition, e.value.value_or(no_value), e.at, rule.for_s, rule.resolve_for_s))
      out.push_back(BacktestStep{e.at, e.value, tr->from, tr->to});
  return out;
}

} // namespace dm::alert
