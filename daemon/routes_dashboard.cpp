// The dashboards: answered from the snapshot cache (no query per GET), user
// progress from its short-lived cache on the worker pool.

#include "daemon/api_error.hpp"
#include "daemon/route_handlers.hpp"
#include "daemon/server_context.hpp"
#include "daemon/worker_pool.hpp"

#include "dm/dashboard/snapshot_cache.hpp"
#include "dm/dashboard/user_progress.hpp"
#include "dm/dashboard/user_progress_cache.hpp"
#include "dm/util/time.hpp"

#include <fmt/format.h>

namespace dm::daemon::handlers {

namespace {

/// `{"dashboard","seq","ts","data"}` around the cached body, which is reused
/// as it is.
Response snapshot_response(RequestContext& rc, std::string_view dashboard)
{
  const auto snapshot = rc.server.snapshots.get(dashboard);
  if (!snapshot)
    return error_response(rc.request, http::status::service_unavailable, "warming_up",
                          fmt::format("the {} dashboard has not been computed yet; retry in a moment", dashboard));
  std::string body;
  body.reserve(snapshot->body->size() + 96);
  body += R"({"dashboard":")";
  body += dashboard;
  body += R"(","seq":)";
  body += std::to_string(snapshot->seq);
  body += R"(,"ts":")";
  body += util::format_rfc3339_utc(snapshot->ts);
  body += R"(","data":)";
  body += *snapshot->body;
  body += '}';
  return json_text_response(rc.request, http::status::ok, std::move(body));
}

} // namespace

Response system_performance(RequestContext& rc)
{
  return snapshot_response(rc, "system_performance");
}

Response business_kpis(RequestContext& rc)
{
  return snapshot_response(rc, "business_kpis");
}

Response dashboard_alerts(RequestContext& rc)
{
  return snapshot_response(rc, "alerts");
}

Response user_progress(RequestContext& rc)
{
  const std::int64_t user_id = rc.id_param("userId");
  const util::Micros now = util::now();
  auto body = rc.server.progress.get_or_compute(user_id, now, [&] {
    return dashboard::compute_user_progress(rc.worker->db(), user_id, now);
  });
  std::string out;
  out.reserve(body->size() + 64);
  out += R"({"dashboard":"user_progress","ts":")";
  out += util::format_rfc3339_utc(now);
  out += R"(","data":)";
  out += *body;
  out += '}';
  return json_text_response(rc.request, http::status::ok, std::move(out));
}

} // namespace dm::daemon::handlers
