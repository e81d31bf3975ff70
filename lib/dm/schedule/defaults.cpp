#include "dm/schedule/defaults.hpp"

#include <fmt/format.h>

namespace dm::schedule {

namespace {

struct DefaultKind {
  const char* key;
  const char* name;
  const char* type;
  const char* period;
  std::vector<std::string> formats;
};

const std::vector<DefaultKind>& kinds()
{
  static const std::vector<DefaultKind> all{
      {"hourly", "hourly-performance", "performance", "today", {"json"}},
      {"daily", "daily-business", "business", "yesterday", {"pdf", "csv"}},
      {"weekly", "weekly-engagement", "engagement", "last-7d", {"pdf", "csv"}},
      {"monthly", "monthly-learning", "learning", "last-month", {"pdf", "csv"}},
  };
  return all;
}

const std::string& cron_of(const config::ReportingSchedule& c, std::string_view key)
{
  if (key == "hourly")
    return c.hourly;
  if (key == "daily")
    return c.daily;
  if (key == "weekly")
    return c.weekly;
  return c.monthly;
}

} // namespace

std::vector<ScheduleSpec> default_specs(const config::ReportingSchedule& config)
{
  std::vector<ScheduleSpec> out;
  for (const auto& k : kinds()) {
    const std::string& cron = cron_of(config, k.key);
    if (cron.empty())
      continue;
    ScheduleSpec spec;
    spec.name = k.name;
    spec.cron = cron;
    spec.tz = "UTC";
    spec.report_type = k.type;
    spec.period = k.period;
    spec.formats = k.formats;
    spec.source = "config";
    try {
      validate(spec);
    } catch (const FieldError& e) {
      throw FieldError(e.field(), fmt::format("reporting_schedule.{}: {}", k.key, e.what()));
    }
    out.push_back(std::move(spec));
  }
  return out;
}

DefaultsResult ensure_default_schedules(pqxx::connection_base& conn, const config::ReportingSchedule& config,
                                        util::Micros now)
{
  DefaultsResult result;
  const auto wanted = default_specs(config);
  for (const auto& k : kinds()) {
    const ScheduleSpec* spec = nullptr;
    for (const auto& s : wanted)
      if (s.name == k.name)
        spec = &s;
    pqxx::work txn{conn};
    const auto rows = txn.exec_params("SELECT id, cron, enabled, source FROM dm.schedules WHERE name = $1 FOR UPDATE",
                                      std::string(k.name));
    if (rows.empty()) {
      if (spec == nullptr)
        continue;
      const util::Micros next = next_fire_time(spec->cron, spec->tz, now);
      const auto n = txn.exec_params("INSERT INTO dm.schedules (name, cron, tz, report_type, period, formats, catchup, "
                                     "source, enabled, next_run_at) VALUES ($1, $2, $3, $4, $5, "
                                     "string_to_array($6, ','), 'last', 'config', true, "
                                     "'epoch'::timestamptz + $7::bigint * interval '1 microsecond') "
                                     "ON CONFLICT (name) DO NOTHING",
                                     spec->name, spec->cron, spec->tz, spec->report_type, spec->period,
                                     fmt::format("{}", fmt::join(spec->formats, ",")), next)
                         .affected_rows();
      txn.commit();
      result.created += n > 0 ? 1 : 0;
      continue;
    }
    if (rows[0][3].as<std::string>() != "config")
      continue; // a person's schedule that happens to have the name
    const std::int64_t id = rows[0][0].as<std::int64_t>();
    const bool enabled = rows[0][2].as<bool>();
    if (spec == nullptr) {
      if (enabled) {
        txn.exec_params("UPDATE dm.schedules SET enabled = false, next_run_at = NULL WHERE id = $1", id);
        ++result.disabled;
      }
    } else if (rows[0][1].as<std::string>() != spec->cron) {
      // The expression changed in the configuration; enabled or disabled
      // stays as a person left it.
      const util::Micros next = next_fire_time(spec->cron, spec->tz, now);
      txn.exec_params("UPDATE dm.schedules SET cron = $2, next_run_at = CASE WHEN enabled THEN "
                      "'epoch'::timestamptz + $3::bigint * interval '1 microsecond' END WHERE id = $1",
                      id, spec->cron, next);
      ++result.updated;
    }
    txn.commit();
  }
  return result;
}

} // namespace dm::schedule
