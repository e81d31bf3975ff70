// GET /websocket/stats, and the answer to a WebSocket endpoint asked without
// an upgrade.

#include "daemon/api_error.hpp"
#include "daemon/route_handlers.hpp"
#include "daemon/server_context.hpp"
#include "daemon/ws_hub.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace dm::daemon::handlers {

namespace json = boost::json;

Response websocket_stats(RequestContext& rc)
{
  const WsStats stats = rc.server.ws_hub.stats();
  json::object subscribers;
  for (const WsDashboard d : {WsDashboard::user_progress, WsDashboard::system_performance, WsDashboard::business_kpis,
                              WsDashboard::alerts})
    subscribers[to_string(d)] = stats.subscribers[static_cast<std::size_t>(d)];
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - rc.server.started);
  return json_response(rc.request, http::status::ok,
                       {{"connections", stats.connections},
                        {"subscribers", std::move(subscribers)},
                        {"messages", {{"sent", stats.sent}, {"conflated", stats.conflated}, {"dropped", stats.dropped}}},
                        {"uptime_seconds", uptime.count()}});
}

Response websocket_only(RequestContext& rc)
{
  auto res = error_response(rc.request, http::status::upgrade_required, "upgrade_required",
                            fmt::format("{} is a WebSocket endpoint: connect with Upgrade: websocket", rc.path));
  res.set(http::field::upgrade, "websocket");
  return res;
}

} // namespace dm::daemon::handlers
