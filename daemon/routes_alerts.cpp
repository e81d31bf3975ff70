// /alerts and /alert-rules: history with filters, one alert with its
// events, acknowledgement, the weekly trend; the rules.

#include "daemon/api_error.hpp"
#include "daemon/route_handlers.hpp"
#include "daemon/server_context.hpp"
#include "daemon/worker_pool.hpp"

#include "dm/alert/history.hpp"
#include "dm/alert/json.hpp"
#include "dm/alert/rule.hpp"
#include "dm/auth/claims.hpp"
#include "dm/auth/role.hpp"
#include "dm/util/duration.hpp"
#include "dm/util/time.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace dm::daemon::handlers {

namespace {

namespace json = boost::json;

} // namespace

Response list_alerts(RequestContext& rc)
{
  alert::AlertFilter filter;
  if (auto state = rc.query("state"); state && !state->empty()) {
    static constexpr std::string_view states[] = {"pending", "firing", "resolved", "open", "acknowledged"};
    if (std::find(std::begin(states), std::end(states), *state) == std::end(states))
      throw FieldError("state", fmt::format("state '{}': expected pending, firing, resolved, open or acknowledged",
                                            *state));
    filter.state = *state;
  }
  if (auto severity = rc.query("severity"); severity && !severity->empty()) {
    for (std::size_t start = 0; start <= severity->size();) {
      const std::size_t comma = severity->find(',', start);
      filter.severities.push_back(severity->substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos)
        break;
      start = comma + 1;
    }
    for (const auto& v : filter.severities)
      if (!alert::is_severity(v))
        throw FieldError("severity", fmt::format("severity '{}': expected low, medium, high or critical", v));
  }
  if (auto since = rc.query("since"); since && !since->empty()) {
    filter.since = util::parse_date_or_timestamp(*since);
    if (!filter.since) {
      // A duration back from now: 24h, 7d, 30m.
      try {
        filter.since = util::now() - util::parse_duration(*since).count() * util::micros_per_second;
      } catch (const UsageError&) {
        throw FieldError("since", fmt::format("since '{}': expected a date, an RFC 3339 timestamp or a duration "
                                              "such as 24h",
                                              *since));
      }
    }
  }
  if (auto limit = rc.query("limit"); limit && !limit->empty()) {
    int v = 0;
    const auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), v);
    if (ec != std::errc() || end != limit->data() + limit->size() || v < 1 || v > 10000)
      throw FieldError("limit", fmt::format("limit '{}': expected an integer from 1 to 10000", *limit));
    filter.limit = v;
  }
  const auto alerts = alert::list_alerts(rc.worker->db(), filter);
  json::array items;
  for (const auto& a : alerts)
    items.push_back(alert::alert_json(a));
  return json_response(rc.request, http::status::ok, {{"alerts", std::move(items)}});
}

Response get_alert(RequestContext& rc)
{
  const std::int64_t id = rc.id_param("id");
  auto& conn = rc.worker->db();
  json::value out = alert::alert_json(alert::get_alert(conn, id));
  json::array events;
  for (const auto& e : alert::alert_events(conn, id))
    events.push_back(alert::alert_event_json(e));
  out.as_object()["events"] = std::move(events);
  return json_response(rc.request, http::status::ok, out);
}

Response acknowledge_alert(RequestContext& rc)
{
  const std::int64_t id = rc.id_param("id");
  std::string who = rc.claims && !rc.claims->sub.empty() ? rc.claims->sub : std::string();
  if (who.empty())
    who = rc.claims ? std::string(auth::to_string(rc.claims->role)) : std::string("unknown");
  const auto acknowledged = alert::acknowledge(rc.worker->db(), id, who);
  return json_response(rc.request, http::status::ok, alert::alert_json(acknowledged));
}

Response alert_trend(RequestContext& rc)
{
  return json_response(rc.request, http::status::ok,
                       {{"trend", alert::trend_json(alert::trend(rc.worker->db(), util::now()))}});
}

Response list_alert_rules(RequestContext& rc)
{
  json::array items;
  for (const auto& r : alert::RuleStore(rc.worker->db()).list())
    items.push_back(alert::rule_json(r));
  return json_response(rc.request, http::status::ok, {{"rules", std::move(items)}});
}

Response create_alert_rule(RequestContext& rc)
{
  const json::object body = json_body_object(rc.request);
  const alert::RuleSpec spec = alert::rule_spec_from_json(body);
  const auto created = alert::RuleStore(rc.worker->db()).create(spec);
  auto res = json_response(rc.request, http::status::created, alert::rule_json(created));
  res.set(http::field::location, fmt::format("/alert-rules/{}", created.id));
  return res;
}

Response delete_alert_rule(RequestContext& rc)
{
  const std::int64_t id = rc.id_param("id");
  alert::RuleStore(rc.worker->db()).remove(id);
  return json_response(rc.request, http::status::ok, {{"id", id}, {"deleted", true}});
}

} // namespace dm::daemon::handlers
