#pragma once
// The business KPI dashboard (DESIGN 8): the business report, month to date.

#include "dm/util/time.hpp"

#include <boost/json/object.hpp>
#include <pqxx/pqxx>

namespace dm::dashboard {

using util::Micros;

/// The first instant of the UTC calendar month holding `t`.
Micros utc_month_start(Micros t) noexcept;

/// The business report (DESIGN 5) over [first day of the month of `now`
/// 00:00 UTC, now), as the dashboard's data object:
///   period {from, to} (RFC 3339),
///   kpis {name: {value, previous, change, trend}} in the report's order
///     (previous: the same KPI over the equally long period ending at `from`),
///   daily_revenue [{day, revenue_cents, payments}], plans [{plan,
///     subscribers_at_to, revenue_cents}] from the report's sections.
/// At the very first microsecond of a month the period is that microsecond,
/// so the answer has the usual shape with (near) zero values.
/// Access control (admin only) is the caller's.
boost::json::object compute_business_kpis(pqxx::connection& conn, Micros now);

} // namespace dm::dashboard
