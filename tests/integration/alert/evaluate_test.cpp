// Alert evaluation on a real PostgreSQL: an incident injected into ingested
// data goes pending, firing and resolved at the expected instants of a 15 s
// evaluation loop, the backtest agrees with that loop, oscillating data does
// not flap, every transition is NOTIFYed on dm_alerts, and the
// schedule_missed dead-man's switch opens and resolves.

#include "alert_fixtures.hpp"
#include "test_database.hpp"

#include "dm/alert/evaluate.hpp"
#include "dm/alert/history.hpp"
#include "dm/alert/metric.hpp"
#include "dm/alert/rule.hpp"
#include "dm/schedule/store.hpp"
#include "dm/util/error.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>
#include <string>
#include <vector>

using dm::alert::AlertTransition;
using dm::alert::RuleSpec;
using dm::alert::RuleStore;
using dm::test::TestDatabase;
using dm::test::alert::at;
using dm::test::alert::hms;
using dm::util::Micros;

namespace {

constexpr Micros fifteen_s = 15 * dm::util::micros_per_second;

RuleSpec error_rule(int window_s)
{
  RuleSpec r;
  r.name = "api errors";
  r.metric = "error_rate";
  r.service = "api";
  r.op = ">";
  r.threshold = 0.1;
  r.for_s = 60;
  r.resolve_for_s = 120;
  r.window_s = window_s;
  r.severity = "high";
  return r;
}

/// evaluate_rules every 15 s over [from, to); "from>to@HH:MM:SS" per transition.
std::vector<std::string> evaluate_loop(TestDatabase& db, Micros from, Micros to,
                                       std::vector<AlertTransition>* all = nullptr)
{
  std::vector<std::string> out;
  for (Micros t = from; t < to; t += fifteen_s)
    for (const auto& tr : dm::alert::evaluate_rules(db.connection(), t)) {
      out.push_back(tr.from + ">" + tr.to + "@" + hms(tr.at));
      if (all != nullptr)
        all->push_back(tr);
    }
  return out;
}

} // namespace

TEST_CASE("alerts: an error-rate incident goes pending, firing and resolved at the expected instants", "[alert][evaluate]")
{
  TestDatabase db;
  // Errors in every request of the minutes 10:20 .. 10:29, another service
  // failing all along (the rule watches api only).
  const Micros incident_from = at("2026-11-02T10:20:00Z"), incident_to = at("2026-11-02T10:30:00Z");
  dm::test::alert::ingest_requests(db, "api", at("2026-11-02T09:50:00Z"), at("2026-11-02T11:10:00Z"),
                                   [&](Micros m) { return m >= incident_from && m < incident_to; });
  dm::test::alert::ingest_requests(db, "billing", at("2026-11-02T09:50:00Z"), at("2026-11-02T11:10:00Z"),
                                   [](Micros) { return true; });
  const auto rule = RuleStore(db.connection()).create(error_rule(300));

  std::vector<AlertTransition> transitions;
  const auto seen = evaluate_loop(db, at("2026-11-02T10:00:00Z"), at("2026-11-02T11:00:00Z"), &transitions);
  // 10:20:15: the window [10:15:15, 10:20:15) holds the first failing minute
  // (20 of 100 requests). Firing 60 s later. The last failing minute leaves
  // the window at 10:34:15; resolved 120 s after that.
  CHECK(seen == std::vector<std::string>{"inactive>pending@10:20:15", "pending>firing@10:21:15",
                                         "firing>resolved@10:36:15"});
  REQUIRE(transitions.size() == 3);
  CHECK(transitions[0].value == Approx(0.2));
  CHECK(transitions[1].value == Approx(0.4)); // [10:16:15, 10:21:15): 2 failing minutes of 5
  CHECK(transitions[2].value == 0.0);
  for (const auto& tr : transitions) {
    CHECK(tr.key == fmt::format("rule:{}", rule.id));
    CHECK(tr.rule_name == "api errors");
    CHECK(tr.severity == "high");
    CHECK(tr.alert_id == transitions[0].alert_id);
  }

  const auto alert = dm::alert::get_alert(db.connection(), transitions[0].alert_id);
  CHECK(alert.state == "resolved");
  CHECK(alert.rule_id == rule.id);
  CHECK(alert.metric == "error_rate");
  CHECK(alert.service == "api");
  CHECK(alert.threshold == 0.1);
  CHECK(alert.started_at == at("2026-11-02T10:20:15Z"));
  CHECK(alert.firing_at == at("2026-11-02T10:21:15Z"));
  CHECK(alert.resolved_at == at("2026-11-02T10:36:15Z"));
  CHECK(alert.value == Approx(0.4)); // the value when it fired
  CHECK(alert.message.find("error_rate of api") != std::string::npos);
  const auto events = dm::alert::alert_events(db.connection(), alert.id);
  REQUIRE(events.size() == 3);
  CHECK(events[0].from == "inactive");
  CHECK(events[0].to == "pending");
  CHECK(events[1].to == "firing");
  CHECK(events[2].to == "resolved");
  CHECK(events[2].at == at("2026-11-02T10:36:15Z"));
  CHECK(db.scalar("SELECT count(*) FROM dm.alerts") == "1");
  CHECK(db.scalar("SELECT count(*) FROM dm.alerts WHERE clear_since IS NOT NULL") == "0");

  SECTION("the backtest over the same range gives the same transitions and values")
  {
    const auto steps = dm::alert::backtest(db.connection(), rule.spec, at("2026-11-02T10:00:00Z"),
                                           at("2026-11-02T11:00:00Z"), std::chrono::seconds(15));
    REQUIRE(steps.size() == transitions.size());
    for (std::size_t i = 0; i < steps.size(); ++i) {
      CHECK(steps[i].at == transitions[i].at);
      CHECK(steps[i].from == transitions[i].from);
      CHECK(steps[i].to == transitions[i].to);
      REQUIRE(steps[i].value);
      CHECK(*steps[i].value == transitions[i].value);
    }
    // A backtest writes nothing.
    CHECK(db.scalar("SELECT count(*) FROM dm.alert_events") == "3");
  }
}

