#pragma once
// The system performance dashboard (DESIGN 8): the last hour of requests
// from the minute rollups, the hosts' latest samples and the health probes.

#include "dm/util/time.hpp"

#include <boost/json/object.hpp>
#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <vector>

namespace dm::dashboard {

using util::Micros;

/// What the daemon's prober last saw of one `[[health.probe]]`.
struct ProbeStatusView {
  std::string name;
  std::string url;
  bool up = false;
  std::optional<int> status_code;   ///< nullopt: no HTTP answer (timeout, refused)
  std::optional<double> latency_ms; ///< nullopt: no answer
  std::optional<Micros> checked_at; ///< nullopt: not checked yet
  std::string error;                ///< empty: none
};

/// The dashboard's data object over the window [now - 1 h, now):
///   window {from, to} (RFC 3339),
///   overall {requests, errors, rps, error_rate, p50_ms, p95_ms, p99_ms},
///   services [{service, <the same>}] by service (bytewise),
///   timeline [{minute, requests, error_rate, p95_ms}] for the minutes with
///     requests, oldest first,
///   hosts [{host, ts, cpu, mem, disk, load1, cpu_avg, cpu_max}] by host: the
///     latest sample of each host in the window and its CPU over the window,
///   cpu_avg, cpu_max over every host sample of the window,
///   probes [{name, url, up, status_code, latency_ms, checked_at, error}] as given.
/// Requests come from dm.request_rollup_1m buckets with now - 1 h <= bucket < now
/// (the current minute as far as it is stored); percentiles come from the
/// merged sketches (within 1% of percentile_cont), rps is requests / 3600,
/// error_rate the share of status >= 500. No traffic gives zeros and empty
/// arrays, never NaN; a NULL sample value is null. Reads one snapshot of the
/// database.
boost::json::object compute_system_performance(pqxx::connection& conn, Micros now,
                                               const std::vector<ProbeStatusView>& probes);

} // namespace dm::dashboard
