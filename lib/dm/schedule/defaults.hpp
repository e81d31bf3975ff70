#pragma once
// The default report schedules of `[reporting_schedule]` (DESIGN 6, 12),
// created on a daemon's first start and kept in line with the configuration
// on every start after:
//
//   key      name                  report        period       formats
//   hourly   hourly-performance    performance   today        json
//   daily    daily-business        business      yesterday    pdf, csv
//   weekly   weekly-engagement     engagement    last-7d      pdf, csv
//   monthly  monthly-learning      learning      last-month   pdf, csv
//
// A key set to "" disables its schedule (its history stays); a schedule of
// that name made by a person (source 'user') is never touched.

#include "dm/config/config.hpp"
#include "dm/schedule/store.hpp"

#include <pqxx/pqxx>

#include <string>
#include <vector>

namespace dm::schedule {

/// The schedules the configuration asks for (only keys that are set).
std::vector<ScheduleSpec> default_specs(const config::ReportingSchedule& config);

struct DefaultsResult {
  int created = 0;
  int updated = 0;  ///< cron changed in the configuration
  int disabled = 0; ///< key now empty
};

/// Creates or updates the default schedules; safe when several daemons start
/// at once (one of them creates each). Throws FieldError for a bad cron
/// expression in the configuration, naming the key.
DefaultsResult ensure_default_schedules(pqxx::connection_base& conn, const config::ReportingSchedule& config,
                                        util::Micros now = util::now());

} // namespace dm::schedule
