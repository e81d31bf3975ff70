// Schedules through the daemon: the REST routes of DESIGN 8 (create, list,
// show with runs, run now, delete; errors and roles), the last-success
// metric, and two daemons on one database running a schedule every minute
// for three minutes in real time: exactly three runs.

#include "api_json.hpp"
#include "running_daemon.hpp"

#include "daemon/scheduler.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <set>
#include <thread>

using dm::auth::Role;
using dm::test::RunningDaemon;
using dm::test::body_json;
using dm::test::error_field;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::function<void(dm::daemon::DaemonOptions&)> quick_scheduler(const std::string& database_url = {})
{
  return [database_url](dm::daemon::DaemonOptions& o) {
    auto s = std::make_shared<dm::daemon::SchedulerOptions>();
    s->poll = 100ms;
    s->housekeeping = 100ms;
    o.scheduler = s;
    if (!database_url.empty())
      o.config.database.url = database_url;
  };
}

} // namespace

TEST_CASE("schedules over the API: create, list, show, run now, delete", "[daemon][schedule]")
{
  RunningDaemon d(quick_scheduler());
  const std::string analyst = d.token(Role::analyst);
  const std::string admin = d.token(Role::admin);
  const std::string body =
      R"({"name":"api schedule","cron":"0 6 * * MON","tz":"Europe/Berlin","type":"business","period":"last-7d",)"
      R"("formats":["json","csv"],"keep":3,"catchup":"none"})";

  auto created = d.post("/reports/schedule", analyst, body);
  REQUIRE(created.status == 201);
  const auto s = body_json(created).as_object();
  const std::int64_t id = s.at("id").as_int64();
  CHECK(created.header("Location") == fmt::format("/schedules/{}", id));
  CHECK(s.at("tz").as_string() == "Europe/Berlin");
  CHECK(s.at("keep").as_int64() == 3);
  CHECK(s.at("catchup").as_string() == "none");
  CHECK(std::string(s.at("next_run_at").as_string()).find("T06:00:00+0") != std::string::npos);

  SECTION("bad values name their field; a taken name is a conflict; viewers may not")
  {
    auto bad_cron = d.post("/reports/schedule", analyst, R"({"name":"x","cron":"0 25 * * *","type":"business"})");
    CHECK(bad_cron.status == 400);
    CHECK(error_field(bad_cron) == "cron");
    CHECK(bad_cron.body.find("hour") != std::string::npos);
    auto bad_type = d.post("/reports/schedule", analyst, R"({"name":"x","cron":"@daily","type":"sales"})");
    CHECK(bad_type.status == 400);
    CHECK(error_field(bad_type) == "type");
    auto missing = d.post("/reports/schedule", analyst, R"({"name":"x","cron":"@daily"})");
    CHECK(missing.status == 400);
    CHECK(error_field(missing) == "type");
    auto unknown = d.post("/reports/schedule", analyst, R"({"name":"x","cron":"@daily","type":"business","when":1})");
    CHECK(unknown.status == 400);
    CHECK(error_field(unknown) == "when");
    auto bad_mail = d.post("/reports/schedule", analyst,
                           R"({"name":"x","cron":"@daily","type":"business","notify":["not-an-address"]})");
    CHECK(bad_mail.status == 400);
    CHECK(error_field(bad_mail) == "notify");
    CHECK(d.post("/reports/schedule", analyst, body).status == 409);
    CHECK(d.post("/reports/schedule", d.token(Role::viewer), body).status == 403);
    CHECK(d.get("/schedules", "").status == 401);
  }

  SECTION("list, run now, show its run and report, metric, delete")
  {
    auto list = d.get("/schedules", analyst);
    REQUIRE(list.status == 200);
    REQUIRE(body_json(list).at("schedules").as_array().size() == 1);

    auto run = d.post(fmt::format("/schedules/{}/run", id), analyst, "");
    REQUIRE(run.status == 202);
    const std::int64_t run_id = body_json(run).at("run_id").as_int64();

    json::object shown;
    REQUIRE(RunningDaemon::eventually([&] {
      shown = body_json(d.get(fmt::format("/schedules/{}", id), analyst)).as_object();
      const auto& runs = shown.at("runs").as_array();
      // The schedule is read before its runs: both must show the end.
      return !runs.empty() && runs[0].at("status").as_string() == "succeeded" &&
             shown.at("last_status") == "succeeded";
    }));
    const auto& r = shown.at("runs").as_array()[0].as_object();
    CHECK(r.at("id").as_int64() == run_id);
    CHECK(r.at("trigger").as_string() == "manual");
    REQUIRE(r.at("report_ids").as_array().size() == 1);
    const std::int64_t report_id = r.at("report_ids").as_array()[0].as_int64();
    auto report = d.get(fmt::format("/reports/{}", report_id), analyst);
    REQUIRE(report.status == 200);
    CHECK(body_json(report).at("type").as_string() == "business");
    CHECK(shown.at("last_status").as_string() == "succeeded");
    CHECK(shown.at("last_success_at").is_string());

    CHECK(RunningDaemon::eventually([&] {
      return d.get("/metrics", "").body.find("schedule_last_success_timestamp_seconds{schedule=\"api schedule\"} ") !=
             std::string::npos;
    }));

    CHECK(d.post("/schedules/999999/run", analyst, "").status == 404);
    CHECK(d.del(fmt::format("/schedules/{}", id), analyst).status == 403);
    CHECK(d.del(fmt::format("/schedules/{}", id), admin).status == 200);
    CHECK(d.get(fmt::format("/schedules/{}", id), analyst).status == 404);
    // The deleted schedule's metric goes with it.
    CHECK(RunningDaemon::eventually([&] {
      return d.get("/metrics", "").body.find("schedule=\"api schedule\"") == std::string::npos;
    }));
  }
}

