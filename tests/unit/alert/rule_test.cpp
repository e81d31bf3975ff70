// Alert rules without a database: every refused value names its field and
// value, the default rules follow [dashboard.alert_thresholds], and the trend
// direction rule.

#include "dm/alert/history.hpp"
#include "dm/alert/json.hpp"
#include "dm/alert/rule.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

using dm::FieldError;
using dm::alert::RuleSpec;

namespace {

RuleSpec error_rate_rule()
{
  RuleSpec r;
  r.name = "api errors";
  r.metric = "error_rate";
  r.service = "api";
  r.op = ">";
  r.threshold = 0.05;
  r.severity = "high";
  return r;
}

/// The field validate() names for `spec` (and its message), or "" when accepted.
std::string refused_field(const RuleSpec& spec, std::string* message = nullptr)
{
  try {
    dm::alert::validate(spec);
  } catch (const dm::FieldError& e) {
    if (message != nullptr)
      *message = e.what();
    return e.field();
  }
  return "";
}

} // namespace

TEST_CASE("alert rules: a complete threshold rule and an anomaly rule are accepted", "[alert][rule]")
{
  CHECK(refused_field(error_rate_rule()).empty());
  RuleSpec anomaly;
  anomaly.name = "p99 anomalies";
  anomaly.kind = "anomaly";
  anomaly.metric = "p99_ms";
  anomaly.sensitivity = 0.7;
  CHECK(refused_field(anomaly).empty());
  RuleSpec users;
  users.name = "quiet";
  users.metric = "active_users";
  users.op = "<";
  users.threshold = 10;
  users.for_s = 0;
  users.resolve_for_s = 0;
  CHECK(refused_field(users).empty());
}

TEST_CASE("alert rules: every refused value names its field and the value", "[alert][rule]")
{
  struct Case {
    const char* field;
    const char* value_text;
    std::function<void(RuleSpec&)> change;
  };
  const std::vector<Case> cases{
      {"name", "''", [](RuleSpec& r) { r.name = ""; }},
      {"name", "a\tb", [](RuleSpec& r) { r.name = "a\tb"; }},
      {"kind", "'heuristic'", [](RuleSpec& r) { r.kind = "heuristic"; }},
      {"metric", "'p90_ms'", [](RuleSpec& r) { r.metric = "p90_ms"; }},
      {"service", "'api'", [](RuleSpec& r) { r.metric = "cpu"; }},
      {"op", "'>='", [](RuleSpec& r) { r.op = ">="; }},
      {"threshold", "'nan'", [](RuleSpec& r) { r.threshold = std::numeric_limits<double>::quiet_NaN(); }},
      {"threshold", "'inf'", [](RuleSpec& r) { r.threshold = std::numeric_limits<double>::infinity(); }},
      {"for_s", "'-1'", [](RuleSpec& r) { r.for_s = -1; }},
      {"resolve_for_s", "'-5'", [](RuleSpec& r) { r.resolve_for_s = -5; }},
      {"severity", "'urgent'", [](RuleSpec& r) { r.severity = "urgent"; }},
      {"window_s", "'0'", [](RuleSpec& r) { r.window_s = 0; }},
      {"source", "'import'", [](RuleSpec& r) { r.source = "import"; }},
      {"sensitivity", "'0.5'", [](RuleSpec& r) { r.sensitivity = 0.5; }},
      {"sensitivity", "''", [](RuleSpec& r) { r.kind = "anomaly"; }},
      {"sensitivity", "'1.5'", [](RuleSpec& r) {
         r.kind = "anomaly";
         r.sensitivity = 1.5;
       }},
  };
  for (const auto& c : cases) {
    RuleSpec spec = error_rate_rule();
    c.change(spec);
    std::string message;
    INFO("field " << c.field << " value " << c.value_text);
    CHECK(refused_field(spec, &message) == c.field);
    CHECK(message.find(c.field) != std::string::npos);
    if (std::string(c.value_text) != "a\tb")
      CHECK(message.find(c.value_text) != std::string::npos);
  }
}

