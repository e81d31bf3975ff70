#pragma once
// Where the rollups hold user activity for a range of whole hours: the whole
// UTC days inside it from dm.user_active_days (one row per user and day), the
// hours around them from dm.learning_user_hourly (one row per user and hour).
// Both count the same events, so their union is exact, and a day row stands
// for all of a user's hour rows of that day. A row without events (one that
// only moved a session counter) is no activity.

#include "dm/report/report.hpp"

#include <pqxx/pqxx>

#include <string>

namespace dm::report::detail {

/// [from, to) split into whole UTC days and the hours before and after them.
struct ActivityRanges {
  util::Micros from = 0, to = 0;           ///< the range, whole hours
  util::Micros days_from = 0, days_to = 0; ///< the whole UTC days inside; empty: both = to
};

ActivityRanges activity_ranges(util::Micros from, util::Micros to);

/// A query listing rows `user_id, answered, correct` whose union covers the
/// activity in the range (a user appears once per day or hour row).
/// Literals are quoted by `txn`.
std::string user_activity_rows_sql(pqxx::transaction_base& txn, const ActivityRanges& r);

/// Distinct users with any learning event in [from, to) (whole hours), from
/// the rollups.
std::int64_t active_users_rollup(pqxx::transaction_base& txn, util::Micros from, util::Micros to);

/// "YYYY-MM-DD" of a UTC instant.
std::string utc_date(util::Micros t);

} // namespace dm::report::detail
