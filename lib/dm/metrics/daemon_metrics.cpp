#include "dm/metrics/daemon_metrics.hpp"

#include "dm/metrics/host_sampler.hpp"
#include "dm/metrics/process_stats.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <exception>

namespace dm::metrics {

namespace {

/// A histogram's buckets for report generation: reports take from tens of
/// milliseconds (a day from rollups) to minutes (a quarter of raw rows).
std::vector<double> report_buckets()
{
  return {.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300};
}

template <class F, std::size_t N>
void preset(F& family, const std::string_view (&values)[N])
{
  for (const std::string_view v : values)
    family.labels({std::string(v)});
}

} // namespace

DaemonMetrics::DaemonMetrics()
    : dashboard_updates(registry.counter("dashboard_updates_total",
                                         "Dashboard snapshots published to WebSocket subscribers.", {"dashboard"})),
      dashboard_active_subscribers(registry.gauge("dashboard_active_subscribers",
                                                  "WebSocket subscriptions per dashboard.", {"dashboard"})),
      dashboard_update_latency(
          registry
              .histogram("dashboard_update_latency_seconds",
                         "Time from an ingest commit to the WebSocket frame of the first snapshot reflecting it "
                         "being written to a subscriber's socket.")
              .labels({})),
      websocket_connections(
          registry.gauge("websocket_connections", "Open WebSocket connections.").labels({})),
      websocket_messages_dropped(registry
                                     .counter("websocket_messages_dropped_total",
                                              "WebSocket frames never written because their subscriber read too slowly and was closed (1008).")
                                     .labels({})),
      websocket_messages_conflated(
          registry
              .counter("websocket_messages_conflated_total",
                       "Queued WebSocket snapshots replaced by a newer one before the client read them.")
              .labels({})),
      alerts_generated(registry.counter("alerts_generated_total", "Alerts that started firing.", {"severity"})),
      reports_generated(registry.counter("reports_generated_total", "Reports generated and stored.", {"type"})),
      report_generation_duration(registry
                                     .histogram("report_generation_duration_seconds",
                                                "Time to compute, render and store one report.", {},
                                                report_buckets())
                                     .labels({})),
      schedule_last_success(registry.gauge_callback("schedule_last_success_timestamp_seconds",
                                                    "When each schedule last ran successfully (Unix time).",
                                                    {"schedule"}, {})),
      http_requests(registry.counter("http_requests_total", "HTTP requests answered.", {"method", "route", "code"})),
      http_request_duration(registry.histogram("http_request_duration_seconds",
                                               "Time from a request's header to its response being written.",
                                               {"route"})),
      db_pool_in_use(registry.gauge_callback("db_pool_in_use", "Database connections of the pool in use.", {},
                                             [] { return std::vector<Sample>{Sample{{}, 0.0}}; })),
      ingest_rows(registry.counter("ingest_rows_total", "Rows ingested into raw tables.", {"kind"})),
      health_probe_up(registry.gauge("health_probe_up", "1 when the last health probe answered 2xx, else 0.",
                                     {"service"})),
      health_probe_latency(registry.gauge("health_probe_latency_seconds",
                                          "Duration of the last health probe.", {"service"})),
      health_probe_status_code(registry.gauge("health_probe_status_code",
                                              "HTTP status of the last health probe, 0 when none came back.",
                                              {"service"})),
      host_cpu(registry.gauge("host_cpu_ratio", "Busy share of all CPUs of this host (0..1).").labels({})),
      host_memory(registry.gauge("host_memory_ratio", "Used share of this host's memory (0..1).").labels({})),
      host_disk(registry.gauge("host_disk_ratio", "Used share of the file system holding each path (0..1).",
                               {"path"})),
      host_load1(registry.gauge("host_load1", "1-minute load average of this host.").labels({})),
      process_start_time(registry
                             .gauge("process_start_time_seconds",
                                    "Start time of the process since unix epoch in seconds.")
                             .labels({})),
      process_resident_memory(registry.gauge_callback(
          "process_resident_memory_bytes", "Resident memory size in bytes.", {},
          [] { return std::vector<Sample>{Sample{{}, read_process_usage().resident_memory_bytes}}; })),
      process_cpu_seconds(registry.counter_callback(
          "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", {},
          [] { return std::vector<Sample>{Sample{{}, read_process_usage().cpu_seconds}}; }))
{
  preset(dashboard_updates, dashboards);
  preset(dashboard_active_subscribers, dashboards);
  preset(alerts_generated, severities);
  preset(reports_generated, report_types);
  preset(ingest_rows, ingest_kinds);
  try {
    process_start_time.set(process_start_time_seconds());
  } catch (const std::exception& e) {
    spdlog::warn("metrics: process_start_time_seconds unknown: {}", e.what());
  }
}

void DaemonMetrics::observe_host(const HostSample& sample)
{
  host_cpu.set(sample.cpu);
  host_memory.set(sample.mem);
  host_load1.set(sample.load1);
  for (const DiskUsage& d : sample.disks)
    host_disk.labels({d.path.string()}).set(d.used);
}

} // namespace dm::metrics
