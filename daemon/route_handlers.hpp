#pragma once
// The handlers of the route table (routes.cpp), one file per area.

#include "daemon/router.hpp"

namespace dm::daemon::handlers {

// routes_health.cpp
Response healthz(RequestContext& rc);
Response readyz(RequestContext& rc);
Response metrics(RequestContext& rc);
Response index_page(RequestContext& rc);

// routes_dashboard.cpp
Response system_performance(RequestContext& rc);
Response business_kpis(RequestContext& rc);
Response dashboard_alerts(RequestContext& rc);
Response user_progress(RequestContext& rc);

// routes_reports.cpp
Response generate_report(RequestContext& rc);
Response list_reports(RequestContext& rc);
Response get_report(RequestContext& rc);
Response report_artifact(RequestContext& rc);
Response delete_report(RequestContext& rc);

// routes_schedules.cpp
Response create_schedule(RequestContext& rc);
Response list_schedules(RequestContext& rc);
Response get_schedule(RequestContext& rc);
Response delete_schedule(RequestContext& rc);
Response run_schedule(RequestContext& rc);

// routes_alerts.cpp
Response list_alerts(RequestContext& rc);
Response get_alert(RequestContext& rc);
Response acknowledge_alert(RequestContext& rc);
Response alert_trend(RequestContext& rc);
Response list_alert_rules(RequestContext& rc);
Response create_alert_rule(RequestContext& rc);
Response delete_alert_rule(RequestContext& rc);

// routes_events.cpp
Response ingest_events(RequestContext& rc);

// routes_websocket.cpp
Response websocket_stats(RequestContext& rc);
/// A plain request to a WebSocket endpoint: 426 Upgrade Required.
Response websocket_only(RequestContext& rc);

} // namespace dm::daemon::handlers
