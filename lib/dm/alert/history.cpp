#include "dm/alert/history.hpp"

#include "dm/alert/rule.hpp"
#include "dm/util/error.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace dm::alert {

namespace {

constexpr int max_limit = 10000;

std::string micros_of(const char* column)
{
  return fmt::format("(extract(epoch FROM {}) * 1000000)::bigint", column);
}

std::string select_alerts()
{
  return fmt::format("SELECT id, rule_id, key, rule_name, metric, coalesce(service, ''), severity, state, "
                     "coalesce(message, ''), coalesce(acknowledged_by, ''), value, threshold, {}, {}, {}, {} "
                     "FROM dm.alerts ",
                     micros_of("started_at"), micros_of("firing_at"), micros_of("resolved_at"),
                     micros_of("acknowledged_at"));
}

std::optional<util::Micros> optional_micros(const pqxx::field& f)
{
  return f.is_null() ? std::nullopt : std::optional<util::Micros>(f.as<util::Micros>());
}

AlertRecord from_row(const pqxx::row& r)
{
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  AlertRecord a;
  a.id = r[0].as<std::int64_t>();
  if (!r[1].is_null())
    a.rule_id = r[1].as<std::int64_t>();
  a.key = r[2].as<std::string>();
  a.rule_name = r[3].as<std::string>();
  a.metric = r[4].as<std::string>();
  a.service = r[5].as<std::string>();
  a.severity = r[6].as<std::string>();
  a.state = r[7].as<std::string>();
  a.message = r[8].as<std::string>();
  a.acknowledged_by = r[9].as<std::string>();
  a.value = r[10].is_null() ? nan : r[10].as<double>();
  a.threshold = r[11].is_null() ? nan : r[11].as<double>();
  a.started_at = r[12].as<util::Micros>();
  a.firing_at = optional_micros(r[13]);
  a.resolved_at = optional_micros(r[14]);
  a.acknowledged_at = optional_micros(r[15]);
  return a;
}

boost::json::value time_or_null(const std::optional<util::Micros>& t)
{
  return t ? boost::json::value(util::format_rfc3339_utc(*t)) : boost::json::value(nullptr);
}

boost::json::value number_or_null(double v)
{
  return std::isfinite(v) ? boost::json::value(v) : boost::json::value(nullptr);
}

boost::json::value text_or_null(const std::string& s)
{
  return s.empty() ? boost::json::value(nullptr) : boost::json::value(s);
}

} // namespace

std::vector<AlertRecord> list_alerts(pqxx::connection_base& conn, const AlertFilter& filter)
{
  std::string where = "WHERE true";
  if (filter.state) {
    const std::string& s = *filter.state;
    if (s == "pending" || s == "firing" || s == "resolved")
      where += " AND state = $1";
    else if (s == "open")
      where += " AND state IN ('pending', 'firing') AND $1::text IS NOT NULL";
    else if (s == "acknowledged")
      where += " AND acknowledged_at IS NOT NULL AND $1::text IS NOT NULL";
    else
      throw FieldError("state", fmt::format("state '{}': expected pending, firing, resolved, open or acknowledged", s));
  } else {
    where += " AND $1::text IS NULL";
  }
  for (const auto& s : filter.severities)
    if (!is_severity(s))
      throw FieldError("severity", fmt::format("severity '{}': expected low, medium, high or critical", s));
  if (filter.limit < 1 || filter.limit > max_limit)
    throw FieldError("limit", fmt::format("limit '{}': expected 1 to {}", filter.limit, max_limit));
  std::string severities;
  for (const auto& s : filter.severities)
    severities += (severities.empty() ? "" : ",") + s;
  where += " AND ($2::text = '' OR severity = ANY (string_to_array($2::text, ',')))";
  where += " AND ($3::bigint IS NULL OR started_at >= 'epoch'::timestamptz + $3::bigint * interval '1 microsecond')";
  pqxx::read_transaction txn{conn};
  std::vector<AlertRecord> out;
  for (const auto& r : txn.exec_params(select_alerts() + where + " ORDER BY started_at DESC, id DESC LIMIT $4",
                                       filter.state, severities, filter.since, filter.limit))
    out.push_back(from_row(r));
  return out;
}

AlertRecord get_alert(pqxx::connection_base& conn, std::int64_t id)
{
  pqxx::read_transaction txn{conn};
  const auto rows = txn.exec_params(select_alerts() + "WHERE id = $1", id);
  if (rows.empty())
    throw NotFound(fmt::format("no alert with id {}", id));
  return from_row(rows[0]);
}

