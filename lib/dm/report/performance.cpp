// The system-performance report (DESIGN 5): requests, throughput, error rate
// and latency percentiles per service and endpoint, an hourly timeline, host
// saturation and recommendations with the numbers that triggered them.

#include "dm/report/calendar.hpp"
#include "dm/report/generator.hpp"
#include "dm/report/sql_util.hpp"
#include "dm/stats/sketch.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace dm::report::detail {

namespace {

struct Latency {
  std::int64_t requests = 0;
  std::int64_t errors = 0;
  double p50 = 0, p95 = 0, p99 = 0;
};

/// (service, "\1" + endpoint) for an endpoint, (service, "") for a service's
/// total, ("", "") for everything: the mark keeps an endpoint named "" apart
/// from its service's total.
using SeriesKey = std::pair<std::string, std::string>;

/// Percentiles from merged rollup sketches, merged here (merging is cheap in
/// C++, slow in SQL). Per series: the daily rollup for the whole UTC days of
/// the period, the hourly one for the hours around them. The timeline (when
/// `per_hour` is given) merges the hourly totals over every series.
std::map<SeriesKey, Latency> latency_rollup(pqxx::transaction_base& txn, const Period& p,
                                            std::map<std::string, Latency>* per_hour)
{
  util::Micros day_from = util::floor_to(p.from + util::micros_per_day - 1, util::micros_per_day);
  util::Micros day_to = util::floor_to(p.to, util::micros_per_day);
  if (day_from >= day_to)
    day_from = day_to = p.to; // no whole day: every hour from the hourly rollup
  std::map<SeriesKey, stats::Sketch> sketches;
  std::map<SeriesKey, Latency> out;
  for (const auto& r : txn.exec_params(
           "SELECT service, endpoint, n, errors, sketch FROM dm.request_rollup_1d WHERE day >= $3 AND day < $4"
           " UNION ALL SELECT service, endpoint, n, errors, sketch FROM dm.request_rollup_1h"
           " WHERE hour >= $1 AND hour < $3"
           " UNION ALL SELECT service, endpoint, n, errors, sketch FROM dm.request_rollup_1h"
           " WHERE hour >= $4 AND hour < $2",
           ts(p.from), ts(p.to), ts(day_from), ts(day_to))) {
    const std::string service = r[0].as<std::string>();
    const std::string endpoint = r[1].as<std::string>();
    const auto n = as_int(r[2]);
    const auto errors = as_int(r[3]);
    const stats::Sketch sketch = stats::Sketch::deserialize(pqxx::binarystring(r[4]).str());
    for (const SeriesKey& key : {SeriesKey{service, "\x01" + endpoint}, SeriesKey{service, ""}, SeriesKey{"", ""}}) {
      Latency& l = out[key];
      l.requests += n;
      l.errors += errors;
      sketches[key].merge(sketch);
    }
  }
  for (auto& [key, l] : out) {
    const stats::Sketch& s = sketches[key];
    if (!s.empty()) {
      l.p50 = s.quantile(0.50);
      l.p95 = s.quantile(0.95);
      l.p99 = s.quantile(0.99);
    }
  }
  if (per_hour != nullptr) {
    // Two UTC hours share a local label when the clocks go back: merged.
    std::map<std::string, stats::Sketch> hour_sketches;
    for (const auto& r : txn.exec_params(
             "SELECT to_char(date_trunc('hour', hour AT TIME ZONE $3), 'YYYY-MM-DD\"T\"HH24:00'), n, errors, sketch"
             " FROM dm.request_totals_1h WHERE hour >= $1 AND hour < $2",
             ts(p.from), ts(p.to), p.tz)) {
      const std::string hour = r[0].as<std::string>();
      Latency& h = (*per_hour)[hour];
      h.requests += as_int(r[1]);
      h.errors += as_int(r[2]);
      hour_sketches[hour].merge(stats::Sketch::deserialize(pqxx::binarystring(r[3]).str()));
    }
    for (auto& [hour, h] : *per_hour)
      if (!hour_sketches[hour].empty())
        h.p95 = hour_sketches[hour].quantile(0.95);
  }
  return out;
}

/// The same from raw rows with percentile_cont (exact).
std::map<SeriesKey, Latency> latency_exact(pqxx::transaction_base& txn, const Period& p,
                                           std::map<std::string, Latency>* per_hour)
{
  std::map<SeriesKey, Latency> out;

  for (const auto& r : txn.exec_params(
           "SELECT service, coalesce(endpoint, ''), count(*), count(*) FILTER (WHERE status >= 500),"
           " percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms),"
           " percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms),"
           " percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms),"
           " grouping(service, endpoint)"
           " FROM (SELECT service, coalesce(endpoint, '') AS endpoint, status, duration_ms FROM dm.request_metrics"
           "       WHERE ts >= $1 AND ts < $2) m"
           " GROUP BY GROUPING SETS ((service, endpoint), (service), ())",
           ts(p.from), ts(p.to))) {
    const int g = r[7].as<int>();
    const Latency l{as_int(r[2]), as_int(r[3]), as_double(r[4]), as_double(r[5]), as_double(r[6])};
    if (g == 0)
      out[{r[0].as<std::string>(), "\x01" + r[1].as<std::string>()}] = l; // an endpoint row
    else if (g == 1)
      out[{r[0].as<std::string>(), ""}] = l;
    else
      out[{"", ""}] = l;
  }
  if (per_hour == nullptr)
    return out;
  for (const auto& r : txn.exec_params(
           "SELECT to_char(date_trunc('hour', ts AT TIME ZONE $3), 'YYYY-MM-DD\"T\"HH24:00'), count(*),"
           " count(*) FILTER (WHERE status >= 500), percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)"
           " FROM dm.request_metrics WHERE ts >= $1 AND ts < $2 GROUP BY 1",
           ts(p.from), ts(p.to), p.tz))
    (*per_hour)[r[0].as<std::string>()] = Latency{as_int(r[1]), as_int(r[2]), 0, as_double(r[3]), 0};
  return out;
}

} // namespace

