// Anomaly rules and concurrent evaluators on a real PostgreSQL: a traffic
// spike after a day of steady traffic opens an alert, the backtest agrees
// with the evaluation loop, and two evaluators at the same instant open one
// alert.

#include "alert_fixtures.hpp"
#include "test_database.hpp"

#include "dm/alert/evaluate.hpp"
#include "dm/alert/rule.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <thread>

using dm::alert::RuleSpec;
using dm::alert::RuleStore;
using dm::test::TestDatabase;
using dm::test::alert::at;
using dm::test::alert::hms;
using dm::util::Micros;

TEST_CASE("alerts: an anomaly rule fires on a traffic spike and its backtest agrees with the evaluation loop", "[alert][anomaly]")
{
  TestDatabase db;
  // 18..24 requests a minute (a 7-minute cycle) for 34 hours, ten times as
  // many from 10:00 to 10:30 on the second day.
  const Micros from = at("2026-11-01T00:00:00Z"), to = at("2026-11-02T10:00:00Z") + 2 * dm::util::micros_per_hour;
  const Micros spike_from = at("2026-11-02T10:00:00Z"), spike_to = at("2026-11-02T10:30:00Z");
  std::string csv = "ts,service,endpoint,status,duration_ms\n";
  for (Micros m = from; m < to; m += dm::util::micros_per_minute) {
    const auto k = (m - from) / dm::util::micros_per_minute;
    const int n = static_cast<int>(18 + k % 7) * (m >= spike_from && m < spike_to ? 10 : 1);
    for (int i = 0; i < n; ++i)
      csv += fmt::format("{},api,/v1,200,{}\n", dm::util::format_rfc3339_utc(m + i * (dm::util::micros_per_minute / n)),
                         50 + i % 13);
  }
  dm::test::alert::ingest_csv(db, dm::ingest::Kind::requests, std::move(csv));

  RuleSpec spec;
  spec.name = "traffic anomaly";
  spec.kind = "anomaly";
  spec.metric = "rps";
  spec.sensitivity = 0.5;
  spec.for_s = 300;
  spec.resolve_for_s = 300;
  spec.window_s = 300;
  RuleStore(db.connection()).create(spec);

  const Micros loop_from = at("2026-11-02T09:30:00Z"), loop_to = at("2026-11-02T11:30:00Z");
  std::vector<std::string> seen;
  for (Micros t = loop_from; t < loop_to; t += dm::util::micros_per_minute)
    for (const auto& tr : dm::alert::evaluate_rules(db.connection(), t))
      seen.push_back(tr.from + ">" + tr.to + "@" + hms(tr.at));
  const auto steps = dm::alert::backtest(db.connection(), spec, loop_from, loop_to, std::chrono::seconds(60));
  std::vector<std::string> replayed;
  for (const auto& s : steps)
    replayed.push_back(s.from + ">" + s.to + "@" + hms(s.at));
  CHECK(replayed == seen);
  // The first window holding the spike ends at 10:05; firing 300 s later;
  // resolved once the spike has left the score and 300 s more have passed.
  REQUIRE(seen.size() == 3);
  CHECK(seen[0] == "inactive>pending@10:05:00");
  CHECK(seen[1] == "pending>firing@10:10:00");
  CHECK(seen[2].rfind("firing>resolved@10:", 0) == 0);
  CHECK(steps[2].at > spike_to + 5 * dm::util::micros_per_minute);
  REQUIRE(steps[0].value);
  CHECK(*steps[0].value == Approx(10.0 * (18 + 19 + 20 + 21 + 22 + 23 + 24) / 7 * 5 / 300).epsilon(0.15));
}

TEST_CASE("alerts: two evaluators at the same instant open one alert", "[alert][evaluate]")
{
  TestDatabase db;
  dm::test::alert::ingest_requests(db, "api", at("2026-11-02T10:00:00Z"), at("2026-11-02T10:10:00Z"),
                                   [](Micros) { return true; });
  RuleSpec spec;
  spec.name = "errors";
  spec.metric = "error_rate";
  spec.threshold = 0.5;
  RuleStore(db.connection()).create(spec);
  std::vector<std::size_t> counts(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < counts.size(); ++i)
    threads.emplace_back([&, i] {
      auto conn = db.connect();
      counts[i] = dm::alert::evaluate_rules(*conn, at("2026-11-02T10:05:00Z")).size();
    });
  for (auto& th : threads)
    th.join();
  CHECK(counts[0] + counts[1] + counts[2] + counts[3] == 1);
  CHECK(db.scalar("SELECT count(*) FROM dm.alerts") == "1");
  CHECK(db.scalar("SELECT count(*) FROM dm.alert_events") == "1");
}
