#pragma once
// Small helpers shared by the report generators: parameters as text, typed
// reads of single values, NULL-safe ratios.

#include "dm/report/report.hpp"

#include <pqxx/pqxx>

#include <cmath>
#include <string>

namespace dm::report::detail {

/// An instant as a timestamptz parameter.
inline std::string ts(util::Micros t)
{
  return util::format_rfc3339_utc(t);
}

inline std::int64_t as_int(const pqxx::field& f)
{
  return f.is_null() ? 0 : f.as<std::int64_t>();
}

inline double as_double(const pqxx::field& f)
{
  return f.is_null() ? 0.0 : f.as<double>();
}

/// a / b, or 0 when b is 0 (DESIGN 5: a period with no data gives zeros, not NaN).
inline double ratio(double a, double b)
{
  return b == 0 ? 0.0 : a / b;
}

inline Kpi int_kpi(std::string name, std::string label, std::int64_t v)
{
  Kpi k;
  k.name = std::move(name);
  k.label = std::move(label);
  k.type = ColumnType::integer;
  k.value = v;
  return k;
}

inline Kpi num_kpi(std::string name, std::string label, double v, ColumnType type = ColumnType::number)
{
  Kpi k;
  k.name = std::move(name);
  k.label = std::move(label);
  k.type = type;
  k.value = std::isfinite(v) ? Cell{v} : Cell{};
  return k;
}

inline Cell cell_or_null(const pqxx::field& f)
{
  return f.is_null() ? Cell{} : Cell{f.as<double>()};
}

} // namespace dm::report::detail