void generate_performance(pqxx::transaction_base& txn, const GenerateRequest& request, bool exact, Report& out)
{
  const Period& p = request.period;
  const double seconds = static_cast<double>(p.to - p.from) / static_cast<double>(util::micros_per_second);
  std::map<std::string, Latency> per_hour;
  auto series = exact ? latency_exact(txn, p, &per_hour) : latency_rollup(txn, p, &per_hour);
  const Latency all = series[{"", ""}];
  const pqxx::row host =
      exact ? txn.exec_params1("SELECT avg(cpu), max(cpu), max(mem), max(disk) FROM dm.host_samples WHERE ts >= $1 AND ts < $2",
                               ts(p.from), ts(p.to))
            : txn.exec_params1("SELECT sum(cpu_sum) / nullif(sum(cpu_n), 0), max(cpu_max), max(mem_max), max(disk_max)"
                               " FROM dm.host_hourly WHERE hour >= $1 AND hour < $2",
                               ts(p.from), ts(p.to));
  out.kpis = {int_kpi("requests", "Requests", all.requests),
              num_kpi("rps", "Requests per second", ratio(static_cast<double>(all.requests), seconds)),
              num_kpi("error_rate", "Error rate", ratio(static_cast<double>(all.errors), static_cast<double>(all.requests)), ColumnType::ratio),
              num_kpi("p50_ms", "p50 (ms)", all.p50),
              num_kpi("p95_ms", "p95 (ms)", all.p95),
              num_kpi("p99_ms", "p99 (ms)", all.p99),
              num_kpi("cpu_avg", "CPU average", as_double(host[0]), ColumnType::ratio),
              num_kpi("cpu_max", "CPU max", as_double(host[1]), ColumnType::ratio),
              num_kpi("mem_max", "Memory max", as_double(host[2]), ColumnType::ratio),
              num_kpi("disk_max", "Disk max", as_double(host[3]), ColumnType::ratio)};

  auto latency_columns = [](std::vector<Column> first) {
    for (Column c : {Column{"requests", ColumnType::integer, "Requests"}, Column{"rps", ColumnType::number, "Req/s"},
                     Column{"error_rate", ColumnType::ratio, "Errors"}, Column{"p50_ms", ColumnType::number, "p50 ms"},
                     Column{"p95_ms", ColumnType::number, "p95 ms"}, Column{"p99_ms", ColumnType::number, "p99 ms"}})
      first.push_back(c);
    return first;
  };
  auto latency_cells = [seconds](std::vector<Cell> row, const Latency& l) {
    row.insert(row.end(), {l.requests, ratio(static_cast<double>(l.requests), seconds),
                           ratio(static_cast<double>(l.errors), static_cast<double>(l.requests)), l.p50, l.p95, l.p99});
    return row;
  };
  Section services;
  services.name = "services";
  services.title = "Services";
  services.columns = latency_columns({{"service", ColumnType::text, "Service"}});
  services.chart = Chart::bar;
  services.chart_x = "service";
  services.chart_y = {"p95_ms"};
  Section endpoints;
  endpoints.name = "endpoints";
  endpoints.title = "Endpoints (highest p99 first)";
  endpoints.columns = latency_columns({{"service", ColumnType::text, "Service"}, {"endpoint", ColumnType::text, "Endpoint"}});
  std::vector<std::pair<SeriesKey, Latency>> endpoint_rows;
  for (const auto& [key, l] : series) {
    if (key.first.empty())
      continue;
    if (key.second.empty())
      services.rows.push_back(latency_cells({key.first}, l));
    else
      endpoint_rows.emplace_back(SeriesKey{key.first, key.second.substr(1)}, l);
  }
  std::stable_sort(endpoint_rows.begin(), endpoint_rows.end(),
                   [](const auto& a, const auto& b) { return a.second.p99 > b.second.p99; });
  for (const auto& [key, l] : endpoint_rows)
    endpoints.rows.push_back(latency_cells({key.first, key.second}, l));

  Section timeline;
  timeline.name = "timeline";
  timeline.title = "Hourly timeline";
  timeline.columns = {{"hour", ColumnType::text, "Hour"},
                      {"requests", ColumnType::integer, "Requests"},
                      {"error_rate", ColumnType::ratio, "Errors"},
                      {"p95_ms", ColumnType::number, "p95 ms"}};
  timeline.chart = Chart::line;
  timeline.chart_x = "hour";
  timeline.chart_y = {"p95_ms"};
  for (const auto& [hour, h] : per_hour)
    timeline.rows.push_back({hour, h.requests, ratio(static_cast<double>(h.errors), static_cast<double>(h.requests)), h.p95});

  // Recommendations: each rule with the number that triggered it.
  auto recommend = [&out](std::string rule, std::string subject, double value, double threshold, std::string text) {
    out.recommendations.push_back({std::move(rule), std::move(subject), value, threshold, std::move(text)});
  };
  for (const auto& [key, l] : series) {
    if (key.first.empty() || !key.second.empty() || l.requests == 0)
      continue;
    if (l.p99 > request.slo_p99_ms)
      recommend("p99_above_slo", key.first, l.p99, request.slo_p99_ms,
                fmt::format("{}: p99 {:.0f} ms is above the {:.0f} ms objective; look at its slowest endpoints", key.first,
                            l.p99, request.slo_p99_ms));
    const double err = ratio(static_cast<double>(l.errors), static_cast<double>(l.requests));
    if (err > request.max_error_rate)
      recommend("error_rate_high", key.first, err, request.max_error_rate,
                fmt::format("{}: {:.2f} % of requests failed (threshold {:.2f} %)", key.first, err * 100,
                            request.max_error_rate * 100));
  }
  // Slower than the previous period of the same length (p95 up by more than 20 %).
  const Period previous{p.from - (p.to - p.from), p.from, p.tz};
  auto prev = exact ? latency_exact(txn, previous, nullptr) : latency_rollup(txn, previous, nullptr);
  for (const auto& [key, l] : series) {
    if (key.first.empty() || !key.second.empty())
      continue;
    const auto it = prev.find({key.first, ""});
    if (it != prev.end() && it->second.requests > 0 && it->second.p95 > 0 && l.p95 > it->second.p95 * 1.2)
      recommend("slower_than_previous", key.first, l.p95, it->second.p95,
                fmt::format("{}: p95 rose from {:.0f} ms to {:.0f} ms against the previous period", key.first,
                            it->second.p95, l.p95));
  }
  // Hosts in the order of the database's collation, as the raw query sorts them.
  for (const auto& r : txn.exec_params(exact ? "SELECT host, max(cpu) FROM dm.host_samples WHERE ts >= $1 AND ts < $2"
                                               " GROUP BY host HAVING max(cpu) >= $3 ORDER BY host"
                                             : "SELECT host, max(cpu_max) FROM dm.host_hourly WHERE hour >= $1 AND hour < $2"
                                               " GROUP BY host HAVING max(cpu_max) >= $3 ORDER BY host COLLATE \"default\"",
                                       ts(p.from), ts(p.to), request.saturated_cpu))
    recommend("host_saturated", r[0].as<std::string>(), as_double(r[1]), request.saturated_cpu,
              fmt::format("{}: CPU reached {:.0f} %; add capacity or spread the load", r[0].as<std::string>(),
                          as_double(r[1]) * 100));
  Section recs;
  recs.name = "recommendations";
  recs.title = "Recommendations";
  recs.columns = {{"rule", ColumnType::text, "Rule"}, {"subject", ColumnType::text, "Subject"},
                  {"value", ColumnType::number, "Value"}, {"threshold", ColumnType::number, "Threshold"},
                  {"text", ColumnType::text, "Recommendation"}};
  for (const auto& r : out.recommendations)
    recs.rows.push_back({r.rule, r.subject, r.value, r.threshold, r.text});
  out.sections = {std::move(services), std::move(endpoints), std::move(timeline), std::move(recs)};
}

} // namespace dm::report::detail
