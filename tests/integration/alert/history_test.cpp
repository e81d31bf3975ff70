// Stored alerts on a real PostgreSQL: the rule store, default rules from the
// configuration, listing and filters, acknowledgement and the weekly trend.

#include "alert_fixtures.hpp"
#include "test_database.hpp"

#include "dm/alert/history.hpp"
#include "dm/alert/rule.hpp"
#include "dm/util/error.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <thread>

using dm::alert::RuleSpec;
using dm::alert::RuleStore;
using dm::test::TestDatabase;
using dm::test::alert::at;
using dm::util::Micros;

namespace {

/// Inserts an alert started at `started` (RFC 3339) and returns its id.
std::int64_t insert_alert(TestDatabase& db, const std::string& key, const std::string& severity,
                          const std::string& state, const std::string& started)
{
  return std::stoll(db.scalar(fmt::format(
      "INSERT INTO dm.alerts (key, rule_name, metric, severity, state, value, threshold, started_at, firing_at, "
      "resolved_at, message) VALUES ('{0}', 'r', 'cpu', '{1}', '{2}', 0.95, 0.9, '{3}', "
      "CASE WHEN '{2}' <> 'pending' THEN '{3}'::timestamptz END, CASE WHEN '{2}' = 'resolved' THEN '{3}'::timestamptz END, "
      "'cpu 0.95 > 0.9') RETURNING id",
      key, severity, state, started)));
}

} // namespace

TEST_CASE("alert rules: created, listed, read and removed, and a taken name is a conflict", "[alert][rule]")
{
  TestDatabase db;
  RuleStore store(db.connection());
  RuleSpec spec;
  spec.name = "slow api";
  spec.metric = "p99_ms";
  spec.service = "api";
  spec.threshold = 1500;
  spec.severity = "critical";
  const auto created = store.create(spec);
  CHECK(created.id > 0);
  CHECK(created.created_at > 0);
  CHECK(created.spec.name == "slow api");
  CHECK(created.spec.service == "api");
  CHECK(created.spec.threshold == 1500);
  CHECK(created.spec.for_s == 60);
  CHECK(created.spec.resolve_for_s == 300);
  CHECK(created.spec.window_s == 300);
  CHECK_FALSE(created.spec.sensitivity);
  CHECK(db.scalar(fmt::format("SELECT service FROM dm.alert_rules WHERE id = {}", created.id)) == "api");

  RuleSpec anomaly;
  anomaly.name = "odd traffic";
  anomaly.kind = "anomaly";
  anomaly.metric = "rps";
  anomaly.sensitivity = 0.25;
  const auto second = store.create(anomaly);
  CHECK(second.spec.kind == "anomaly");
  CHECK(second.spec.sensitivity == 0.25);
  CHECK(second.spec.service.empty());
  CHECK(db.scalar(fmt::format("SELECT service IS NULL FROM dm.alert_rules WHERE id = {}", second.id)) == "t");

  REQUIRE(store.list().size() == 2);
  CHECK(store.list()[1].spec.name == "odd traffic");
  CHECK(store.get(created.id).spec.severity == "critical");
  CHECK_THROWS_AS(store.create(spec), dm::Conflict);
  spec.metric = "nonsense";
  CHECK_THROWS_AS(store.create(spec), dm::FieldError);
  CHECK_FALSE(store.set_enabled(created.id, false).spec.enabled);
  store.remove(created.id);
  CHECK_THROWS_AS(store.get(created.id), dm::NotFound);
  CHECK_THROWS_AS(store.remove(created.id), dm::NotFound);
  CHECK(store.list().size() == 1);
}

