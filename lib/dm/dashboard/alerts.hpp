#pragma once
// The alerts dashboard (DESIGN 8): the active alerts. Empty until the alert
// evaluator exists; the shape is fixed already.

#include <boost/json/object.hpp>

namespace dm::dashboard {

/// `{"alerts": []}`.
boost::json::object compute_alerts();

} // namespace dm::dashboard
