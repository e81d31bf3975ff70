#include "dm/schedule/json.hpp"

#include "dm/report/calendar.hpp"

#include <boost/json.hpp>

namespace dm::schedule {

namespace json = boost::json;

namespace {

json::value local_or_null(const std::optional<util::Micros>& t, const std::string& tz)
{
  return t ? json::value(report::format_local(*t, tz)) : json::value(nullptr);
}

json::value text_or_null(const std::string& text)
{
  return text.empty() ? json::value(nullptr) : json::value(text);
}

} // namespace

json::value schedule_json(const StoredSchedule& s)
{
  json::array formats, notify;
  for (const auto& f : s.spec.formats)
    formats.emplace_back(f);
  for (const auto& a : s.spec.notify)
    notify.emplace_back(a);
  return json::object{{"id", s.id},
                      {"name", s.spec.name},
                      {"cron", s.spec.cron},
                      {"tz", s.spec.tz},
                      {"type", s.spec.report_type},
                      {"period", s.spec.period},
                      {"formats", std::move(formats)},
                      {"keep", s.spec.keep ? json::value(*s.spec.keep) : json::value(nullptr)},
                      {"notify", std::move(notify)},
                      {"catchup", s.spec.catchup},
                      {"source", s.spec.source},
                      {"enabled", s.enabled},
                      {"next_run_at", local_or_null(s.next_run_at, s.spec.tz)},
                      {"last_run_at", local_or_null(s.last_run_at, s.spec.tz)},
                      {"last_status", text_or_null(s.last_status)},
                      {"last_success_at", local_or_null(s.last_success_at, s.spec.tz)},
                      {"missed_since", local_or_null(s.missed_since, s.spec.tz)},
                      {"created_at", util::format_rfc3339_utc(s.created_at)}};
}

json::value run_json(const RunRecord& r, const std::string& tz)
{
  json::array reports;
  for (const auto id : r.report_ids)
    reports.emplace_back(id);
  return json::object{{"id", r.id},
                      {"schedule_id", r.schedule_id},
                      {"fire_time", report::format_local(r.fire_time, tz)},
                      {"trigger", r.trigger},
                      {"status", r.status},
                      {"started_at", local_or_null(r.started_at, tz)},
                      {"finished_at", local_or_null(r.finished_at, tz)},
                      {"error", text_or_null(r.error)},
                      {"skipped", r.skipped},
                      {"report_ids", std::move(reports)},
                      {"delivery", json::object{{"status", text_or_null(r.delivery_status)},
                                                {"error", text_or_null(r.delivery_error)},
                                                {"attempts", r.attempts}}},
                      {"runner", text_or_null(r.runner)}};
}

} // namespace dm::schedule
