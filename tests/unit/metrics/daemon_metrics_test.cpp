// DaemonMetrics declares every family of DESIGN 13 once, with its type.

#include "dm/metrics/daemon_metrics.hpp"
#include "dm/metrics/host_sampler.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace dm::metrics;

namespace {

std::size_t count(const std::string& text, const std::string& needle)
{
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

} // namespace

TEST_CASE("DaemonMetrics has every family of the design, each once and typed", "[metrics][daemon]")
{
  DaemonMetrics m;
  const std::string text = m.render();
  const std::pair<const char*, const char*> families[] = {
    {"dashboard_updates_total", "counter"},
    {"dashboard_active_subscribers", "gauge"},
    {"dashboard_update_latency_seconds", "histogram"},
    {"alerts_generated_total", "counter"},
    {"reports_generated_total", "counter"},
    {"report_generation_duration_seconds", "histogram"},
    {"http_requests_total", "counter"},
    {"http_request_duration_seconds", "histogram"},
    {"websocket_connections", "gauge"},
    {"websocket_messages_dropped_total", "counter"},
    {"websocket_messages_conflated_total", "counter"},
    {"schedule_last_success_timestamp_seconds", "gauge"},
    {"db_pool_in_use", "gauge"},
    {"ingest_rows_total", "counter"},
    {"health_probe_up", "gauge"},
    {"health_probe_latency_seconds", "gauge"},
    {"health_probe_status_code", "gauge"},
    {"host_cpu_ratio", "gauge"},
    {"host_memory_ratio", "gauge"},
    {"host_disk_ratio", "gauge"},
    {"host_load1", "gauge"},
    {"process_start_time_seconds", "gauge"},
    {"process_resident_memory_bytes", "gauge"},
    {"process_cpu_seconds_total", "counter"},
  };
  for (const auto& [name, type] : families) {
    INFO(name);
    CHECK(count(text, std::string("# TYPE ") + name + " ") == 1);
    CHECK(count(text, std::string("# TYPE ") + name + " " + type + "\n") == 1);
    CHECK(count(text, std::string("# HELP ") + name + " ") == 1);
  }
  CHECK(count(text, "# TYPE ") == std::size(families));

  // Known label values exist from the start, at zero.
  CHECK(count(text, "dashboard_updates_total{dashboard=\"business_kpis\"} 0\n") == 1);
  CHECK(count(text, "alerts_generated_total{severity=\"critical\"} 0\n") == 1);
  CHECK(count(text, "reports_generated_total{type=\"learning\"} 0\n") == 1);
  CHECK(count(text, "ingest_rows_total{kind=\"host\"} 0\n") == 1);
  CHECK(count(text, "db_pool_in_use 0\n") == 1);
  CHECK(count(text, "websocket_connections 0\n") == 1);
  CHECK(m.process_start_time.value() > 1.5e9);
}

TEST_CASE("DaemonMetrics members update the rendered families", "[metrics][daemon]")
{
  DaemonMetrics m;
  m.http_requests.labels({"GET", "/reports/:id", "200"}).inc();
  m.http_request_duration.labels({"/reports/:id"}).observe(0.02);
  m.websocket_connections.inc();
  m.db_pool_in_use.set_value_function([] { return 3.0; });

  HostSample s;
  s.cpu = 0.25;
  s.mem = 0.5;
  s.disk = 0.75;
  s.load1 = 1.5;
  s.disks = {{"/", 0.75}, {"/var/lib/dmanalytics", 0.5}};
  m.observe_host(s);

  const std::string text = m.render();
  CHECK(count(text, "http_requests_total{method=\"GET\",route=\"/reports/:id\",code=\"200\"} 1\n") == 1);
  CHECK(count(text, "http_request_duration_seconds_bucket{route=\"/reports/:id\",le=\"0.025\"} 1\n") == 1);
  CHECK(count(text, "http_request_duration_seconds_bucket{route=\"/reports/:id\",le=\"0.01\"} 0\n") == 1);
  CHECK(count(text, "websocket_connections 1\n") == 1);
  CHECK(count(text, "db_pool_in_use 3\n") == 1);
  CHECK(count(text, "host_cpu_ratio 0.25\n") == 1);
  CHECK(count(text, "host_memory_ratio 0.5\n") == 1);
  CHECK(count(text, "host_load1 1.5\n") == 1);
  CHECK(count(text, "host_disk_ratio{path=\"/\"} 0.75\n") == 1);
  CHECK(count(text, "host_disk_ratio{path=\"/var/lib/dmanalytics\"} 0.5\n") == 1);
  CHECK(count(text, "\nprocess_resident_memory_bytes ") == 1);
  CHECK(count(text, "\nprocess_resident_memory_bytes 0\n") == 0);
}
