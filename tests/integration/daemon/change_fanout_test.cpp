// Two daemons on one database (DESIGN 10): an ingest through daemon A's HTTP
// route makes daemon B refresh the dashboards it made stale, through NOTIFY,
// with the commit instant as changed_at.

#include "running_daemon.hpp"
#include "ws_test_client.hpp"

#include "daemon/server_context.hpp"
#include "dm/dashboard/dashboards.hpp"
#include "dm/dashboard/snapshot_cache.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using dm::auth::Role;
using dm::dashboard::business_kpis_dashboard;
using dm::test::RunningDaemon;
using namespace std::chrono_literals;

namespace {

/// Timer refreshes far away, so that every publish below is a change's.
void slow_dashboards(dm::daemon::DaemonOptions& o)
{
  o.config.dashboard.refresh.system_performance = 3600;
  o.config.dashboard.refresh.business_kpis = 3600;
  o.config.dashboard.refresh.user_progress = 3600;
}

std::shared_ptr<const dm::dashboard::Snapshot> snapshot(RunningDaemon& d, std::string_view dashboard)
{
  return d.daemon().context().snapshots.get(dashboard);
}

} // namespace

TEST_CASE("two daemons: an ingest through A refreshes B's dashboard with changed_at", "[daemon][notify]")
{
  RunningDaemon a(slow_dashboards);
  RunningDaemon b([&a](dm::daemon::DaemonOptions& o) {
    slow_dashboards(o);
    o.config.database.url = a.db().url();
  });
  // Both listening: one LISTEN "dm_events" backend per daemon.
  REQUIRE(RunningDaemon::eventually([&] {
    return a.db().scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                         " AND query LIKE 'LISTEN%dm_events%'") == "2";
  }));
  REQUIRE(RunningDaemon::eventually([&] {
    const auto s = snapshot(b, business_kpis_dashboard);
    return s && s->seq >= 1;
  }));
  const auto before = snapshot(b, business_kpis_dashboard);
  CHECK(before->changed_at == 0); // the start-up computation

  const dm::util::Micros posted = dm::util::now();
  const auto response = a.post("/events/learning", a.token(Role::analyst),
                               R"({"ts":"2026-11-02T08:15:20Z","user_id":7,"session_id":70,"kind":"question_answered","topic":"Vorfahrt","correct":true,"answer_ms":4200})"
                               "\n",
                               "application/x-ndjson");
  REQUIRE(response.status == 200);

  REQUIRE(RunningDaemon::eventually([&] { return snapshot(b, business_kpis_dashboard)->seq > before->seq; }, 10s));
  const auto after = snapshot(b, business_kpis_dashboard);
  CHECK(after->seq == before->seq + 1);
  CHECK(after->changed_at > 0);
  CHECK(after->changed_at >= posted - 1000);
  CHECK(after->changed_at <= dm::util::now());
}

TEST_CASE("two daemons: a WebSocket subscriber of B gets the progress a POST to A changed", "[daemon][notify][ws]")
{
  RunningDaemon a(slow_dashboards);
  RunningDaemon b([&a](dm::daemon::DaemonOptions& o) {
    slow_dashboards(o);
    o.config.database.url = a.db().url();
  });
  REQUIRE(RunningDaemon::eventually([&] {
    return a.db().scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                         " AND query LIKE 'LISTEN%dm_events%'") == "2";
  }));
  // A learner's own stream on daemon B, before the learner has any data.
  dm::test::WsClientOptions options;
  options.token = b.token(Role::user, "4711");
  dm::test::WsTestClient learner(b.port(), "/ws/user/4711/progress", options);
  REQUIRE(learner.upgraded());
  const auto first = learner.next_json();
  REQUIRE(first.at("type") == "snapshot");
  CHECK(first.at("dashboard") == "user_progress");
  CHECK(first.at("user_id") == 4711);
  const auto seq = first.at("seq").as_int64();

  const auto response = a.post("/events/learning", a.token(Role::analyst),
                               R"({"ts":"2026-11-02T08:15:20Z","user_id":4711,"session_id":90,"kind":"question_answered","topic":"Überholen","correct":true,"answer_ms":4200})"
                               "\n"
                               R"({"ts":"2026-11-02T08:16:20Z","user_id":4711,"session_id":90,"kind":"question_answered","topic":"Überholen","correct":false,"answer_ms":5100})"
                               "\n",
                               "application/x-ndjson");
  REQUIRE(response.status == 200);

  const auto update = learner.next_json(10s);
  CHECK(update.at("type") == "update");
  CHECK(update.at("seq").as_int64() == seq + 1);
  // The data is the learner's progress after the ingest: two answers, one right.
  const auto text = boost::json::serialize(update.at("data"));
  CHECK(text.find("\"Überholen\"") != std::string::npos);
  CHECK(text.find("\"answered\":2") != std::string::npos);
}
