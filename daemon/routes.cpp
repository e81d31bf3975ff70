#include "daemon/route_handlers.hpp"

namespace dm::daemon {

namespace {

using http::verb;
namespace h = handlers;

// DESIGN 8.
// The WebSocket endpoints are authorised here like any route, then handed to
// the hub (Runs::websocket); per dashboard the hub checks the role again.
constexpr Route table[] = {
    {verb::get, "/healthz", Access::open, Runs::io, h::healthz},
    {verb::get, "/readyz", Access::open, Runs::io, h::readyz},
    {verb::get, "/metrics", Access::open, Runs::io, h::metrics},
    {verb::get, "/", Access::open, Runs::io, h::index_page},

    {verb::get, "/dashboard/user/:userId/progress", Access::user_self, Runs::worker, h::user_progress},
    {verb::get, "/dashboard/system/performance", Access::viewer, Runs::io, h::system_performance},
    {verb::get, "/dashboard/business/kpis", Access::admin, Runs::io, h::business_kpis},
    {verb::get, "/dashboard/alerts", Access::viewer, Runs::io, h::dashboard_alerts},

    {verb::post, "/reports/generate", Access::analyst, Runs::worker, h::generate_report},
    {verb::get, "/reports", Access::analyst, Runs::worker, h::list_reports},
    {verb::get, "/reports/:id", Access::analyst, Runs::worker, h::get_report},
    {verb::get, "/reports/:id/artifact", Access::analyst, Runs::worker, h::report_artifact},
    {verb::delete_, "/reports/:id", Access::admin, Runs::worker, h::delete_report},

    {verb::post, "/events/:kind", Access::analyst, Runs::worker, h::ingest_events},

    {verb::post, "/reports/schedule", Access::analyst, Runs::worker, h::create_schedule},
    {verb::get, "/schedules", Access::analyst, Runs::worker, h::list_schedules},
    {verb::get, "/schedules/:id", Access::analyst, Runs::worker, h::get_schedule},
    {verb::delete_, "/schedules/:id", Access::admin, Runs::worker, h::delete_schedule},
    {verb::post, "/schedules/:id/run", Access::analyst, Runs::worker, h::run_schedule},
    {verb::get, "/alerts", Access::analyst, Runs::worker, h::list_alerts},
    {verb::get, "/alerts/trend", Access::analyst, Runs::worker, h::alert_trend},
    {verb::get, "/alerts/:id", Access::analyst, Runs::worker, h::get_alert},
    {verb::post, "/alerts/:id/ack", Access::analyst, Runs::worker, h::acknowledge_alert},
    {verb::get, "/alert-rules", Access::analyst, Runs::worker, h::list_alert_rules},
    {verb::post, "/alert-rules", Access::admin, Runs::worker, h::create_alert_rule},
    {verb::delete_, "/alert-rules/:id", Access::admin, Runs::worker, h::delete_alert_rule},
    {verb::get, "/websocket/stats", Access::viewer, Runs::io, h::websocket_stats},
    {verb::get, "/ws/dashboard", Access::authenticated, Runs::websocket, h::websocket_only},
    {verb::get, "/ws/user/:userId/progress", Access::user_self, Runs::websocket, h::websocket_only},
};

} // namespace

std::span<const Route> routes()
{
  return table;
}

} // namespace dm::daemon
