#pragma once
// Alerts as stored (DESIGN 7, 8): listing, one alert with its events,
// acknowledgement, the weekly trend per severity, and the JSON of an alert.

#include "dm/util/time.hpp"

#include <boost/json/value.hpp>
#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dm::alert {

struct AlertRecord {
  std::int64_t id = 0;
  std::optional<std::int64_t> rule_id; ///< nullopt: schedule_missed, or the rule was deleted
  std::string key, rule_name, metric, service, severity, state, message, acknowledged_by;
  /// value: the metric at the latest pending/firing transition (NaN: no data);
  /// threshold: the rule's (an anomaly rule's: the detector's score threshold; NaN for schedule_missed).
  double value = 0, threshold = 0;
  util::Micros started_at = 0;
  std::optional<util::Micros> firing_at, resolved_at, acknowledged_at;
};

struct AlertEvent {
  std::int64_t id = 0;
  std::int64_t alert_id = 0;
  util::Micros at = 0;
  std::string from, to; ///< to: pending|firing|resolved|acknowledged
  std::optional<double> value;
  std::string actor; ///< who acknowledged; "" for the evaluator
};

struct AlertFilter {
  /// pending | firing | resolved, or open (pending or firing), or
  /// acknowledged (any state, acknowledged).
  std::optional<std::string> state;
  std::vector<std::string> severities; ///< empty: all
  std::optional<util::Micros> since;   ///< started_at >= since
  int limit = 100;                     ///< 1..10000
};

/// Newest first (started_at, then id). Throws UsageError naming the field
/// (state, severity, limit) for a bad filter.
std::vector<AlertRecord> list_alerts(pqxx::connection_base& conn, const AlertFilter& filter);
/// Throws dm::NotFound "no alert with id N".
AlertRecord get_alert(pqxx::connection_base& conn, std::int64_t id);
/// The alert's transitions and acknowledgement, oldest first; throws dm::NotFound.
std::vector<AlertEvent> alert_events(pqxx::connection_base& conn, std::int64_t alert_id);
/// Records who acknowledged the alert and when (now), with an 'acknowledged'
/// event, in any state. Acknowledging an acknowledged alert changes nothing
/// and returns it as it is (the first acknowledgement stays). Throws
/// dm::NotFound, UsageError for an empty `who`.
AlertRecord acknowledge(pqxx::connection_base& conn, std::int64_t id, const std::string& who);

struct TrendRow {
  std::string severity;
  std::int64_t last_7d = 0, previous_7d = 0;
  std::string direction; ///< increasing | decreasing | stable
};

/// The direction of a trend: stable when both counts are below 3 (too few to
/// tell), or when previous > 0 and |last - previous| <= 10% of previous;
/// otherwise increasing when last > previous, else decreasing.
std::string trend_direction(std::int64_t last_7d, std::int64_t previous_7d);

/// Per severity (low, medium, high, critical, zeros included): alerts started
/// in [now - 7 d, now) and in [now - 14 d, now - 7 d).
std::vector<TrendRow> trend(pqxx::connection_base& conn, util::Micros now);

/// `{"id","rule_id","key","rule","metric","service","severity","state","value",
/// "threshold","message","started_at","firing_at","resolved_at",
/// "acknowledged_by","acknowledged_at"}`: instants RFC 3339 UTC, absent
/// values null.
boost::json::value alert_json(const AlertRecord& alert);
boost::json::value alert_event_json(const AlertEvent& event);
boost::json::value trend_json(const std::vector<TrendRow>& rows);

} // namespace dm::alert
