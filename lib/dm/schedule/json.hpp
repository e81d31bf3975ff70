#pragma once
// Schedules and their runs as JSON, the same for the API (GET /schedules) and
// `schedule list|show --format json`. Times are RFC 3339 in the schedule's
// zone, null when absent.

#include "dm/schedule/runner.hpp"
#include "dm/schedule/store.hpp"

#include <boost/json/value.hpp>

namespace dm::schedule {

boost::json::value schedule_json(const StoredSchedule& schedule);
/// One run; `tz` is its schedule's zone.
boost::json::value run_json(const RunRecord& run, const std::string& tz);

} // namespace dm::schedule