TEST_CASE("alert rules: the default rules are created once and follow the configuration", "[alert][rule][defaults]")
{
  TestDatabase db;
  // A person's rule that happens to use a default name is left alone.
  RuleSpec mine;
  mine.name = "default-cpu";
  mine.metric = "cpu";
  mine.threshold = 0.5;
  RuleStore(db.connection()).create(mine);

  dm::config::AlertThresholds t;
  CHECK(dm::alert::ensure_default_rules(db.connection(), t, 300) == 2);
  CHECK(dm::alert::ensure_default_rules(db.connection(), t, 300) == 0);
  CHECK(db.scalar("SELECT string_agg(name || ':' || source || ':' || threshold, ',' ORDER BY name) FROM dm.alert_rules") ==
        "default-cpu:user:0.5,default-error-rate:config:0.05,default-p95:config:1000");

  t.response_time_ms = 800;
  CHECK(dm::alert::ensure_default_rules(db.connection(), t, 300) == 1);
  CHECK(db.scalar("SELECT threshold FROM dm.alert_rules WHERE name = 'default-p95'") == "800");
  CHECK(dm::alert::ensure_default_rules(db.connection(), t, 600) == 2);
  CHECK(db.scalar("SELECT count(*) FROM dm.alert_rules WHERE resolve_for_s = 600") == "2");

  t.active_users = 40;
  CHECK(dm::alert::ensure_default_rules(db.connection(), t, 600) == 1);
  CHECK(db.scalar("SELECT op || threshold || ':' || window_s || ':' || enabled FROM dm.alert_rules "
                  "WHERE name = 'default-active-users'") == "<40:3600:true");
  t.active_users = 0;
  CHECK(dm::alert::ensure_default_rules(db.connection(), t, 600) == 1);
  CHECK(db.scalar("SELECT enabled FROM dm.alert_rules WHERE name = 'default-active-users'") == "f");
  CHECK(dm::alert::ensure_default_rules(db.connection(), t, 600) == 0);
}

TEST_CASE("alert rules: two daemons starting at once create each default rule once", "[alert][rule][defaults]")
{
  TestDatabase db;
  dm::config::AlertThresholds t;
  t.active_users = 5;
  std::vector<std::thread> threads;
  std::vector<int> created(4, -1);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      auto conn = db.connect();
      created[static_cast<std::size_t>(i)] = dm::alert::ensure_default_rules(*conn, t, 300);
    });
  for (auto& th : threads)
    th.join();
  CHECK(created[0] + created[1] + created[2] + created[3] == 4);
  CHECK(db.scalar("SELECT count(*) FROM dm.alert_rules") == "4");
}

TEST_CASE("alerts: acknowledging records who and when once, with an event", "[alert][ack]")
{
  TestDatabase db;
  const auto id = insert_alert(db, "rule:1", "high", "firing", "2026-11-02T10:00:00Z");
  const auto acked = dm::alert::acknowledge(db.connection(), id, "alice");
  CHECK(acked.acknowledged_by == "alice");
  REQUIRE(acked.acknowledged_at);
  CHECK(acked.state == "firing");
  auto events = dm::alert::alert_events(db.connection(), id);
  REQUIRE(events.size() == 1);
  CHECK(events[0].from == "firing");
  CHECK(events[0].to == "acknowledged");
  CHECK(events[0].actor == "alice");
  CHECK_FALSE(events[0].value);

  // A second acknowledgement keeps the first.
  const auto again = dm::alert::acknowledge(db.connection(), id, "bob");
  CHECK(again.acknowledged_by == "alice");
  CHECK(again.acknowledged_at == acked.acknowledged_at);
  CHECK(dm::alert::alert_events(db.connection(), id).size() == 1);

  CHECK_THROWS_AS(dm::alert::acknowledge(db.connection(), id + 1000, "alice"), dm::NotFound);
  CHECK_THROWS_AS(dm::alert::acknowledge(db.connection(), id, ""), dm::UsageError);
  CHECK_THROWS_AS(dm::alert::get_alert(db.connection(), id + 1000), dm::NotFound);
  CHECK_THROWS_AS(dm::alert::alert_events(db.connection(), id + 1000), dm::NotFound);

  const auto json = dm::alert::alert_json(dm::alert::get_alert(db.connection(), id)).as_object();
  CHECK(json.at("acknowledged_by").as_string() == "alice");
  CHECK(json.at("state").as_string() == "firing");
  CHECK(json.at("started_at").as_string() == "2026-11-02T10:00:00Z");
  CHECK(json.at("resolved_at").is_null());
  CHECK(json.at("rule_id").is_null());
  CHECK(json.at("value").as_double() == 0.95);
}

