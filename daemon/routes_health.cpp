// /healthz, /readyz, /metrics and the dashboard page: no token needed.

#include "daemon/api_error.hpp"
#include "daemon/db_gate.hpp"
#include "daemon/readiness.hpp"
#include "daemon/route_handlers.hpp"
#include "daemon/server_context.hpp"

#include "dm/dashboard/refresher.hpp"
#include "dm/metrics/daemon_metrics.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace dm::daemon::handlers {

Response healthz(RequestContext& rc)
{
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - rc.server.started);
  return json_response(rc.request, http::status::ok,
                       {{"status", "ok"}, {"version", rc.server.version}, {"uptime_seconds", uptime.count()}});
}

Response readyz(RequestContext& rc)
{
  std::string reason;
  if (!rc.server.readiness.ready())
    reason = rc.server.readiness.reason();
  else if (rc.server.db_gate.down())
    reason = "database unreachable: " + rc.server.db_gate.last_error();
  if (reason.empty())
    return json_response(rc.request, http::status::ok, {{"status", "ready"}, {"database", "ok"}});
  return json_response(rc.request, http::status::service_unavailable,
                       {{"status", "not_ready"}, {"database", "unavailable"}, {"reason", reason}});
}

Response metrics(RequestContext& rc)
{
  Response res{http::status::ok, rc.request.version()};
  res.set(http::field::server, "dmanalyticsd");
  res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.keep_alive(rc.request.keep_alive());
  res.body() = rc.server.metrics.render();
  res.prepare_payload();
  return res;
}

Response index_page(RequestContext& rc)
{
  Response res{http::status::ok, rc.request.version()};
  res.set(http::field::server, "dmanalyticsd");
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.keep_alive(rc.request.keep_alive());
  res.body() = rc.server.web_page;
  res.prepare_payload();
  return res;
}

} // namespace dm::daemon::handlers
