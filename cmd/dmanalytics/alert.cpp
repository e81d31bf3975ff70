// dmanalytics alert list | show | ack | trend, and rule list | add | rm | test
//
// On the database in this process (the embedded cluster unless --database
// says otherwise), like `schedule`: they work whether or not a daemon runs.

#include "args.hpp"
#include "context.hpp"

#include "dm/alert/evaluate.hpp"
#include "dm/alert/history.hpp"
#include "dm/alert/json.hpp"
#include "dm/alert/rule.hpp"
#include "dm/util/duration.hpp"
#include "dm/render/csv_renderer.hpp"
#include "dm/util/error.hpp"
#include "dm/util/json_text.hpp"
#include "dm/util/time.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace dm::cli {

namespace {

namespace json = boost::json;

std::string time_or_dash(const std::optional<util::Micros>& t)
{
  return t ? util::format_rfc3339_utc(*t) : std::string("-");
}

std::string number(double v)
{
  if (std::isnan(v))
    return "-";
  return fmt::format("{:.6g}", v);
}

std::string csv_field(std::string_view text)
{
  return render::csv_text_field(text);
}

/// --since: a date, an RFC 3339 instant, or a duration back from now (24h).
util::Micros parse_since(const std::string& text)
{
  if (const auto t = util::parse_date_or_timestamp(text))
    return *t;
  try {
    return util::now() - util::parse_duration(text).count() * util::micros_per_second;
  } catch (const UsageError&) {
    throw UsageError(fmt::format("--since '{}': expected a date, an RFC 3339 instant or a duration such as 24h", text));
  }
}

// --- alert ----------------------------------------------------------------

struct AlertListCommand {
  std::string state, since, format = "table";
  std::vector<std::string> severities;
  int limit = 100;
};

void run_alert_list(Context& ctx, const AlertListCommand& cmd)
{
  check_format(cmd.format, {"table", "csv", "json"});
  alert::AlertFilter filter;
  if (!cmd.state.empty())
    filter.state = cmd.state;
  filter.severities = cmd.severities;
  if (!cmd.since.empty())
    filter.since = parse_since(cmd.since);
  filter.limit = cmd.limit;
  auto conn = ctx.connect();
  const auto alerts = alert::list_alerts(*conn, filter);
  if (cmd.format == "json") {
    json::array arr;
    for (const auto& a : alerts)
      arr.push_back(alert::alert_json(a));
    std::cout << util::json_text(arr) << "\n";
    return;
  }
  if (cmd.format == "csv") {
    std::string out = "id,rule,severity,state,value,threshold,started_at,firing_at,resolved_at,acknowledged_by\r\n";
    for (const auto& a : alerts)
      out += fmt::format("{},{},{},{},{},{},{},{},{},{}\r\n", a.id, csv_field(a.rule_name), a.severity, a.state,
                         std::isnan(a.value) ? "" : number(a.value), std::isnan(a.threshold) ? "" : number(a.threshold),
                         util::format_rfc3339_utc(a.started_at), a.firing_at ? util::format_rfc3339_utc(*a.firing_at) : "",
                         a.resolved_at ? util::format_rfc3339_utc(*a.resolved_at) : "", csv_field(a.acknowledged_by));
    std::cout << out;
    return;
  }
  std::size_t rule_width = 4;
  for (const auto& a : alerts)
    rule_width = std::max(rule_width, a.rule_name.size());
  std::string out = fmt::format("{:>6}  {:<{}}  {:<8}  {:<8}  {:>10}  {:>10}  {:<27}  {:<27}  {}\n", "ID", "RULE",
                                rule_width, "SEVERITY", "STATE", "VALUE", "THRESHOLD", "STARTED", "RESOLVED", "ACK");
  for (const auto& a : alerts)
    out += fmt::format("{:>6}  {:<{}}  {:<8}  {:<8}  {:>10}  {:>10}  {:<27}  {:<27}  {}\n", a.id, a.rule_name,
                       rule_width, a.severity, a.state, number(a.value), number(a.threshold),
                       util::format_rfc3339_utc(a.started_at), time_or_dash(a.resolved_at),
                       a.acknowledged_by.empty() ? "-" : a.acknowledged_by);
  if (alerts.empty())
    out += "no alerts\n";
  std::cout << out;
}

struct AlertShowCommand {
  std::string id, format = "table";
};

void run_alert_show(Context& ctx, const AlertShowCommand& cmd)
{
  check_format(cmd.format, {"table", "json"});
  const std::int64_t id = parse_id(cmd.id, "an alert");
  auto conn = ctx.connect();
  const auto a = alert::get_alert(*conn, id);
  const auto events = alert::alert_events(*conn, id);
  if (cmd.format == "json") {
    json::value out = alert::alert_json(a);
    json::array arr;
    for (const auto& e : events)
      arr.push_back(alert::alert_event_json(e));
    out.as_object()["events"] = std::move(arr);
    std::cout << util::json_text(out) << "\n";
    return;
  }
  std::string out;
  out += fmt::format("id:           {}\n", a.id);
  out += fmt::format("rule:         {}{}\n", a.rule_name, a.rule_id ? fmt::format(" (rule {})", *a.rule_id) : "");
  out += fmt::format("metric:       {}{}\n", a.metric, a.service.empty() ? "" : " service " + a.service);
  out += fmt::format("severity:     {}\n", a.severity);
  out += fmt::format("state:        {}\n", a.state);
  out += fmt::format("value:        {}\n", number(a.value));
  out += fmt::format("threshold:    {}\n", number(a.threshold));
  if (!a.message.empty())
    out += fmt::format("message:      {}\n", a.message);
  out += fmt::format("started:      {}\n", util::format_rfc3339_utc(a.started_at));
  out += fmt::format("firing:       {}\n", time_or_dash(a.firing_at));
  out += fmt::format("resolved:     {}\n", time_or_dash(a.resolved_at));
  out += fmt::format("acknowledged: {}\n",
                     a.acknowledged_at ? fmt::format("{} by {}", util::format_rfc3339_utc(*a.acknowledged_at),
                                                     a.acknowledged_by)
                                       : std::string("-"));
  out += "\nevents:\n";
  for (const auto& e : events)
    out += fmt::format("  {}  {} -> {}{}{}\n", util::format_rfc3339_utc(e.at), e.from, e.to,
                       e.value ? "  value " + number(*e.value) : "", e.actor.empty() ? "" : "  by " + e.actor);
  std::cout << out;
}

struct AlertAckCommand {
  std::string id, by;
};

void run_alert_ack(Context& ctx, const AlertAckCommand& cmd)
{
  const std::int64_t id = parse_id(cmd.id, "an alert");
  std::string who = cmd.by;
  if (who.empty()) {
    const char* user = std::getenv("USER");
    who = user != nullptr && *user != '\0' ? user : "cli";
  }
  auto conn = ctx.connect();
  const auto a = alert::acknowledge(*conn, id, who);
  if (!ctx.quiet())
    std::cerr << fmt::format("alert {} ({}, {}) acknowledged by {} at {}\n", a.id, a.rule_name, a.state,
                             a.acknowledged_by, time_or_dash(a.acknowledged_at));
}

struct AlertTrendCommand {
  std::string format = "table";
};

void run_alert_trend(Context& ctx, const AlertTrendCommand& cmd)
{
  check_format(cmd.format, {"table", "json"});
  auto conn = ctx.connect();
  const auto rows = alert::trend(*conn, util::now());
  if (cmd.format == "json") {
    std::cout << util::json_text(alert::trend_json(rows)) << "\n";
    return;
  }
  std::string out = fmt::format("{:<9}  {:>12}  {:>12}  {}\n", "SEVERITY", "LAST 7 DAYS", "7 DAYS BEFORE", "TREND");
  for (const auto& r : rows)
    out += fmt::format("{:<9}  {:>12}  {:>12}  {}\n", r.severity, r.last_7d, r.previous_7d, r.direction);
  std::cout << out;
}

// --- rule -------------------------------------------------------------------

struct RuleListCommand {
  std::string format = "table";
};

void run_rule_list(Context& ctx, const RuleListCommand& cmd)
{
  check_format(cmd.format, {"table", "json"});
  auto conn = ctx.connect();
  const auto rules = alert::RuleStore(*conn).list();
  if (cmd.format == "json") {
    json::array arr;
    for (const auto& r : rules)
      arr.push_back(alert::rule_json(r));
    std::cout << util::json_text(arr) << "\n";
    return;
  }
  std::size_t name_width = 4;
  for (const auto& r : rules)
    name_width = std::max(name_width, r.spec.name.size());
  std::string out = fmt::format("{:>5}  {:<{}}  {:<9}  {:<24}  {:<26}  {:>6}  {:>7}  {:<8}  {}\n", "ID", "NAME",
                                name_width, "KIND", "METRIC", "CONDITION", "FOR", "RESOLVE", "SEVERITY", "ENABLED");
  for (const auto& r : rules) {
    const auto& s = r.spec;
    const std::string metric = s.service.empty() ? s.metric : fmt::format("{}{{{}}}", s.metric, s.service);
    const std::string condition = s.kind == "anomaly"
                                      ? fmt::format("sensitivity {}", s.sensitivity ? number(*s.sensitivity) : "-")
                                      : fmt::format("{} {} over {}s", s.op, number(s.threshold), s.window_s);
    out += fmt::format("{:>5}  {:<{}}  {:<9}  {:<24}  {:<26}  {:>5}s  {:>6}s  {:<8}  {}\n", r.id, s.name, name_width,
                       s.kind, metric, condition, s.for_s, s.resolve_for_s, s.severity, s.enabled ? "yes" : "no");
  }
  std::cout << out;
}

struct RuleAddCommand {
  std::string name, kind = "threshold", metric, service, op = ">", for_ = "60s", resolve_for = "5m", severity = "medium",
                    window = "5m";
  std::string threshold, sensitivity;
};

int seconds_option(std::string_view option, const std::string& text)
{
  try {
    return static_cast<int>(util::parse_duration(text).count());
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("{}: {}", option, e.what()));
  }
}