TEST_CASE("alert rules: the defaults follow [dashboard.alert_thresholds]", "[alert][rule]")
{
  dm::config::AlertThresholds t;
  t.response_time_ms = 750;
  t.error_rate = 0.02;
  t.active_users = 0;
  t.system_load = 0.8;
  auto rules = dm::alert::default_rules(t, 240);
  REQUIRE(rules.size() == 3);
  CHECK(rules[0].name == "default-p95");
  CHECK(rules[0].metric == "p95_ms");
  CHECK(rules[0].op == ">");
  CHECK(rules[0].threshold == 750);
  CHECK(rules[0].severity == "high");
  CHECK(rules[1].name == "default-error-rate");
  CHECK(rules[1].metric == "error_rate");
  CHECK(rules[1].threshold == 0.02);
  CHECK(rules[1].severity == "high");
  CHECK(rules[2].name == "default-cpu");
  CHECK(rules[2].metric == "cpu");
  CHECK(rules[2].threshold == 0.8);
  CHECK(rules[2].severity == "medium");
  for (const auto& r : rules) {
    CHECK(r.source == "config");
    CHECK(r.resolve_for_s == 240);
    CHECK(r.service.empty());
    CHECK(refused_field(r).empty());
  }

  t.active_users = 25;
  rules = dm::alert::default_rules(t, 300);
  REQUIRE(rules.size() == 4);
  CHECK(rules[2].name == "default-active-users");
  CHECK(rules[2].metric == "active_users");
  CHECK(rules[2].op == "<");
  CHECK(rules[2].threshold == 25);
  CHECK(rules[2].severity == "medium");
  CHECK(rules[2].window_s == 3600);
}

TEST_CASE("alert trend: stable within 10 percent or below 3 alerts in both weeks", "[alert][trend]")
{
  using dm::alert::trend_direction;
  CHECK(trend_direction(0, 0) == "stable");
  CHECK(trend_direction(2, 0) == "stable");
  CHECK(trend_direction(0, 2) == "stable");
  CHECK(trend_direction(3, 0) == "increasing");
  CHECK(trend_direction(0, 3) == "decreasing");
  CHECK(trend_direction(11, 10) == "stable");
  CHECK(trend_direction(9, 10) == "stable");
  CHECK(trend_direction(12, 10) == "increasing");
  CHECK(trend_direction(8, 10) == "decreasing");
  CHECK(trend_direction(110, 100) == "stable");
  CHECK(trend_direction(111, 100) == "increasing");
  CHECK(trend_direction(2, 5) == "decreasing");
}

TEST_CASE("alert rules: JSON bodies become rules, and a bad key or type names the field", "[alert][rule][json]")
{
  const auto spec = dm::alert::rule_spec_from_json(boost::json::parse(
      R"({"name":"slow","metric":"p95_ms","service":"api","op":">","threshold":900,"for":120,"resolve_for":60,
          "severity":"critical","window":600})"));
  CHECK(spec.name == "slow");
  CHECK(spec.service == "api");
  CHECK(spec.threshold == 900);
  CHECK(spec.for_s == 120);
  CHECK(spec.resolve_for_s == 60);
  CHECK(spec.window_s == 600);
  CHECK(spec.severity == "critical");
  CHECK(spec.source == "user");

  auto field_of = [](const char* body) -> std::string {
    try {
      dm::alert::rule_spec_from_json(boost::json::parse(body));
    } catch (const dm::FieldError& e) {
      return e.field();
    }
    return "";
  };
  CHECK(field_of(R"({"name":"x","metric":"cpu","threshold":"high"})") == "threshold");
  CHECK(field_of(R"({"name":"x","metric":"cpu","for":1.5})") == "for_s");
  CHECK(field_of(R"({"name":"x","metric":"cpu","colour":"red"})") == "colour");
  CHECK(field_of(R"({"name":"x","metric":"cpu","source":"config"})") == "source");
  CHECK(field_of(R"({"name":"x","metric":"cpu","enabled":1})") == "enabled");
  CHECK(field_of(R"({"name":"x","metric":"gpu"})") == "metric");
  CHECK(field_of(R"([1])") == "body");

  dm::alert::StoredRule stored{7, spec, 0};
  const auto json = dm::alert::rule_json(stored).as_object();
  CHECK(json.at("id").as_int64() == 7);
  CHECK(json.at("service").as_string() == "api");
  CHECK(json.at("sensitivity").is_null());
  CHECK(json.at("for_s").as_int64() == 120);
}
