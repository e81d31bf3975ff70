// /reports/schedule and /schedules: create, list, show (with recent runs),
// delete, and run now.

#include "daemon/api_error.hpp"
#include "daemon/route_handlers.hpp"
#include "daemon/scheduler.hpp"
#include "daemon/server_context.hpp"
#include "daemon/worker_pool.hpp"

#include "dm/schedule/json.hpp"
#include "dm/schedule/runner.hpp"
#include "dm/schedule/store.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace dm::daemon::handlers {

namespace {

namespace json = boost::json;

std::string string_field(const json::object& o, std::string_view name, bool required, std::string fallback = {})
{
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null()) {
    if (required)
      throw FieldError(std::string(name), fmt::format("{} is required", name));
    return fallback;
  }
  if (!v->is_string())
    throw FieldError(std::string(name), fmt::format("{} must be a string", name));
  return std::string(v->as_string());
}

/// A list given as a JSON array of strings or as one comma-separated string.
std::vector<std::string> list_field(const json::object& o, std::string_view name, std::vector<std::string> fallback)
{
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null())
    return fallback;
  std::vector<std::string> out;
  if (v->is_string()) {
    const std::string text(v->as_string());
    for (std::size_t start = 0; start <= text.size();) {
      const std::size_t comma = text.find(',', start);
      out.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos)
        break;
      start = comma + 1;
    }
    return out;
  }
  if (!v->is_array())
    throw FieldError(std::string(name), fmt::format("{} must be an array of strings", name));
  for (const auto& x : v->as_array()) {
    if (!x.is_string())
      throw FieldError(std::string(name), fmt::format("{} must be an array of strings, not {}", name, json::serialize(x)));
    out.emplace_back(x.as_string());
  }
  return out;
}

schedule::ScheduleSpec parse_schedule(const json::object& body)
{
  static constexpr std::string_view known[] = {"name",    "cron", "tz",     "type",   "period",
                                               "formats", "keep", "notify", "catchup"};
  for (const auto& kv : body)
    if (std::find(std::begin(known), std::end(known), kv.key()) == std::end(known))
      throw FieldError(std::string(kv.key()),
                       fmt::format("unknown field '{}': expected name, cron, tz, type, period, formats, keep, notify, "
                                   "catchup",
                                   std::string_view(kv.key())));
  schedule::ScheduleSpec spec;
  spec.name = string_field(body, "name", true);
  spec.cron = string_field(body, "cron", true);
  spec.tz = string_field(body, "tz", false, "UTC");
  spec.report_type = string_field(body, "type", true);
  spec.period = string_field(body, "period", false, spec.period);
  spec.formats = list_field(body, "formats", spec.formats);
  spec.notify = list_field(body, "notify", {});
  spec.catchup = string_field(body, "catchup", false, spec.catchup);
  if (const json::value* k = body.if_contains("keep"); k != nullptr && !k->is_null()) {
    if (!k->is_int64() || k->as_int64() < 1 || k->as_int64() > 1000000)
      throw FieldError("keep", fmt::format("keep {}: expected a number of reports from 1 to 1000000", json::serialize(*k)));
    spec.keep = static_cast<int>(k->as_int64());
  }
  try {
    schedule::validate(spec);
  } catch (const FieldError& e) {
    // The API calls the report type "type", as POST /reports/generate does.
    throw FieldError(e.field() == "report_type" ? "type" : e.field(), e.what());
  }
  return spec;
}

} // namespace

Response create_schedule(RequestContext& rc)
{
  const auto spec = parse_schedule(json_body_object(rc.request));
  const auto created = schedule::ScheduleStore(rc.worker->db()).create(spec);
  auto res = json_response(rc.request, http::status::created, schedule::schedule_json(created));
  res.set(http::field::location, fmt::format("/schedules/{}", created.id));
  return res;
}

Response list_schedules(RequestContext& rc)
{
  json::array items;
  for (const auto& s : schedule::ScheduleStore(rc.worker->db()).list())
    items.push_back(schedule::schedule_json(s));
  return json_response(rc.request, http::status::ok, {{"schedules", std::move(items)}});
}

Response get_schedule(RequestContext& rc)
{
  auto& conn = rc.worker->db();
  const auto s = schedule::ScheduleStore(conn).get(rc.id_param("id"));
  json::value out = schedule::schedule_json(s);
  json::array runs;
  for (const auto& r : schedule::runs_of(conn, s.id, 20))
    runs.push_back(schedule::run_json(r, s.spec.tz));
  out.as_object()["runs"] = std::move(runs);
  return json_response(rc.request, http::status::ok, out);
}

Response delete_schedule(RequestContext& rc)
{
  const std::int64_t id = rc.id_param("id");
  schedule::ScheduleStore(rc.worker->db()).remove(id);
  return json_response(rc.request, http::status::ok, {{"id", id}, {"deleted", true}});
}

Response run_schedule(RequestContext& rc)
{
  if (rc.server.scheduler == nullptr)
    throw ApiError(http::status::service_unavailable, "unavailable", "this daemon runs no scheduler");
  const std::int64_t id = rc.id_param("id");
  const auto run = rc.server.scheduler->run_now(rc.worker->db(), id);
  auto res = json_response(rc.request, http::status::accepted,
                           {{"run_id", run.run_id},
                            {"schedule_id", id},
                            {"status", "running"},
                            {"href", fmt::format("/schedules/{}", id)}});
  res.set(http::field::location, fmt::format("/schedules/{}", id));
  return res;
}

} // namespace dm::daemon::handlers
