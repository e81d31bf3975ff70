// Alerts through the daemon: a rule over an incident ingested through the API
// fires; /alerts with filters, one alert with its events, ack (who from the
// token), trend, /alert-rules with roles and errors, the alerts dashboard over
// REST and WebSocket, alerts_generated_total; and of two daemons on one
// database exactly one evaluates, the other taking over when it stops.

#include "api_json.hpp"
#include "running_daemon.hpp"
#include "ws_test_client.hpp"

#include "daemon/alert_evaluator.hpp"
#include "daemon/server_context.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <memory>
#include <thread>

using dm::auth::Role;
using dm::test::RunningDaemon;
using dm::test::body_json;
using dm::test::WsClientOptions;
using dm::test::WsTestClient;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::function<void(dm::daemon::DaemonOptions&)> quick_evaluator(const std::string& database_url = {})
{
  return [database_url](dm::daemon::DaemonOptions& o) {
    auto e = std::make_shared<dm::daemon::AlertEvaluatorOptions>();
    e->interval = 200ms;
    e->retry = 200ms;
    o.alert_evaluator = e;
    o.run_alert_evaluator = true;
    if (!database_url.empty())
      o.config.database.url = database_url;
  };
}

bool leading(RunningDaemon& d)
{
  return d.daemon().context().alert_evaluator->leading();
}

} // namespace