std::vector<AlertEvent> alert_events(pqxx::connection_base& conn, std::int64_t alert_id)
{
  pqxx::read_transaction txn{conn};
  if (txn.exec_params("SELECT 1 FROM dm.alerts WHERE id = $1", alert_id).empty())
    throw NotFound(fmt::format("no alert with id {}", alert_id));
  std::vector<AlertEvent> out;
  for (const auto& r : txn.exec_params(fmt::format("SELECT id, alert_id, {}, from_state, to_state, value, "
                                                   "coalesce(actor, '') FROM dm.alert_events WHERE alert_id = $1 "
                                                   "ORDER BY at, id",
                                                   micros_of("at")),
                                       alert_id)) {
    AlertEvent e;
    e.id = r[0].as<std::int64_t>();
    e.alert_id = r[1].as<std::int64_t>();
    e.at = r[2].as<util::Micros>();
    e.from = r[3].as<std::string>();
    e.to = r[4].as<std::string>();
    if (!r[5].is_null())
      e.value = r[5].as<double>();
    e.actor = r[6].as<std::string>();
    out.push_back(std::move(e));
  }
  return out;
}

AlertRecord acknowledge(pqxx::connection_base& conn, std::int64_t id, const std::string& who)
{
  if (who.empty())
    throw UsageError(fmt::format("acknowledged_by '': alert {} needs the name of who acknowledges it", id));
  {
    pqxx::work txn{conn};
    const auto rows = txn.exec_params("SELECT state, acknowledged_at IS NOT NULL FROM dm.alerts WHERE id = $1 FOR UPDATE",
                                      id);
    if (rows.empty())
      throw NotFound(fmt::format("no alert with id {}", id));
    if (!rows[0][1].as<bool>()) {
      txn.exec_params("UPDATE dm.alerts SET acknowledged_by = $2, acknowledged_at = now() WHERE id = $1", id, who);
      txn.exec_params("INSERT INTO dm.alert_events (alert_id, at, from_state, to_state, actor) "
                      "VALUES ($1, now(), $2, 'acknowledged', $3)",
                      id, rows[0][0].as<std::string>(), who);
      txn.commit();
    }
  }
  return get_alert(conn, id);
}

std::string trend_direction(std::int64_t last_7d, std::int64_t previous_7d)
{
  if (last_7d < 3 && previous_7d < 3)
    return "stable";
  if (previous_7d > 0 && std::abs(last_7d - previous_7d) * 10 <= previous_7d)
    return "stable";
  return last_7d > previous_7d ? "increasing" : "decreasing";
}

std::vector<TrendRow> trend(pqxx::connection_base& conn, util::Micros now)
{
  pqxx::read_transaction txn{conn};
  const auto rows = txn.exec_params(
      "WITH t AS (SELECT 'epoch'::timestamptz + $1::bigint * interval '1 microsecond' AS now) "
      "SELECT s.severity, "
      "count(a.id) FILTER (WHERE a.started_at >= t.now - interval '7 days'), "
      "count(a.id) FILTER (WHERE a.started_at < t.now - interval '7 days') "
      "FROM t CROSS JOIN unnest(ARRAY['low', 'medium', 'high', 'critical']) WITH ORDINALITY AS s(severity, o) "
      "LEFT JOIN dm.alerts a ON a.severity = s.severity AND a.started_at >= t.now - interval '14 days' "
      "AND a.started_at < t.now "
      "GROUP BY s.severity, s.o ORDER BY s.o",
      now);
  std::vector<TrendRow> out;
  for (const auto& r : rows) {
    TrendRow row;
    row.severity = r[0].as<std::string>();
    row.last_7d = r[1].as<std::int64_t>();
    row.previous_7d = r[2].as<std::int64_t>();
    row.direction = trend_direction(row.last_7d, row.previous_7d);
    out.push_back(std::move(row));
  }
  return out;
}

boost::json::value alert_json(const AlertRecord& a)
{
  boost::json::object o;
  o["id"] = a.id;
  o["rule_id"] = a.rule_id ? boost::json::value(*a.rule_id) : boost::json::value(nullptr);
  o["key"] = a.key;
  o["rule"] = a.rule_name;
  o["metric"] = a.metric;
  o["service"] = text_or_null(a.service);
  o["severity"] = a.severity;
  o["state"] = a.state;
  o["value"] = number_or_null(a.value);
  o["threshold"] = number_or_null(a.threshold);
  o["message"] = a.message;
  o["started_at"] = util::format_rfc3339_utc(a.started_at);
  o["firing_at"] = time_or_null(a.firing_at);
  o["resolved_at"] = time_or_null(a.resolved_at);
  o["acknowledged_by"] = text_or_null(a.acknowledged_by);
  o["acknowledged_at"] = time_or_null(a.acknowledged_at);
  return o;
}

boost::json::value alert_event_json(const AlertEvent& e)
{
  boost::json::object o;
  o["id"] = e.id;
  o["alert_id"] = e.alert_id;
  o["at"] = util::format_rfc3339_utc(e.at);
  o["from"] = e.from;
  o["to"] = e.to;
  o["value"] = e.value ? boost::json::value(*e.value) : boost::json::value(nullptr);
  o["actor"] = text_or_null(e.actor);
  return o;
}

boost::json::value trend_json(const std::vector<TrendRow>& rows)
{
  boost::json::array out;
  for (const auto& r : rows)
    out.push_back(boost::json::object{{"severity", r.severity},
                                      {"last_7d", r.last_7d},
                                      {"previous_7d", r.previous_7d},
                                      {"direction", r.direction}});
  return out;
}

} // namespace dm::alert