double number_option(std::string_view option, const std::string& text)
{
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v))
    throw UsageError(fmt::format("{} '{}': expected a number", option, text));
  return v;
}

void run_rule_add(Context& ctx, const RuleAddCommand& cmd)
{
  alert::RuleSpec spec;
  spec.name = cmd.name;
  spec.kind = cmd.kind;
  spec.metric = cmd.metric;
  spec.service = cmd.service;
  spec.op = cmd.op;
  if (!cmd.threshold.empty())
    spec.threshold = number_option("--threshold", cmd.threshold);
  else if (cmd.kind == "threshold")
    throw UsageError("--threshold is required for a threshold rule");
  if (!cmd.sensitivity.empty())
    spec.sensitivity = number_option("--sensitivity", cmd.sensitivity);
  spec.for_s = seconds_option("--for", cmd.for_);
  spec.resolve_for_s = seconds_option("--resolve-for", cmd.resolve_for);
  spec.window_s = seconds_option("--window", cmd.window);
  spec.severity = cmd.severity;
  alert::validate(spec); // exit 2 before the database is opened
  auto conn = ctx.connect();
  const auto r = alert::RuleStore(*conn).create(spec);
  std::cout << r.id << "\n";
  if (!ctx.quiet())
    std::cerr << fmt::format("rule {} '{}' added\n", r.id, r.spec.name);
}