TEST_CASE("two daemons and a schedule every minute for three minutes: exactly three runs", "[daemon][schedule][slow]")
{
  RunningDaemon a(quick_scheduler());
  RunningDaemon b(quick_scheduler(a.db().url()));
  const std::string analyst = a.token(Role::analyst);
  auto created = a.post("/reports/schedule", analyst,
                        R"({"name":"every minute","cron":"* * * * *","type":"business","formats":["json"]})");
  REQUIRE(created.status == 201);
  const std::int64_t id = body_json(created).at("id").as_int64();

  // Three fire times from the first one on, then stop both before the fourth.
  const auto first = std::chrono::system_clock::now();
  const auto seconds_to_next_minute = 60 - std::chrono::duration_cast<std::chrono::seconds>(
                                               first.time_since_epoch()).count() % 60;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds_to_next_minute) + 2min + 30s;
  json::array runs;
  while (std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1s);
  // Half a minute before the fourth fire time: no more runs from here.
  a.db().scalar(fmt::format("UPDATE dm.schedules SET enabled = false, next_run_at = NULL WHERE id = {} RETURNING id", id));
  REQUIRE(RunningDaemon::eventually([&] {
    // Each daemon has a secret of its own: B takes B's tokens.
    runs = body_json(b.get(fmt::format("/schedules/{}", id), b.token(Role::analyst))).at("runs").as_array();
    std::size_t done = 0;
    for (const auto& r : runs)
      done += r.at("status").as_string() == "succeeded" ? 1 : 0;
    return done == 3;
  }, 30s));
  std::set<std::string> fire_times;
  for (const auto& r : runs) {
    CHECK(r.at("status").as_string() == "succeeded");
    CHECK(r.at("trigger").as_string() == "cron");
    fire_times.insert(std::string(r.at("fire_time").as_string()));
  }
  CHECK(runs.size() == 3);
  CHECK(fire_times.size() == 3);
  // One report per run, none left running.
  CHECK(a.db().scalar(fmt::format("SELECT count(*) FROM dm.reports WHERE schedule_id = {}", id)) == "3");
  CHECK(a.db().scalar("SELECT count(*) FROM dm.schedule_runs WHERE status = 'running'") == "0");
}