TEST_CASE("alerts: the backtest agrees with the evaluation loop on a rule with for 0 and other thresholds", "[alert][evaluate]")
{
  TestDatabase db;
  // Failing minutes scattered irregularly.
  const Micros from = at("2026-11-02T10:00:00Z");
  dm::test::alert::ingest_requests(db, "api", at("2026-11-02T09:50:00Z"), at("2026-11-02T11:10:00Z"), [&](Micros m) {
    const auto k = (m - from) / dm::util::micros_per_minute;
    return k == 7 || k == 8 || k == 15 || (k >= 30 && k < 33) || k == 41 || k == 47;
  });
  auto spec = error_rule(120);
  spec.for_s = 0;
  spec.resolve_for_s = 45;
  spec.threshold = 0.3;
  RuleStore(db.connection()).create(spec);
  std::vector<AlertTransition> transitions;
  const auto seen = evaluate_loop(db, from, at("2026-11-02T11:00:00Z"), &transitions);
  const auto steps = dm::alert::backtest(db.connection(), spec, from, at("2026-11-02T11:00:00Z"),
                                         std::chrono::seconds(15));
  std::vector<std::string> replayed;
  for (const auto& s : steps)
    replayed.push_back(s.from + ">" + s.to + "@" + hms(s.at));
  CHECK(replayed == seen);
  CHECK(seen.size() >= 6);
  CHECK_THROWS_AS(dm::alert::backtest(db.connection(), spec, from, from, std::chrono::seconds(15)), dm::UsageError);
  CHECK_THROWS_AS(dm::alert::backtest(db.connection(), spec, from, at("2026-11-02T11:00:00Z"), std::chrono::seconds(0)),
                  dm::UsageError);
  auto bad = spec;
  bad.severity = "urgent";
  CHECK_THROWS_AS(dm::alert::backtest(db.connection(), bad, from, at("2026-11-02T11:00:00Z"), std::chrono::seconds(15)),
                  dm::FieldError);
  CHECK(seen.front() == "inactive>firing@10:07:15");
}

TEST_CASE("alerts: a condition that oscillates while firing does not flap", "[alert][evaluate]")
{
  TestDatabase db;
  // Bad minutes 10:20, 10:21, then six rounds of one good and two bad
  // minutes up to 10:39; a 60 s window sees one minute at a time, so the
  // condition is clear for 45 s at a time, less than resolve_for (120 s).
  const Micros first = at("2026-11-02T10:20:00Z");
  dm::test::alert::ingest_requests(db, "api", at("2026-11-02T10:00:00Z"), at("2026-11-02T11:00:00Z"), [&](Micros m) {
    if (m < first || m >= at("2026-11-02T10:40:00Z"))
      return false;
    const auto k = (m - first) / dm::util::micros_per_minute;
    return k < 2 || (k - 2) % 3 != 0;
  });
  RuleStore(db.connection()).create(error_rule(60));
  const auto seen = evaluate_loop(db, at("2026-11-02T10:10:00Z"), at("2026-11-02T10:50:00Z"));
  CHECK(seen == std::vector<std::string>{"inactive>pending@10:20:15", "pending>firing@10:21:15",
                                         "firing>resolved@10:42:15"});
  CHECK(db.scalar("SELECT count(*) FROM dm.alert_events") == "3");
}

