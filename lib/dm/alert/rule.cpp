#include "dm/alert/rule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace dm::alert {

namespace {

constexpr std::size_t max_name_length = 200;
constexpr int max_hold_s = 7 * 24 * 3600;
constexpr int max_window_s = 24 * 3600;

constexpr std::array<std::string_view, 9> metrics{"p95_ms", "p99_ms", "error_rate", "rps", "active_users",
                                                  "cpu", "mem", "disk", "load1"};
constexpr std::array<std::string_view, 4> severities{"low", "medium", "high", "critical"};

} // namespace

namespace detail {

const char* const rule_select_sql =
    "SELECT id, name, kind, metric, coalesce(service, ''), op, threshold, for_s, resolve_for_s, severity, "
    "sensitivity, window_s, enabled, source, (extract(epoch FROM created_at) * 1000000)::bigint "
    "FROM dm.alert_rules ";

StoredRule rule_from_row(const pqxx::row& r)
{
  StoredRule s;
  s.id = r[0].as<std::int64_t>();
  s.spec.name = r[1].as<std::string>();
  s.spec.kind = r[2].as<std::string>();
  s.spec.metric = r[3].as<std::string>();
  s.spec.service = r[4].as<std::string>();
  s.spec.op = r[5].as<std::string>();
  s.spec.threshold = r[6].as<double>();
  s.spec.for_s = r[7].as<int>();
  s.spec.resolve_for_s = r[8].as<int>();
  s.spec.severity = r[9].as<std::string>();
  if (!r[10].is_null())
    s.spec.sensitivity = r[10].as<double>();
  s.spec.window_s = r[11].as<int>();
  s.spec.enabled = r[12].as<bool>();
  s.spec.source = r[13].as<std::string>();
  s.created_at = r[14].as<util::Micros>();
  return s;
}

} // namespace detail

namespace {

std::optional<std::string> service_or_null(const RuleSpec& spec)
{
  if (spec.service.empty())
    return std::nullopt;
  return spec.service;
}

void check_seconds(const char* field, int value, int low, int high, const char* what)
{
  if (value < low || value > high)
    throw FieldError(field, fmt::format("{} '{}': expected {} from {} to {}", field, value, what, low, high));
}

} // namespace

bool is_metric(std::string_view metric) noexcept
{
  return std::find(metrics.begin(), metrics.end(), metric) != metrics.end();
}

bool is_request_metric(std::string_view metric) noexcept
{
  return metric == "p95_ms" || metric == "p99_ms" || metric == "error_rate" || metric == "rps";
}

bool is_severity(std::string_view severity) noexcept
{
  return std::find(severities.begin(), severities.end(), severity) != severities.end();
}

