#pragma once
// Small conversions shared by the dashboards: NULL-safe values and ratios
// that never give NaN (a dashboard with no data shows zeros).

#include "dm/util/time.hpp"

#include <boost/json/value.hpp>
#include <pqxx/pqxx>

#include <optional>

namespace dm::dashboard::detail {

/// a / b, or 0 when b is 0.
inline double ratio(double a, double b)
{
  return b == 0 ? 0.0 : a / b;
}

/// A numeric column as a JSON number, NULL as null.
inline boost::json::value number_or_null(const pqxx::field& f)
{
  if (f.is_null())
    return nullptr;
  return f.as<double>();
}

/// An instant as RFC 3339 UTC, nullopt as null.
inline boost::json::value time_or_null(std::optional<util::Micros> t)
{
  if (!t)
    return nullptr;
  return boost::json::value(util::format_rfc3339_utc(*t));
}

} // namespace dm::dashboard::detail