TEST_CASE("alerts: listing filters by state, severity and start, newest first", "[alert][list]")
{
  TestDatabase db;
  const auto a = insert_alert(db, "rule:1", "high", "resolved", "2026-11-01T10:00:00Z");
  const auto b = insert_alert(db, "rule:1", "high", "firing", "2026-11-02T10:00:00Z");
  const auto c = insert_alert(db, "rule:2", "low", "pending", "2026-11-02T11:00:00Z");
  const auto d = insert_alert(db, "rule:3", "critical", "resolved", "2026-11-02T12:00:00Z");
  auto ids = [&](const dm::alert::AlertFilter& f) {
    std::vector<std::int64_t> out;
    for (const auto& r : dm::alert::list_alerts(db.connection(), f))
      out.push_back(r.id);
    return out;
  };
  dm::alert::AlertFilter f;
  CHECK(ids(f) == std::vector<std::int64_t>{d, c, b, a});
  f.state = "open";
  CHECK(ids(f) == std::vector<std::int64_t>{c, b});
  f.state = "resolved";
  CHECK(ids(f) == std::vector<std::int64_t>{d, a});
  f.severities = {"high", "low"};
  CHECK(ids(f) == std::vector<std::int64_t>{a});
  f.state.reset();
  f.since = at("2026-11-02T00:00:00Z");
  CHECK(ids(f) == std::vector<std::int64_t>{c, b});
  f.limit = 1;
  CHECK(ids(f) == std::vector<std::int64_t>{c});
  f.state = "closed";
  CHECK_THROWS_AS(dm::alert::list_alerts(db.connection(), f), dm::FieldError);
  f.state.reset();
  f.severities = {"urgent"};
  CHECK_THROWS_AS(dm::alert::list_alerts(db.connection(), f), dm::FieldError);
  // One open alert per key.
  CHECK_THROWS_AS(insert_alert(db, "rule:1", "high", "pending", "2026-11-02T13:00:00Z"), pqxx::unique_violation);
}

TEST_CASE("alerts: the trend compares the last 7 days with the 7 before, per severity", "[alert][trend]")
{
  TestDatabase db;
  const Micros now = at("2026-11-15T12:00:00Z");
  int n = 0;
  auto add = [&](const char* severity, int count, const char* started) {
    for (int i = 0; i < count; ++i)
      insert_alert(db, fmt::format("k{}", n++), severity, "resolved", started);
  };
  // high: 5 vs 2 -> increasing; medium: 10 vs 10 -> stable; low: 1 vs 0 ->
  // stable (too few); critical: 0 vs 4 -> decreasing. The bounds: exactly
  // 7 days ago is the last week, exactly 14 days ago the previous one, now
  // and before 14 days count nowhere.
  add("high", 4, "2026-11-14T00:00:00Z");
  add("high", 1, "2026-11-08T12:00:00Z");
  add("high", 2, "2026-11-01T12:00:00Z");
  add("high", 3, "2026-11-15T12:00:00Z");
  add("high", 3, "2026-11-01T11:59:59Z");
  add("medium", 10, "2026-11-10T00:00:00Z");
  add("medium", 10, "2026-11-03T00:00:00Z");
  add("low", 1, "2026-11-12T00:00:00Z");
  add("critical", 4, "2026-11-05T00:00:00Z");
  const auto rows = dm::alert::trend(db.connection(), now);
  REQUIRE(rows.size() == 4);
  auto row = [&](std::size_t i) {
    return fmt::format("{}:{}:{}:{}", rows[i].severity, rows[i].last_7d, rows[i].previous_7d, rows[i].direction);
  };
  CHECK(row(0) == "low:1:0:stable");
  CHECK(row(1) == "medium:10:10:stable");
  CHECK(row(2) == "high:5:2:increasing");
  CHECK(row(3) == "critical:0:4:decreasing");
  const auto json = dm::alert::trend_json(rows).as_array();
  REQUIRE(json.size() == 4);
  CHECK(json[2].as_object().at("direction").as_string() == "increasing");
}