struct RuleIdCommand {
  std::string id;
};

void run_rule_rm(Context& ctx, const RuleIdCommand& cmd)
{
  const std::int64_t id = parse_id(cmd.id, "a rule");
  auto conn = ctx.connect();
  alert::RuleStore(*conn).remove(id);
  if (!ctx.quiet())
    std::cerr << fmt::format("rule {} removed (its alerts stay in the history)\n", id);
}

struct RuleTestCommand {
  std::string id, from, to, step, format = "table";
};

void run_rule_test(Context& ctx, const RuleTestCommand& cmd)
{
  check_format(cmd.format, {"table", "json"});
  const std::int64_t id = parse_id(cmd.id, "a rule");
  const auto from = util::parse_date_or_timestamp(cmd.from);
  if (!from)
    throw UsageError(fmt::format("--from '{}': expected a date (YYYY-MM-DD, UTC) or an RFC 3339 instant", cmd.from));
  const auto to = util::parse_date_or_timestamp(cmd.to);
  if (!to)
    throw UsageError(fmt::format("--to '{}': expected a date (YYYY-MM-DD, UTC) or an RFC 3339 instant", cmd.to));
  if (*from >= *to)
    throw UsageError(fmt::format("--from {} is not before --to {}", cmd.from, cmd.to));
  const int step = cmd.step.empty() ? std::max(1, ctx.config().alerts.interval) : seconds_option("--step", cmd.step);
  if (step < 1)
    throw UsageError("--step: at least 1s");
  auto conn = ctx.connect();
  const auto rule = alert::RuleStore(*conn).get(id);
  const auto steps = alert::backtest(*conn, rule.spec, *from, *to, std::chrono::seconds(step));
  if (cmd.format == "json") {
    std::cout << util::json_text(alert::backtest_json(steps)) << "\n";
    return;
  }
  std::string out = fmt::format("{:<27}  {:>12}  {}\n", "AT", "VALUE", "TRANSITION");
  for (const auto& s : steps)
    out += fmt::format("{:<27}  {:>12}  {} -> {}\n", util::format_rfc3339_utc(s.at),
                       s.value ? number(*s.value) : std::string("no data"), s.from, s.to);
  if (steps.empty())
    out += fmt::format("no transition: rule '{}' would not have gone pending between {} and {}\n", rule.spec.name,
                       util::format_rfc3339_utc(*from), util::format_rfc3339_utc(*to));
  std::cout << out;
}

} // namespace

