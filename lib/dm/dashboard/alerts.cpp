#include "dm/dashboard/alerts.hpp"

#include "dm/alert/history.hpp"

#include <boost/json.hpp>

namespace dm::dashboard {

boost::json::object compute_alerts(pqxx::connection_base& conn)
{
  alert::AlertFilter filter;
  filter.state = "open";
  filter.limit = 500;
  boost::json::array alerts;
  boost::json::object firing{{"low", 0}, {"medium", 0}, {"high", 0}, {"critical", 0}};
  std::int64_t pending = 0;
  for (const auto& a : alert::list_alerts(conn, filter)) {
    if (a.state == "firing") {
      if (auto* n = firing.if_contains(a.severity))
        *n = n->as_int64() + 1;
    } else {
      ++pending;
    }
    alerts.push_back(alert::alert_json(a));
  }
  boost::json::object out;
  out["alerts"] = std::move(alerts);
  out["firing"] = std::move(firing);
  out["pending"] = pending;
  return out;
}

} // namespace dm::dashboard
