#pragma once
// Small helpers shared by the report generators: parameters as text, typed
// reads of single values, NULL-safe ratios.

#include "dm/report/report.hpp"

#include <pqxx/pqxx>

#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <string_view>

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

/// Runs `query` (no parameters: literals quoted by the caller) as COPY TO
/// STDOUT and calls `line` with each row in COPY's text format (fields
/// separated by tabs, escaped with backslashes, NULL as \N). For large
/// results: no per-field strings, and no result held in memory.
template <typename F> void for_each_copy_line(pqxx::transaction_base& txn, const std::string& query, F&& line)
{
  pqxx::stream_from stream{txn, "(" + query + ")"};
  std::string text;
  while (stream.get_raw_line(text)) {
    std::string_view row = text;
    if (!row.empty() && row.back() == '\n')
      row.remove_suffix(1);
    line(row);
  }
  stream.complete();
}

/// for_each_copy_line for rows of N integer columns (NULL reads as 0).
template <std::size_t N, typename F> void for_each_int_row(pqxx::transaction_base& txn, const std::string& query, F&& row)
{
  std::array<std::int64_t, N> values{};
  for_each_copy_line(txn, query, [&](std::string_view line) {
    const char* p = line.data();
    const char* const end = p + line.size();
    for (std::size_t i = 0; i < N; ++i) {
      values[i] = 0;
      if (p < end && *p != '\\')
        p = std::from_chars(p, end, values[i]).ptr;
      while (p < end && *p != '\t')
        ++p;
      if (p < end)
        ++p;
    }
    row(values);
  });
}

} // namespace dm::report::detail
