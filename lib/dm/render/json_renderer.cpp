#include "dm/render/json_renderer.hpp"

#include "dm/util/time.hpp"

#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include "dm/util/json_text.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string_view>
#include <variant>

namespace dm::render {

namespace json = boost::json;

namespace {

using report::Cell;
using report::ColumnType;

/// 2^53: every integer up to this magnitude is exactly a double.
constexpr std::int64_t max_exact_integer = std::int64_t{1} << 53;

std::string_view column_type_name(ColumnType t) noexcept
{
  switch (t) {
  case ColumnType::text:
    return "text";
  case ColumnType::integer:
    return "integer";
  case ColumnType::number:
    return "number";
  case ColumnType::ratio:
    return "ratio";
  case ColumnType::date:
    return "date";
  case ColumnType::timestamp:
    return "timestamp";
  }
  return "text";
}

json::value integer_value(std::int64_t v, const json::storage_ptr& sp)
{
  if (v >= -max_exact_integer && v <= max_exact_integer)
    return json::value(v, sp);
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, v).ptr;
  return json::value(json::string_view(digits, static_cast<std::size_t>(end - digits)), sp);
}

json::value double_value(double v, const json::storage_ptr& sp)
{
  if (!std::isfinite(v))
    return json::value(nullptr, sp);
  if (v == 0)
    v = 0; // folds -0 into 0
  return json::value(v, sp);
}

json::value cell_value(const Cell& cell, const json::storage_ptr& sp)
{
  struct Visitor {
    const json::storage_ptr& sp;
    json::value operator()(std::monostate) const { return json::value(nullptr, sp); }
    json::value operator()(const std::string& s) const { return json::value(json::string_view(s), sp); }
    json::value operator()(std::int64_t v) const { return integer_value(v, sp); }
    json::value operator()(double v) const { return double_value(v, sp); }
  };
  return std::visit(Visitor{sp}, cell);
}

json::value string_value(std::string_view s, const json::storage_ptr& sp)
{
  return json::value(json::string_view(s.data(), s.size()), sp);
}

json::value report_header(const report::Report& r, const json::storage_ptr& sp)
{
  json::object period(sp);
  period.reserve(3);
  period.emplace("from", string_value(util::format_rfc3339_utc(r.period.from), sp));
  period.emplace("to", string_value(util::format_rfc3339_utc(r.period.to), sp));
  period.emplace("tz", string_value(r.period.tz, sp));

  json::object params(sp);
  params.reserve(r.params.size());
  for (const auto& [name, value] : r.params)
    params.insert_or_assign(name, string_value(value, sp));

  json::object header(sp);
  header.reserve(7);
  header.emplace("id", integer_value(r.id, sp));
  header.emplace("type", string_value(report::name_of(r.type), sp));
  header.emplace("version", json::value(static_cast<std::int64_t>(r.version), sp));
  header.emplace("generated_at", string_value(util::format_rfc3339_utc(r.generated_at), sp));
  header.emplace("period", std::move(period));
  header.emplace("params", std::move(params));
  header.emplace("source", string_value(r.source, sp));
  return header;
}

json::value kpi_value(const report::Kpi& kpi, const json::storage_ptr& sp)
{
  if (!kpi.has_comparison)
    return cell_value(kpi.value, sp);
  json::object compared(sp);
  compared.reserve(4);
  compared.emplace("value", cell_value(kpi.value, sp));
  compared.emplace("previous", cell_value(kpi.previous, sp));
  compared.emplace("change", kpi.change ? double_value(*kpi.change, sp) : json::value(nullptr, sp));
  compared.emplace("trend", string_value(report::name_of(kpi.trend), sp));
  return compared;
}

json::value kpis(const report::Report& r, const json::storage_ptr& sp)
{
  json::object out(sp);
  out.reserve(r.kpis.size());
  for (const report::Kpi& kpi : r.kpis)
    out.insert_or_assign(kpi.name, kpi_value(kpi, sp));
  return out;
}

json::value section(const report::Section& s, const json::storage_ptr& sp)
{
  json::array columns(sp);
  columns.reserve(s.columns.size());
  for (const report::Column& c : s.columns) {
    json::object column(sp);
    column.reserve(2);
    column.emplace("name", string_value(c.name, sp));
    column.emplace("type", string_value(column_type_name(c.type), sp));
    columns.emplace_back(std::move(column));
  }

  json::array rows(sp);
  rows.reserve(s.rows.size());
  for (std::size_t i = 0; i < s.rows.size(); ++i) {
    const auto& cells = s.rows[i];
    if (cells.size() != s.columns.size())
      throw std::logic_error("row " + std::to_string(i) + " of section '" + s.name + "' has " +
                             std::to_string(cells.size()) + " cells for " + std::to_string(s.columns.size()) +
                             " columns");
    json::array row(sp);
    row.reserve(cells.size());
    for (const Cell& cell : cells)
      row.emplace_back(cell_value(cell, sp));
    rows.emplace_back(std::move(row));
  }

  json::object out(sp);
  out.reserve(4);
  out.emplace("name", string_value(s.name, sp));
  out.emplace("title", string_value(s.title, sp));
  out.emplace("columns", std::move(columns));
  out.emplace("rows", std::move(rows));
  return out;
}

json::value recommendation(const report::Recommendation& rec, const json::storage_ptr& sp)
{
  json::object out(sp);
  out.reserve(5);
  out.emplace("rule", string_value(rec.rule, sp));
  out.emplace("subject", string_value(rec.subject, sp));
  out.emplace("value", double_value(rec.value, sp));
  out.emplace("threshold", double_value(rec.threshold, sp));
  out.emplace("text", string_value(rec.text, sp));
  return out;
}

} // namespace

json::value to_json(const report::Report& report, json::storage_ptr sp)
{
  json::array sections(sp);
  sections.reserve(report.sections.size());
  for (const report::Section& s : report.sections)
    sections.emplace_back(section(s, sp));

  json::array recommendations(sp);
  recommendations.reserve(report.recommendations.size());
  for (const report::Recommendation& rec : report.recommendations)
    recommendations.emplace_back(recommendation(rec, sp));

  json::object out(sp);
  out.reserve(4);
  out.emplace("report", report_header(report, sp));
  out.emplace("kpis", kpis(report, sp));
  out.emplace("sections", std::move(sections));
  out.emplace("recommendations", std::move(recommendations));
  return out;
}

// A report is built once and thrown away whole: a monotonic resource makes
// the many small allocations of a large section cheap.

void render_json(const report::Report& report, std::ostream& os)
{
  os << render_json(report);
}

std::string render_json(const report::Report& report)
{
  return util::json_text(to_json(report, json::make_shared_resource<json::monotonic_resource>()));
}

} // namespace dm::render