void validate(const RuleSpec& spec)
{
  if (spec.name.empty())
    throw FieldError("name", "name '': a rule needs a name");
  if (spec.name.size() > max_name_length)
    throw FieldError("name", fmt::format("name '{}…': longer than {} bytes", spec.name.substr(0, 40), max_name_length));
  if (std::any_of(spec.name.begin(), spec.name.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    throw FieldError("name", fmt::format("name '{}': control characters are not allowed", spec.name));
  if (spec.kind != "threshold" && spec.kind != "anomaly")
    throw FieldError("kind", fmt::format("kind '{}': expected threshold or anomaly", spec.kind));
  if (!is_metric(spec.metric))
    throw FieldError("metric", fmt::format("metric '{}': expected one of {}", spec.metric, fmt::join(metrics, ", ")));
  if (!spec.service.empty()) {
    if (!is_request_metric(spec.metric))
      throw FieldError("service", fmt::format("service '{}': only the request metrics p95_ms, p99_ms, error_rate "
                                                "and rps take a service, not {}",
                                                spec.service, spec.metric));
    if (std::any_of(spec.service.begin(), spec.service.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
      throw FieldError("service", fmt::format("service '{}': control characters are not allowed", spec.service));
  }
  if (spec.kind == "threshold") {
    if (spec.op != ">" && spec.op != "<")
      throw FieldError("op", fmt::format("op '{}': expected > or <", spec.op));
    if (!std::isfinite(spec.threshold))
      throw FieldError("threshold", fmt::format("threshold '{}': expected a finite number", spec.threshold));
    if (spec.sensitivity)
      throw FieldError("sensitivity", fmt::format("sensitivity '{}': only anomaly rules take a sensitivity",
                                                    *spec.sensitivity));
  } else {
    if (!spec.sensitivity)
      throw FieldError("sensitivity", "sensitivity '': an anomaly rule needs a sensitivity from 0 to 1");
    if (!(*spec.sensitivity >= 0 && *spec.sensitivity <= 1))
      throw FieldError("sensitivity", fmt::format("sensitivity '{}': expected a number from 0 (fewest alarms) to 1",
                                                    *spec.sensitivity));
    if (spec.op != ">" && spec.op != "<")
      throw FieldError("op", fmt::format("op '{}': expected > or <", spec.op));
    if (!std::isfinite(spec.threshold))
      throw FieldError("threshold", fmt::format("threshold '{}': expected a finite number", spec.threshold));
  }
  check_seconds("for_s", spec.for_s, 0, max_hold_s, "seconds");
  check_seconds("resolve_for_s", spec.resolve_for_s, 0, max_hold_s, "seconds");
  if (!is_severity(spec.severity))
    throw FieldError("severity", fmt::format("severity '{}': expected low, medium, high or critical", spec.severity));
  check_seconds("window_s", spec.window_s, 1, max_window_s, "seconds");
  if (spec.source != "user" && spec.source != "config")
    throw FieldError("source", fmt::format("source '{}': expected user or config", spec.source));
}

StoredRule RuleStore::create(const RuleSpec& spec)
{
  validate(spec);
  std::int64_t id = 0;
  try {
    pqxx::work txn{conn_};
    id = txn.exec_params1("INSERT INTO dm.alert_rules (name, kind, metric, service, op, threshold, for_s, "
                          "resolve_for_s, severity, sensitivity, window_s, enabled, source) "
                          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                          spec.name, spec.kind, spec.metric, service_or_null(spec), spec.op, spec.threshold,
                          spec.for_s, spec.resolve_for_s, spec.severity, spec.sensitivity, spec.window_s, spec.enabled,
                          spec.source)[0]
             .as<std::int64_t>();
    txn.commit();
  } catch (const pqxx::unique_violation& e) {
    if (std::string_view(e.what()).find("alert_rules_name_key") != std::string_view::npos)
      throw Conflict(fmt::format("name '{}': an alert rule with this name exists", spec.name));
    throw;
  }
  return get(id);
}

std::vector<StoredRule> RuleStore::list()
{
  pqxx::read_transaction txn{conn_};
  std::vector<StoredRule> out;
  for (const auto& r : txn.exec(std::string(detail::rule_select_sql) + "ORDER BY id"))
    out.push_back(detail::rule_from_row(r));
  return out;
}

StoredRule RuleStore::get(std::int64_t id)
{
  pqxx::read_transaction txn{conn_};
  const auto rows = txn.exec_params(std::string(detail::rule_select_sql) + "WHERE id = $1", id);
  if (rows.empty())
    throw NotFound(fmt::format("no alert rule with id {}", id));
  return detail::rule_from_row(rows[0]);
}

void RuleStore::remove(std::int64_t id)
{
  pqxx::work txn{conn_};
  if (txn.exec_params("DELETE FROM dm.alert_rules WHERE id = $1", id).affected_rows() == 0)
    throw NotFound(fmt::format("no alert rule with id {}", id));
  txn.commit();
}

StoredRule RuleStore::set_enabled(std::int64_t id, bool enabled)
{
  {
    pqxx::work txn{conn_};
    if (txn.exec_params("UPDATE dm.alert_rules SET enabled = $2 WHERE id = $1", id, enabled).affected_rows() == 0)
      throw NotFound(fmt::format("no alert rule with id {}", id));
    txn.commit();
  }
  return get(id);
}

const std::vector<std::string>& default_rule_names()
{
  static const std::vector<std::string> names{"default-p95", "default-error-rate", "default-active-users",
                                              "default-cpu"};
  return names;
}

std::vector<RuleSpec> default_rules(const config::AlertThresholds& thresholds, int resolve_for_s)
{
  auto make = [&](const char* name, const char* metric, const char* op, double threshold, const char* severity) {
    RuleSpec r;
    r.name = name;
    r.metric = metric;
    r.op = op;
    r.threshold = threshold;
    r.severity = severity;
    r.resolve_for_s = resolve_for_s;
    r.source = "config";
    return r;
  };
  std::vector<RuleSpec> out;
  out.push_back(make("default-p95", "p95_ms", ">", thresholds.response_time_ms, "high"));
  out.push_back(make("default-error-rate", "error_rate", ">", thresholds.error_rate, "high"));
  if (thresholds.active_users > 0) {
    out.push_back(make("default-active-users", "active_users", "<", thresholds.active_users, "medium"));
    out.back().window_s = 3600;
  }
  out.push_back(make("default-cpu", "cpu", ">", thresholds.system_load, "medium"));
  for (const auto& r : out) {
    try {
      validate(r);
    } catch (const FieldError& e) {
      throw FieldError(e.field(), fmt::format("dashboard.alert_thresholds ({}): {}", r.name, e.what()));
    }
  }
  return out;
}

int ensure_default_rules(pqxx::connection_base& conn, const config::AlertThresholds& thresholds, int resolve_for_s)
{
  const auto wanted = default_rules(thresholds, resolve_for_s);
  int changed = 0;
  pqxx::work txn{conn};
  for (const auto& r : wanted) {
    // A conflicting row of a person (source 'user') is left alone; a config
    // row is brought in line with the configuration only when it differs.
    changed += static_cast<int>(
        txn.exec_params("INSERT INTO dm.alert_rules AS t (name, kind, metric, op, threshold, for_s, resolve_for_s, "
                        "severity, window_s, enabled, source) "
                        "VALUES ($1, 'threshold', $2, $3, $4, $5, $6, $7, $8, true, 'config') "
                        "ON CONFLICT (name) DO UPDATE SET threshold = excluded.threshold, "
                        "resolve_for_s = excluded.resolve_for_s, enabled = true "
                        "WHERE t.source = 'config' AND (t.threshold <> excluded.threshold "
                        "OR t.resolve_for_s <> excluded.resolve_for_s OR NOT t.enabled) RETURNING id",
                        r.name, r.metric, r.op, r.threshold, r.for_s, r.resolve_for_s, r.severity, r.window_s)
            .size());
  }
  for (const auto& name : default_rule_names()) {
    if (std::any_of(wanted.begin(), wanted.end(), [&](const RuleSpec& r) { return r.name == name; }))
      continue;
    changed += static_cast<int>(txn.exec_params("UPDATE dm.alert_rules SET enabled = false "
                                                "WHERE name = $1 AND source = 'config' AND enabled",
                                                name)
                                    .affected_rows());
  }
  txn.commit();
  return changed;
}

} // namespace dm::alert
