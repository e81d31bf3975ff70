#pragma once
// The alerts dashboard (DESIGN 8, 9): the open alerts (pending and firing),
// newest first, and how many are firing per severity.

#include <boost/json/object.hpp>
#include <pqxx/pqxx>

namespace dm::dashboard {

/// `{"alerts":[alert...], "firing":{"low":n,"medium":n,"high":n,"critical":n},
/// "pending":n}`; each alert as alert::alert_json gives it.
boost::json::object compute_alerts(pqxx::connection_base& conn);

} // namespace dm::dashboard
