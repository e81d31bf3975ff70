#pragma once
// The user progress dashboard (DESIGN 8): one user's learning per topic, with
// streaks and last activity, from the user-first tables dm.user_topic_totals
// and dm.user_active_days (share/sql/0005_user_progress.sql), so that it costs
// two short index ranges whatever the size of the event history.

#include "dm/util/time.hpp"

#include <boost/json/object.hpp>
#include <pqxx/pqxx>

#include <cstdint>

namespace dm::dashboard {

using util::Micros;

/// The dashboard's data object for `user_id` as of `now`:
///   user_id, as_of (RFC 3339),
///   topics [{topic, answered, correct, accuracy, avg_answer_ms, last_activity}]
///     by topic (bytewise), all time; avg_answer_ms over answers with a time,
///   totals {answered, correct, accuracy, mock_tests, mock_passes}, all time,
///     every answer (also those without a topic); a pass scores >= 0.86,
///   streak_days, longest_streak_days, active_days_last_30 over UTC days up to
///     the day of `now` (see streak_stats()),
///   last_activity: the latest learning event of any kind, null when none.
/// Ratios are 0 when there is nothing to divide by, never NaN.
/// Throws dm::NotFound when the user is neither in dm.users nor has any
/// learning event. Reads one snapshot of the database.
boost::json::object compute_user_progress(pqxx::connection& conn, std::int64_t user_id, Micros now);

} // namespace dm::dashboard
