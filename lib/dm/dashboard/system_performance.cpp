#include "dm/dashboard/system_performance.hpp"

#include "dm/dashboard/json_util.hpp"
#include "dm/dashboard/statements.hpp"
#include "dm/stats/sketch.hpp"

#include <boost/json/array.hpp>

#include <map>

namespace dm::dashboard {

namespace {

using detail::ratio;

constexpr double window_seconds =
    static_cast<double>(util::micros_per_hour) / static_cast<double>(util::micros_per_second);

/// Requests of one series (everything, a service, a minute) with their merged sketch.
struct Traffic {
  std::int64_t requests = 0;
  std::int64_t errors = 0;
  stats::Sketch sketch;

  void add(std::int64_t n, std::int64_t e, const stats::Sketch& s)
  {
    requests += n;
    errors += e;
    sketch.merge(s);
  }
  double quantile(double q) const { return sketch.empty() ? 0.0 : sketch.quantile(q); }
  double error_rate() const { return ratio(static_cast<double>(errors), static_cast<double>(requests)); }
};

/// The fields every traffic row of the dashboard shares (overall, per service).
void put_traffic(boost::json::object& out, const Traffic& t)
{
  out["requests"] = t.requests;
  out["errors"] = t.errors;
  out["rps"] = static_cast<double>(t.requests) / window_seconds;
  out["error_rate"] = t.error_rate();
  out["p50_ms"] = t.quantile(0.50);
  out["p95_ms"] = t.quantile(0.95);
  out["p99_ms"] = t.quantile(0.99);
}

boost::json::object probe_json(const ProbeStatusView& p)
{
  boost::json::object o;
  o["name"] = p.name;
  o["url"] = p.url;
  o["up"] = p.up;
  o["status_code"] = p.status_code ? boost::json::value(*p.status_code) : boost::json::value(nullptr);
  o["latency_ms"] = p.latency_ms ? boost::json::value(*p.latency_ms) : boost::json::value(nullptr);
  o["checked_at"] = detail::time_or_null(p.checked_at);
  o["error"] = p.error.empty() ? boost::json::value(nullptr) : boost::json::value(p.error);
  return o;
}

} // namespace

boost::json::object compute_system_performance(pqxx::connection& conn, Micros now,
                                               const std::vector<ProbeStatusView>& probes)
{
  const Micros from = now - util::micros_per_hour;
  const std::string from_text = util::format_rfc3339_utc(from);
  const std::string to_text = util::format_rfc3339_utc(now);
  detail::prepare_statements(conn);

  // Both queries see one snapshot, so a host sample and the requests of the
  // same ingest appear together.
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> txn{conn};
  const pqxx::result requests = txn.exec_prepared(detail::requests_by_minute_stmt, from_text, to_text);
  const pqxx::result hosts = txn.exec_prepared(detail::latest_host_samples_stmt, from_text, to_text);
  txn.commit();

  Traffic overall;
  std::map<std::string, Traffic> per_service; // bytewise order
  std::map<Micros, Traffic> per_minute;
  for (const auto& r : requests) {
    const auto n = r[2].as<std::int64_t>();
    const auto errors = r[3].as<std::int64_t>();
    const stats::Sketch sketch = stats::Sketch::deserialize(pqxx::binarystring(r[4]).str());
    per_service[r[1].as<std::string>()].add(n, errors, sketch);
    per_minute[r[0].as<Micros>()].add(n, errors, sketch);
  }
  for (const auto& [service, t] : per_service)
    overall.add(t.requests, t.errors, t.sketch);

  boost::json::object out;
  out["window"] = {{"from", from_text}, {"to", to_text}};
  boost::json::object overall_json;
  put_traffic(overall_json, overall);
  out["overall"] = std::move(overall_json);

  boost::json::array services;
  for (const auto& [service, t] : per_service) {
    boost::json::object s;
    s["service"] = service;
    put_traffic(s, t);
    services.push_back(std::move(s));
  }
  out["services"] = std::move(services);

  boost::json::array timeline;
  for (const auto& [minute, t] : per_minute)
    timeline.push_back(boost::json::object{{"minute", util::format_rfc3339_utc(minute)},
                                           {"requests", t.requests},
                                           {"error_rate", t.error_rate()},
                                           {"p95_ms", t.quantile(0.95)}});
  out["timeline"] = std::move(timeline);

  std::map<std::string, boost::json::object> per_host; // bytewise order
  double cpu_sum = 0;
  std::int64_t cpu_count = 0;
  std::optional<double> cpu_max;
  for (const auto& r : hosts) {
    boost::json::object h;
    h["host"] = r[0].as<std::string>();
    h["ts"] = util::format_rfc3339_utc(r[1].as<Micros>());
    h["cpu"] = detail::number_or_null(r[2]);
    h["mem"] = detail::number_or_null(r[3]);
    h["disk"] = detail::number_or_null(r[4]);
    h["load1"] = detail::number_or_null(r[5]);
    const double sum = r[6].is_null() ? 0.0 : r[6].as<double>();
    const auto count = r[7].as<std::int64_t>();
    h["cpu_avg"] = ratio(sum, static_cast<double>(count));
    h["cpu_max"] = r[8].is_null() ? 0.0 : r[8].as<double>();
    cpu_sum += sum;
    cpu_count += count;
    if (!r[8].is_null())
      cpu_max = std::max(cpu_max.value_or(0.0), r[8].as<double>());
    per_host.emplace(r[0].as<std::string>(), std::move(h));
  }
  boost::json::array host_rows;
  for (auto& [host, h] : per_host)
    host_rows.push_back(std::move(h));
  out["hosts"] = std::move(host_rows);
  out["cpu_avg"] = ratio(cpu_sum, static_cast<double>(cpu_count));
  out["cpu_max"] = cpu_max.value_or(0.0);

  boost::json::array probe_rows;
  for (const auto& p : probes)
    probe_rows.push_back(probe_json(p));
  out["probes"] = std::move(probe_rows);
  return out;
}

} // namespace dm::dashboard