TEST_CASE("alerts: every transition is sent on dm_alerts with its JSON payload", "[alert][evaluate][notify]")
{
  TestDatabase db;
  dm::test::alert::ingest_requests(db, "api", at("2026-11-02T10:00:00Z"), at("2026-11-02T10:10:00Z"),
                                   [](Micros) { return true; });
  auto spec = error_rule(300);
  spec.for_s = 0;
  const auto rule = RuleStore(db.connection()).create(spec);

  auto listener = db.connect();
  struct Receiver final : pqxx::notification_receiver {
    Receiver(pqxx::connection_base& c, std::vector<std::string>& out) : pqxx::notification_receiver(c, "dm_alerts"), out_(out) {}
    void operator()(const std::string& payload, int) override { out_.push_back(payload); }
    std::vector<std::string>& out_;
  };
  std::vector<std::string> payloads;
  Receiver receiver(*listener, payloads);

  const auto transitions = dm::alert::evaluate_rules(db.connection(), at("2026-11-02T10:05:00Z"));
  REQUIRE(transitions.size() == 1);
  for (int i = 0; i < 100 && payloads.empty(); ++i)
    listener->await_notification(0, 50000);
  REQUIRE(payloads.size() == 1);
  const auto json = boost::json::parse(payloads[0]).as_object();
  CHECK(json.at("alert_id").as_int64() == transitions[0].alert_id);
  CHECK(json.at("key").as_string() == fmt::format("rule:{}", rule.id));
  CHECK(json.at("rule").as_string() == "api errors");
  CHECK(json.at("severity").as_string() == "high");
  CHECK(json.at("from").as_string() == "inactive");
  CHECK(json.at("to").as_string() == "firing");
  CHECK(json.at("at").as_string() == "2026-11-02T10:05:00Z");
  CHECK(json.at("value").to_number<double>() == 1.0);

  // No data: the condition is false, so the alert resolves (resolve_for 120 s)
  // and the payload carries a null value.
  payloads.clear();
  CHECK(dm::alert::evaluate_rules(db.connection(), at("2026-11-02T10:20:00Z")).empty());
  const auto resolved = dm::alert::evaluate_rules(db.connection(), at("2026-11-02T10:22:00Z"));
  REQUIRE(resolved.size() == 1);
  CHECK(std::isnan(resolved[0].value));
  for (int i = 0; i < 100 && payloads.empty(); ++i)
    listener->await_notification(0, 50000);
  REQUIRE(payloads.size() == 1);
  const auto json2 = boost::json::parse(payloads[0]).as_object();
  CHECK(json2.at("to").as_string() == "resolved");
  CHECK(json2.at("value").is_null());
}

