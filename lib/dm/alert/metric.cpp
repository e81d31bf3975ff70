#include "dm/alert/metric.hpp"

#include "dm/stats/sketch.hpp"

#include <fmt/format.h>

#include <unordered_map>

namespace dm::alert {

namespace {

constexpr std::int64_t max_points = 1'000'000;

/// A timestamptz from a bigint parameter of microseconds since the epoch.
std::string ts_param(int n)
{
  return fmt::format("('epoch'::timestamptz + ${}::bigint * interval '1 microsecond')", n);
}

struct Minute {
  util::Micros bucket = 0;
  std::int64_t n = 0;
  std::int64_t errors = 0;
  stats::Sketch sketch;
};

std::vector<util::Micros> instants(util::Micros from, util::Micros to, std::chrono::seconds step)
{
  if (step.count() <= 0)
    throw UsageError(fmt::format("step '{}s': expected a positive number of seconds", step.count()));
  const util::Micros stride = step.count() * util::micros_per_second;
  std::vector<util::Micros> out;
  if (to <= from)
    return out;
  if ((to - from - 1) / stride + 1 > max_points)
    throw UsageError(fmt::format("step '{}s': {} points between {} and {}, more than {}", step.count(),
                                 (to - from - 1) / stride + 1, util::format_rfc3339_utc(from),
                                 util::format_rfc3339_utc(to), max_points));
  out.reserve(static_cast<std::size_t>((to - from - 1) / stride + 1));
  for (util::Micros t = from; t < to; t += stride)
    out.push_back(t);
  return out;
}

/// Request metrics: the minutes of [from - window, to) once, then a sliding
/// window over them.
std::vector<std::optional<double>> request_series(pqxx::transaction_base& txn, const RuleSpec& rule,
                                                  const std::vector<util::Micros>& points)
{
  const util::Micros window = static_cast<util::Micros>(rule.window_s) * util::micros_per_second;
  const bool quantile = rule.metric == "p95_ms" || rule.metric == "p99_ms";
  const std::optional<std::string> service =
      rule.service.empty() ? std::nullopt : std::optional<std::string>(rule.service);
  const std::string sql = fmt::format(
      "SELECT (extract(epoch FROM bucket) * 1000000)::bigint, {} FROM dm.request_rollup_1m "
      "WHERE bucket >= {} AND bucket < {} AND ($3::text IS NULL OR service = $3) {} ORDER BY bucket",
      quantile ? "n, errors, sketch" : "sum(n), sum(errors)", ts_param(1), ts_param(2),
      quantile ? "" : "GROUP BY bucket");
  const pqxx::result rows = txn.exec_params(sql, points.front() - window, points.back(), service);

  std::vector<Minute> minutes;
  for (const auto& r : rows) {
    const auto bucket = r[0].as<util::Micros>();
    if (minutes.empty() || minutes.back().bucket != bucket) {
      minutes.emplace_back();
      minutes.back().bucket = bucket;
    }
    Minute& m = minutes.back();
    m.n += r[1].as<std::int64_t>();
    m.errors += r[2].as<std::int64_t>();
    if (quantile)
      m.sketch.merge(stats::Sketch::deserialize(pqxx::binarystring(r[3]).str()));
  }

  std::vector<std::optional<double>> out;
  out.reserve(points.size());
  std::size_t lo = 0, hi = 0; // minutes[lo, hi) start in [t - window, t)
  std::int64_t n = 0, errors = 0;
  for (const util::Micros t : points) {
    while (hi < minutes.size() && minutes[hi].bucket < t) {
      n += minutes[hi].n;
      errors += minutes[hi].errors;
      ++hi;
    }
    while (lo < hi && minutes[lo].bucket < t - window) {
      n -= minutes[lo].n;
      errors -= minutes[lo].errors;
      ++lo;
    }
    if (rule.metric == "rps") {
      out.push_back(static_cast<double>(n) / static_cast<double>(rule.window_s));
    } else if (n <= 0) {
      out.push_back(std::nullopt);
    } else if (rule.metric == "error_rate") {
      out.push_back(static_cast<double>(errors) / static_cast<double>(n));
    } else {
      stats::Sketch merged;
      for (std::size_t i = lo; i < hi; ++i)
        merged.merge(minutes[i].sketch);
      if (merged.empty())
        out.push_back(std::nullopt);
      else
        out.push_back(merged.quantile(rule.metric == "p95_ms" ? 0.95 : 0.99));
    }
  }
  return out;
}

/// Active users at many instants: the events of [first - window, last) once,
/// then a sliding window of per-user counts (the same numbers as
/// count(DISTINCT user_id) per window, without reading overlapping windows again).
std::vector<std::optional<double>> active_users_sliding(pqxx::transaction_base& txn, const RuleSpec& rule,
                                                        const std::vector<util::Micros>& points)
{
  const util::Micros window = static_cast<util::Micros>(rule.window_s) * util::micros_per_second;
  const pqxx::result rows =
      txn.exec_params(fmt::format("SELECT (extract(epoch FROM ts) * 1000000)::bigint, user_id FROM dm.learning_events "
                                  "WHERE ts >= {} AND ts < {} ORDER BY ts",
                                  ts_param(1), ts_param(2)),
                      points.front() - window, points.back());
  std::vector<std::pair<util::Micros, std::int64_t>> events;
  events.reserve(rows.size());
  for (const auto& r : rows)
    events.emplace_back(r[0].as<util::Micros>(), r[1].as<std::int64_t>());
  std::unordered_map<std::int64_t, std::int64_t> per_user;
  std::vector<std::optional<double>> out;
  out.reserve(points.size());
  std::size_t lo = 0, hi = 0;
  for (const util::Micros t : points) {
    for (; hi < events.size() && events[hi].first < t; ++hi)
      ++per_user[events[hi].second];
    for (; lo < hi && events[lo].first < t - window; ++lo)
      if (const auto it = per_user.find(events[lo].second); --it->second == 0)
        per_user.erase(it);
    out.push_back(static_cast<double>(per_user.size()));
  }
  return out;
}

/// Active users and host metrics: one query over generate_series, each point
/// reading its own window.
std::vector<std::optional<double>> windowed_series(pqxx::transaction_base& txn, const RuleSpec& rule,
                                                   const std::vector<util::Micros>& points, util::Micros stride)
{
  const util::Micros window = static_cast<util::Micros>(rule.window_s) * util::micros_per_second;
  std::string value;
  if (rule.metric == "active_users") {
    value = "(SELECT count(DISTINCT user_id)::float8 FROM dm.learning_events e "
            "WHERE e.ts >= g.t - w.span AND e.ts < g.t)";
  } else {
    // The column name comes from the fixed list validate() checks.
    value = fmt::format("(SELECT max(a) FROM (SELECT avg(h.{}::float8) AS a FROM dm.host_samples h "
                        "WHERE h.ts >= g.t - w.span AND h.ts < g.t GROUP BY h.host) x)",
                        rule.metric);
  }
  const std::string sql = fmt::format(
      "SELECT {} FROM (SELECT $4::bigint * interval '1 microsecond' AS span) w, "
      "LATERAL (SELECT 'epoch'::timestamptz + s * interval '1 microsecond' AS t "
      "FROM generate_series($1::bigint, $2::bigint, $3::bigint) AS s) g ORDER BY g.t",
      value);
  const pqxx::result rows = txn.exec_params(sql, points.front(), points.back(), stride, window);
  std::vector<std::optional<double>> out;
  out.reserve(points.size());
  for (const auto& r : rows)
    out.push_back(r[0].is_null() ? std::nullopt : std::optional<double>(r[0].as<double>()));
  if (out.size() != points.size())
    throw std::runtime_error(fmt::format("metric {}: {} values for {} instants", rule.metric, out.size(),
                                         points.size()));
  return out;
}

} // namespace

std::vector<std::pair<util::Micros, std::optional<double>>> metric_series(pqxx::transaction_base& txn,
                                                                          const RuleSpec& rule, util::Micros from,
                                                                          util::Micros to, std::chrono::seconds step)
{
  if (!is_metric(rule.metric))
    throw FieldError("metric", fmt::format("metric '{}': not a metric a rule can watch", rule.metric));
  if (rule.window_s <= 0)
    throw FieldError("window_s", fmt::format("window_s '{}': expected a positive number of seconds", rule.window_s));
  const auto points = instants(from, to, step);
  std::vector<std::pair<util::Micros, std::optional<double>>> out;
  if (points.empty())
    return out;
  // One instant of active users: count(DISTINCT) in the database reads less
  // than sending the window's events.
  const auto values = is_request_metric(rule.metric) ? request_series(txn, rule, points)
                      : rule.metric == "active_users" && points.size() > 1
                          ? active_users_sliding(txn, rule, points)
                          : windowed_series(txn, rule, points, step.count() * util::micros_per_second);
  out.reserve(points.size());
  for (std::size_t i = 0; i < points.size(); ++i)
    out.emplace_back(points[i], values[i]);
  return out;
}

std::optional<double> metric_value(pqxx::transaction_base& txn, const RuleSpec& rule, util::Micros at)
{
  return metric_series(txn, rule, at, at + 1, std::chrono::seconds(1)).front().second;
}

} // namespace dm::alert
