// The daemon's /metrics text passes `promtool check metrics` (DESIGN 13) with
// every family populated, label values that need escaping included.

#include "temp_file.hpp"

#include "dm/metrics/daemon_metrics.hpp"
#include "dm/metrics/host_sampler.hpp"
#include "dm/util/process.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using namespace dm::metrics;

namespace {

/// Runs `promtool check metrics` with `text` on its standard input. A missing
/// promtool is exit code 127 from the shell, which fails the test.
dm::util::ProcessResult promtool_check(const std::string& text)
{
  const dm::test::TempFile file(text, ".prom");
  return dm::util::run_process({"/bin/sh", "-c", "exec promtool check metrics < \"$1\"", "sh", file.path()});
}

void populate(DaemonMetrics& m)
{
  for (const char* d : {"user_progress", "system_performance", "business_kpis", "alerts"}) {
    m.dashboard_updates.labels({d}).inc(3);
    m.dashboard_active_subscribers.labels({d}).set(12);
  }
  m.dashboard_update_latency.observe(0.004);
  m.dashboard_update_latency.observe(0.2);
  m.websocket_connections.set(40);
  m.websocket_messages_dropped.inc();
  m.websocket_messages_conflated.inc(7);
  m.alerts_generated.labels({"high"}).inc();
  m.reports_generated.labels({"performance"}).inc(2);
  m.report_generation_duration.observe(0.8);
  m.report_generation_duration.observe(400); // beyond the last bucket
  m.schedule_last_success.set_collector(
      [] { return std::vector<dm::metrics::Sample>{{{"daily \"ops\" report\\eu\nsecond line"}, 1767225600}}; });
  m.http_requests.labels({"GET", "/reports/:id", "200"}).inc();
  m.http_requests.labels({"POST", "/events/:kind", "413"}).inc();
  m.http_request_duration.labels({"/reports/:id"}).observe(0.012);
  m.http_request_duration.labels({"/events/:kind"}).observe(3);
  m.db_pool_in_use.set_value_function([] { return 2.0; });
  m.ingest_rows.labels({"learning"}).inc(100000);
  m.health_probe_up.labels({"api"}).set(1);
  m.health_probe_latency.labels({"api"}).set(0.0123);
  m.health_probe_status_code.labels({"api"}).set(200);
  m.health_probe_up.labels({"payments"}).set(0);
  m.health_probe_latency.labels({"payments"}).set(5);
  m.health_probe_status_code.labels({"payments"}).set(0);

  HostSampler sampler({"/", "/tmp"});
  m.observe_host(sampler.sample());
}

} // namespace

TEST_CASE("promtool accepts the daemon's metrics with every family populated", "[metrics][promtool]")
{
  DaemonMetrics m;
  populate(m);
  const std::string text = m.render();
  // Every family has samples, so promtool lints all of them.
  for (const char* sample : {"\ndashboard_update_latency_seconds_count 2\n", "\nwebsocket_messages_dropped_total 1\n",
                             "\nreport_generation_duration_seconds_bucket{le=\"+Inf\"} 2\n",
                             "\nhost_disk_ratio{path=\"/\"} ", "\nhealth_probe_up{service=\"payments\"} 0\n",
                             "\ndb_pool_in_use 2\n", "\nprocess_cpu_seconds_total ",
                             "\nschedule_last_success_timestamp_seconds{schedule=\"daily \\\"ops\\\" "
                             "report\\\\eu\\nsecond line\"} 1767225600\n"}) {
    INFO(sample);
    CHECK(text.find(sample) != std::string::npos);
  }

  const auto result = promtool_check(text);
  INFO("promtool output:\n" << result.output);
  INFO("metrics:\n" << text);
  CHECK(result.exit_code == 0);
  CHECK(result.output.empty());
}

TEST_CASE("promtool fails what it should: the check is not vacuous", "[metrics][promtool]")
{
  Registry r;
  r.counter("requests", "A counter without _total.").labels({}).inc();
  const auto lint = promtool_check(r.render());
  INFO(lint.output);
  CHECK(lint.exit_code == 3);
  CHECK(lint.output.find("_total") != std::string::npos);

  const auto parse = promtool_check("this is not { the text format\n");
  CHECK(parse.exit_code == 1);
}