TEST_CASE("alerts: a missed schedule opens a schedule_missed alert that resolves when it succeeds again", "[alert][evaluate][schedule]")
{
  TestDatabase db;
  dm::schedule::ScheduleSpec s;
  s.name = "daily learning";
  s.cron = "0 6 * * *";
  s.report_type = "learning";
  s.period = "yesterday";
  const auto schedule = dm::schedule::ScheduleStore(db.connection()).create(s, at("2026-11-01T00:00:00Z"));
  CHECK(dm::alert::evaluate_rules(db.connection(), at("2026-11-03T07:00:00Z")).empty());

  pqxx::nontransaction(db.connection())
      .exec_params("UPDATE dm.schedules SET missed_since = '2026-11-03T06:00:00Z' WHERE id = $1", schedule.id);
  const auto opened = dm::alert::evaluate_rules(db.connection(), at("2026-11-03T07:00:15Z"));
  REQUIRE(opened.size() == 1);
  CHECK(opened[0].key == fmt::format("schedule_missed:{}", schedule.id));
  CHECK(opened[0].severity == "high");
  CHECK(opened[0].from == "inactive");
  CHECK(opened[0].to == "firing");
  const auto alert = dm::alert::get_alert(db.connection(), opened[0].alert_id);
  CHECK(alert.state == "firing");
  CHECK_FALSE(alert.rule_id);
  CHECK(alert.message.find("daily learning") != std::string::npos);
  CHECK(alert.message.find("2026-11-03T06:00:00Z") != std::string::npos);
  // Still missed: nothing new, still one open alert.
  CHECK(dm::alert::evaluate_rules(db.connection(), at("2026-11-03T07:00:30Z")).empty());
  CHECK(db.scalar("SELECT count(*) FROM dm.alerts") == "1");

  pqxx::nontransaction(db.connection())
      .exec_params("UPDATE dm.schedules SET missed_since = NULL WHERE id = $1", schedule.id);
  const auto closed = dm::alert::evaluate_rules(db.connection(), at("2026-11-03T07:00:45Z"));
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].alert_id == opened[0].alert_id);
  CHECK(closed[0].from == "firing");
  CHECK(closed[0].to == "resolved");
  CHECK(dm::alert::get_alert(db.connection(), opened[0].alert_id).resolved_at == at("2026-11-03T07:00:45Z"));
}

TEST_CASE("alerts: an open alert of a deleted rule resolves at the next evaluation", "[alert][evaluate]")
{
  TestDatabase db;
  dm::test::alert::ingest_requests(db, "api", at("2026-11-02T10:00:00Z"), at("2026-11-02T10:10:00Z"),
                                   [](Micros) { return true; });
  RuleStore store(db.connection());
  const auto rule = store.create(error_rule(300));
  const auto opened = dm::alert::evaluate_rules(db.connection(), at("2026-11-02T10:05:00Z"));
  REQUIRE(opened.size() == 1);
  CHECK(opened[0].to == "pending");
  store.remove(rule.id);
  const auto closed = dm::alert::evaluate_rules(db.connection(), at("2026-11-02T10:05:15Z"));
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].from == "pending");
  CHECK(closed[0].to == "resolved");
  CHECK(closed[0].rule_name == "api errors");
  const auto alert = dm::alert::get_alert(db.connection(), opened[0].alert_id);
  CHECK(alert.state == "resolved");
  CHECK_FALSE(alert.rule_id);
}