void setup_alert(CLI::App& app, Context& ctx)
{
  auto* a = app.add_subcommand("alert", "Alert history: list, show, acknowledge, weekly trend");
  a->require_subcommand(1);

  auto list = std::make_shared<AlertListCommand>();
  auto* l = a->add_subcommand("list", "Alerts, newest first");
  l->add_option("--state", list->state, "pending | firing | resolved | open | acknowledged")->type_name("S");
  l->add_option("--severity", list->severities, "low, medium, high, critical (comma-separated)")
      ->delimiter(',')
      ->type_name("S,...");
  l->add_option("--since", list->since, "Started since a date, an instant, or a duration back (24h, 7d)")
      ->type_name("WHEN");
  l->add_option("--limit", list->limit, "At most N alerts")->capture_default_str()->check(CLI::Range(1, 10000));
  l->add_option("--format", list->format, "table | csv | json")->capture_default_str();
  l->callback(ctx.command([list, &ctx] { run_alert_list(ctx, *list); }));

  auto show = std::make_shared<AlertShowCommand>();
  auto* s = a->add_subcommand("show", "One alert with its transitions");
  s->add_option("ID", show->id)->required();
  s->add_option("--format", show->format, "table | json")->capture_default_str();
  s->callback(ctx.command([show, &ctx] { run_alert_show(ctx, *show); }));

  auto ack = std::make_shared<AlertAckCommand>();
  auto* k = a->add_subcommand("ack", "Acknowledge an alert (who and when are recorded)");
  k->add_option("ID", ack->id)->required();
  k->add_option("--by", ack->by, "Who acknowledges (default: $USER)")->type_name("NAME");
  k->callback(ctx.command([ack, &ctx] { run_alert_ack(ctx, *ack); }));

  auto trend = std::make_shared<AlertTrendCommand>();
  auto* t = a->add_subcommand("trend", "Per severity: alerts of the last 7 days against the 7 before");
  t->add_option("--format", trend->format, "table | json")->capture_default_str();
  t->callback(ctx.command([trend, &ctx] { run_alert_trend(ctx, *trend); }));
}

void setup_rule(CLI::App& app, Context& ctx)
{
  auto* r = app.add_subcommand("rule", "Alert rules: list, add, rm, and test against stored history");
  r->require_subcommand(1);

  auto list = std::make_shared<RuleListCommand>();
  auto* l = r->add_subcommand("list", "Every alert rule");
  l->add_option("--format", list->format, "table | json")->capture_default_str();
  l->callback(ctx.command([list, &ctx] { run_rule_list(ctx, *list); }));

  auto add = std::make_shared<RuleAddCommand>();
  auto* ad = r->add_subcommand("add", "Add a rule; prints its id");
  ad->add_option("--name", add->name, "Unique name")->required();
  ad->add_option("--metric", add->metric, "p95_ms p99_ms error_rate rps active_users cpu mem disk load1")->required();
  ad->add_option("--service", add->service, "Only this service (request metrics)");
  ad->add_option("--kind", add->kind, "threshold | anomaly")->capture_default_str();
  ad->add_option("--op", add->op, "> or <")->capture_default_str();
  ad->add_option("--threshold", add->threshold, "The threshold (threshold rules)")->type_name("X");
  ad->add_option("--sensitivity", add->sensitivity, "0..1 (anomaly rules)")->type_name("S");
  ad->add_option("--for", add->for_, "How long the condition holds before firing")->capture_default_str();
  ad->add_option("--resolve-for", add->resolve_for, "How long it stays clear before resolving")->capture_default_str();
  ad->add_option("--window", add->window, "The metric's window")->capture_default_str();
  ad->add_option("--severity", add->severity, "low | medium | high | critical")->capture_default_str();
  ad->callback(ctx.command([add, &ctx] { run_rule_add(ctx, *add); }));

  auto rm = std::make_shared<RuleIdCommand>();
  auto* m = r->add_subcommand("rm", "Delete a rule (its alerts stay in the history)");
  m->add_option("ID", rm->id)->required();
  m->callback(ctx.command([rm, &ctx] { run_rule_rm(ctx, *rm); }));

  auto test = std::make_shared<RuleTestCommand>();
  auto* te = r->add_subcommand("test", "Replay a rule over stored history: the transitions it would have made");
  te->add_option("ID", test->id)->required();
  te->add_option("--from", test->from, "Start: a date (UTC) or an RFC 3339 instant")->required();
  te->add_option("--to", test->to, "End (exclusive)")->required();
  te->add_option("--step", test->step, "Between two evaluations (default alerts.interval)");
  te->add_option("--format", test->format, "table | json")->capture_default_str();
  te->callback(ctx.command([test, &ctx] { run_rule_test(ctx, *test); }));
}

} // namespace dm::cli
