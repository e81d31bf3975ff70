#pragma once
// Every metric family of dmanalyticsd in one place, with its help text and
// labels (DESIGN 13). The daemon's parts update the members directly:
//
//   metrics.http_requests.labels({"GET", "/reports", "200"}).inc();
//   metrics.websocket_connections.inc();
//   metrics.db_pool_in_use.set_value_function([&pool] { return double(pool.in_use()); });
//
// and /metrics serves metrics.render() with Registry::content_type.

#include "dm/metrics/registry.hpp"

#include <string>
#include <string_view>

namespace dm::metrics {

struct HostSample;

/// Thread-safe as Registry: members may be updated from any thread.
/// Neither copyable nor movable (the members refer into `registry`).
struct DaemonMetrics {
  /// Label values known in advance; their children exist from the start at
  /// zero, so that rate() and absent() work before the first event.
  static constexpr std::string_view dashboards[] = {"user_progress", "system_performance", "business_kpis",
                                                    "alerts"};
  static constexpr std::string_view severities[] = {"low", "medium", "high", "critical"};
  static constexpr std::string_view report_types[] = {"performance", "engagement", "learning", "business"};
  static constexpr std::string_view ingest_kinds[] = {"learning", "requests", "payments", "users", "host"};

  /// Registers every family; process_start_time_seconds is read once here
  /// (left at 0, with a warning, when /proc cannot be read).
  DaemonMetrics();
  DaemonMetrics(const DaemonMetrics&) = delete;
  DaemonMetrics& operator=(const DaemonMetrics&) = delete;

  Registry registry;

  // Dashboards and WebSocket (DESIGN 9).
  CounterFamily& dashboard_updates;              ///< dashboard_updates_total{dashboard}
  GaugeFamily& dashboard_active_subscribers;     ///< dashboard_active_subscribers{dashboard}
  Histogram& dashboard_update_latency;           ///< dashboard_update_latency_seconds
  Gauge& websocket_connections;                  ///< websocket_connections
  Counter& websocket_messages_dropped;           ///< websocket_messages_dropped_total
  Counter& websocket_messages_conflated;         ///< websocket_messages_conflated_total

  // Alerts, reports, schedules (DESIGN 5-7).
  CounterFamily& alerts_generated;               ///< alerts_generated_total{severity}
  CounterFamily& reports_generated;              ///< reports_generated_total{type}
  Histogram& report_generation_duration;         ///< report_generation_duration_seconds
  /// schedule_last_success_timestamp_seconds{schedule}, read from the
  /// database by the scheduler (every daemon shows every schedule).
  CallbackFamily& schedule_last_success;

  // HTTP API (DESIGN 8). `route` is the route pattern ("/reports/:id"), never
  // the raw path, so that the label set stays bounded.
  CounterFamily& http_requests;                  ///< http_requests_total{method,route,code}
  HistogramFamily& http_request_duration;        ///< http_request_duration_seconds{route}

  // Database and ingest.
  CallbackFamily& db_pool_in_use;                ///< db_pool_in_use, 0 until a pool attaches
  CounterFamily& ingest_rows;                    ///< ingest_rows_total{kind}

  // Health probes ([[health.probe]]), updated by HealthProber.
  GaugeFamily& health_probe_up;                  ///< health_probe_up{service}, 1 or 0
  GaugeFamily& health_probe_latency;             ///< health_probe_latency_seconds{service}
  GaugeFamily& health_probe_status_code;         ///< health_probe_status_code{service}, 0 without an answer

  // This machine, updated through observe_host().
  Gauge& host_cpu;                               ///< host_cpu_ratio
  Gauge& host_memory;                            ///< host_memory_ratio
  GaugeFamily& host_disk;                        ///< host_disk_ratio{path}
  Gauge& host_load1;                             ///< host_load1

  // This process, from /proc/self.
  Gauge& process_start_time;                     ///< process_start_time_seconds
  CallbackFamily& process_resident_memory;       ///< process_resident_memory_bytes, read at each scrape
  CallbackFamily& process_cpu_seconds;           ///< process_cpu_seconds_total, read at each scrape

  /// Sets the host_* gauges from a sample (host_disk_ratio for each measured path).
  void observe_host(const HostSample& sample);

  /// The text served at /metrics.
  std::string render() const { return registry.render(); }
};

} // namespace dm::metrics