TEST_CASE("alerts: metric values from the rollups and raw tables", "[alert][metric]")
{
  TestDatabase db;
  dm::test::alert::ingest_csv(db, dm::ingest::Kind::host,
                              "ts,host,cpu,mem,disk,load1\n"
                              "2026-11-02T10:01:00Z,a,0.5,0.2,0.3,1.0\n"
                              "2026-11-02T10:02:00Z,a,0.7,0.4,0.3,3.0\n"
                              "2026-11-02T10:01:00Z,b,0.9,0.9,0.1,0.5\n"
                              "2026-11-02T10:02:00Z,b,0.1,0.8,0.1,0.5\n"
                              "2026-11-02T09:00:00Z,b,1.0,1.0,1.0,9.0\n");
  dm::test::alert::ingest_csv(db, dm::ingest::Kind::learning,
                              "ts,user_id,session_id,kind\n"
                              "2026-11-02T10:01:00Z,1,10,session_start\n"
                              "2026-11-02T10:02:00Z,1,10,session_end\n"
                              "2026-11-02T10:03:00Z,2,11,session_start\n"
                              "2026-11-02T10:04:59Z,3,12,session_start\n"
                              "2026-11-02T10:05:00Z,4,13,session_start\n"
                              "2026-11-02T09:59:59Z,5,14,session_start\n");
  std::string csv = "ts,service,endpoint,status,duration_ms\n";
  for (int i = 1; i <= 200; ++i)
    csv += fmt::format("2026-11-02T10:0{}:{:02}Z,api,/e{},{},{}\n", i % 5, i % 60, i % 3, i % 10 == 0 ? 503 : 200, i);
  dm::test::alert::ingest_csv(db, dm::ingest::Kind::requests, csv);

  pqxx::read_transaction txn(db.connection());
  const Micros t = at("2026-11-02T10:05:00Z");
  auto rule = [](const char* metric, const char* service = "") {
    RuleSpec r;
    r.name = metric;
    r.metric = metric;
    r.service = service;
    return r;
  };
  // Per host means over [10:00, 10:05): a 0.6, b 0.5.
  CHECK(*dm::alert::metric_value(txn, rule("cpu"), t) == Approx(0.6));
  CHECK(*dm::alert::metric_value(txn, rule("mem"), t) == Approx(0.85));
  CHECK(*dm::alert::metric_value(txn, rule("load1"), t) == Approx(2.0));
  CHECK(*dm::alert::metric_value(txn, rule("active_users"), t) == 3);
  CHECK(*dm::alert::metric_value(txn, rule("rps"), t) == Approx(200.0 / 300.0));
  CHECK(*dm::alert::metric_value(txn, rule("error_rate"), t) == Approx(0.1));
  CHECK(*dm::alert::metric_value(txn, rule("error_rate", "api"), t) == Approx(0.1));
  CHECK_FALSE(dm::alert::metric_value(txn, rule("error_rate", "billing"), t));
  CHECK(*dm::alert::metric_value(txn, rule("rps", "billing"), t) == 0.0);
  const double p95 = std::stod(txn.exec("SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) "
                                        "FROM dm.request_metrics")[0][0].as<std::string>());
  CHECK(*dm::alert::metric_value(txn, rule("p95_ms"), t) == Approx(p95).epsilon(0.01));
  const double p99 = std::stod(txn.exec("SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) "
                                        "FROM dm.request_metrics")[0][0].as<std::string>());
  CHECK(*dm::alert::metric_value(txn, rule("p99_ms", "api"), t) == Approx(p99).epsilon(0.01));
  // No host samples an hour later; active users count 0.
  const Micros later = at("2026-11-02T11:00:00Z");
  CHECK_FALSE(dm::alert::metric_value(txn, rule("cpu"), later));
  CHECK(*dm::alert::metric_value(txn, rule("active_users"), later) == 0);
  CHECK_FALSE(dm::alert::metric_value(txn, rule("p95_ms"), later));

  // The series gives each instant's own window.
  const auto series = dm::alert::metric_series(txn, rule("active_users"), at("2026-11-02T10:04:00Z"),
                                               at("2026-11-02T10:06:01Z"), std::chrono::seconds(60));
  REQUIRE(series.size() == 3);
  CHECK(series[0].first == at("2026-11-02T10:04:00Z"));
  CHECK(*series[0].second == 3); // users 5, 1, 2
  CHECK(*series[1].second == 3); // users 1, 2, 3
  CHECK(*series[2].second == 4); // users 1, 2, 3, 4
  // Many instants read the events once; each agrees with the single-instant count.
  const auto users = dm::alert::metric_series(txn, rule("active_users"), at("2026-11-02T09:58:00Z"),
                                              at("2026-11-02T10:12:00Z"), std::chrono::seconds(7));
  REQUIRE(users.size() == 120);
  for (const auto& [when, value] : users)
    CHECK(value == dm::alert::metric_value(txn, rule("active_users"), when));
  const auto cpu = dm::alert::metric_series(txn, rule("cpu"), t, t + 3 * dm::util::micros_per_minute,
                                            std::chrono::seconds(60));
  REQUIRE(cpu.size() == 3);
  for (const auto& [when, value] : cpu)
    CHECK(value == dm::alert::metric_value(txn, rule("cpu"), when));
}

TEST_CASE("alerts: a rule whose data cannot be read is skipped and the others are evaluated", "[alert][evaluate]")
{
  TestDatabase db;
  dm::test::alert::ingest_requests(db, "api", at("2026-11-02T10:00:00Z"), at("2026-11-02T10:10:00Z"),
                                   [](Micros) { return true; });
  // A sketch of 5 bytes is not a whole number of entries.
  db.scalar("INSERT INTO dm.request_rollup_1m VALUES ('2026-11-02T10:03:00Z', 'web', '', 1, 0, 5, '\\x0102030405') "
            "RETURNING 1");
  RuleStore store(db.connection());
  RuleSpec p95;
  p95.name = "slow";
  p95.metric = "p95_ms";
  p95.threshold = 1;
  p95.for_s = 0;
  store.create(p95);
  auto errors = error_rule(300);
  errors.for_s = 0;
  store.create(errors);
  const auto transitions = dm::alert::evaluate_rules(db.connection(), at("2026-11-02T10:05:00Z"));
  REQUIRE(transitions.size() == 1);
  CHECK(transitions[0].rule_name == "api errors");
  CHECK(transitions[0].to == "firing");
  CHECK(db.scalar("SELECT count(*) FROM dm.alerts") == "1");
}