TEST_CASE("alerts through the daemon: an ingested incident fires and is seen, acknowledged and counted",
          "[daemon][alerts]")
{
  RunningDaemon d(quick_evaluator());
  const std::string analyst = d.token(Role::analyst, "carol");
  const std::string admin = d.token(Role::admin);
  REQUIRE(RunningDaemon::eventually([&] { return leading(d); }));

  // The defaults of [dashboard.alert_thresholds] are there.
  json::array rules;
  REQUIRE(RunningDaemon::eventually([&] {
    rules = body_json(d.get("/alert-rules", analyst)).at("rules").as_array();
    return rules.size() >= 3;
  }));
  for (const auto& r : rules)
    CHECK(r.at("source") == "config");

  const std::string rule =
      R"({"name":"checkout-down","metric":"error_rate","service":"checkout","op":">","threshold":0.5,"for_s":0,)"
      R"("severity":"critical"})";
  CHECK(d.post("/alert-rules", analyst, rule).status == 403);
  auto bad = d.post("/alert-rules", admin, R"({"name":"x","metric":"latency","threshold":1})");
  CHECK(bad.status == 400);
  CHECK(body_json(bad).at("error").at("field") == "metric");
  auto created = d.post("/alert-rules", admin, rule);
  REQUIRE(created.status == 201);
  const std::int64_t rule_id = body_json(created).at("id").as_int64();
  CHECK(d.post("/alert-rules", admin, rule).status == 409);

  WsClientOptions options;
  options.token = d.token(Role::viewer);
  WsTestClient ws(d.port(), "/ws/dashboard", options);
  REQUIRE(ws.upgraded());
  ws.send_json({{"type", "subscribe"}, {"dashboard", "alerts"}});
  const auto snapshot = ws.next_json();
  REQUIRE(snapshot.at("type") == "snapshot");

  std::string rows;
  const std::string now = dm::util::format_rfc3339_utc(dm::util::now()).substr(0, 19) + "Z";
  for (int i = 0; i < 20; ++i)
    rows += fmt::format(R"({{"ts":"{}","service":"checkout","endpoint":"/pay","status":503,"duration_ms":{}}})"
                        "\n",
                        now, 10 + i);
  REQUIRE(d.post("/events/requests", analyst, rows, "application/x-ndjson").status == 200);

  json::object alert;
  REQUIRE(RunningDaemon::eventually([&] {
    const auto list = body_json(d.get("/alerts?state=firing&severity=critical", analyst)).at("alerts").as_array();
    for (const auto& a : list)
      if (a.at("rule") == "checkout-down")
        alert = a.as_object();
    return !alert.empty();
  }));
  const std::int64_t id = alert.at("id").as_int64();
  CHECK(alert.at("rule_id").as_int64() == rule_id);
  CHECK(alert.at("value").as_double() > 0.5);

  // Pushed to the alerts subscriber as an update with the alert in it.
  bool pushed = false;
  for (int i = 0; i < 20 && !pushed; ++i) {
    const auto m = ws.next_json();
    if (m.at("type") != "update")
      continue;
    for (const auto& a : m.at("data").at("alerts").as_array())
      pushed = pushed || a.at("id").as_int64() == id;
  }
  CHECK(pushed);
  const auto dashboard = body_json(d.get("/dashboard/alerts", d.token(Role::viewer)));
  CHECK(dashboard.at("data").at("firing").at("critical").as_int64() == 1);
  CHECK(RunningDaemon::eventually([&] {
    return d.get("/metrics", "").body.find("alerts_generated_total{severity=\"critical\"} 1\n") != std::string::npos;
  }));

  auto acked = d.post(fmt::format("/alerts/{}/ack", id), analyst, "");
  REQUIRE(acked.status == 200);
  CHECK(body_json(acked).at("acknowledged_by") == "carol");
  const auto shown = body_json(d.get(fmt::format("/alerts/{}", id), analyst));
  const auto& events = shown.at("events").as_array();
  REQUIRE(!events.empty());
  CHECK(events.back().at("to") == "acknowledged");
  CHECK(events.back().at("actor") == "carol");
  CHECK(d.get("/alerts/999999", analyst).status == 404);
  CHECK(d.post("/alerts/999999/ack", analyst, "").status == 404);
  CHECK(d.get("/alerts", d.token(Role::viewer)).status == 403);

  const auto trend = body_json(d.get("/alerts/trend", analyst)).at("trend").as_array();
  REQUIRE(trend.size() == 4);
  for (const auto& row : trend)
    if (row.at("severity") == "critical")
      CHECK(row.at("last_7d").as_int64() >= 1);

  auto bad_state = d.get("/alerts?state=sleeping", analyst);
  CHECK(bad_state.status == 400);
  CHECK(body_json(bad_state).at("error").at("field") == "state");
  CHECK(d.get("/alerts?since=soon", analyst).status == 400);
  CHECK(d.get("/alerts?since=1h", analyst).status == 200);

  CHECK(d.del(fmt::format("/alert-rules/{}", rule_id), analyst).status == 403);
  CHECK(d.del(fmt::format("/alert-rules/{}", rule_id), admin).status == 200);
  CHECK(d.del(fmt::format("/alert-rules/{}", rule_id), admin).status == 404);
  // The alert stays in the history.
  CHECK(d.get(fmt::format("/alerts/{}", id), analyst).status == 200);
}

TEST_CASE("two daemons on one database: one evaluates alerts, the other takes over", "[daemon][alerts]")
{
  auto a = std::make_unique<RunningDaemon>(quick_evaluator());
  auto b = std::make_unique<RunningDaemon>(quick_evaluator(a->db().url()));
  REQUIRE(RunningDaemon::eventually([&] { return leading(*a) || leading(*b); }));
  for (int i = 0; i < 10; ++i) {
    CHECK(leading(*a) != leading(*b));
    std::this_thread::sleep_for(100ms);
  }
  // The evaluator goes away; within seconds the other evaluates. The first
  // daemon owns the test database, so it is the one that stays.
  if (leading(*a)) {
    // Hand the lead to b first: stop a's evaluator (its session and lock end).
    a->daemon().context().alert_evaluator->stop();
    CHECK(RunningDaemon::eventually([&] { return leading(*b); }, 5s));
  } else {
    b.reset();
    CHECK(RunningDaemon::eventually([&] { return leading(*a); }, 5s));
  }
}
