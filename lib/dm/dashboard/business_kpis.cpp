#include "dm/dashboard/business_kpis.hpp"

#include "dm/render/json_renderer.hpp"
#include "dm/report/generator.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <string_view>

namespace dm::dashboard {

namespace {

/// A section of the report's JSON form as an array of row objects keyed by
/// column name (handier for charts than positional rows).
boost::json::array section_rows(const boost::json::value& report_json, std::string_view name)
{
  boost::json::array out;
  for (const auto& s : report_json.at("sections").as_array()) {
    if (s.at("name").as_string() != name)
      continue;
    const auto& columns = s.at("columns").as_array();
    for (const auto& row : s.at("rows").as_array()) {
      boost::json::object o;
      const auto& cells = row.as_array();
      for (std::size_t i = 0; i < columns.size() && i < cells.size(); ++i)
        o[columns[i].at("name").as_string()] = cells[i];
      out.push_back(std::move(o));
    }
  }
  return out;
}

} // namespace

Micros utc_month_start(Micros t) noexcept
{
  const util::CivilDate d = util::civil_from_days(util::floor_to(t, util::micros_per_day) / util::micros_per_day);
  return util::days_from_civil(d.year, d.month, 1) * util::micros_per_day;
}

boost::json::object compute_business_kpis(pqxx::connection& conn, Micros now)
{
  report::GenerateRequest request;
  request.type = report::ReportType::business;
  request.period.from = utc_month_start(now);
  request.period.to = std::max(now, request.period.from + 1);
  request.period.tz = "UTC";
  request.now = now;
  // The generator reads raw rows by itself when `now` is inside an hour.
  const report::Report r = report::generate_report(conn, request);
  const boost::json::value json = render::to_json(r);

  boost::json::object out;
  out["period"] = {{"from", util::format_rfc3339_utc(r.period.from)}, {"to", util::format_rfc3339_utc(r.period.to)}};
  out["kpis"] = json.at("kpis");
  out["daily_revenue"] = section_rows(json, "daily_revenue");
  out["plans"] = section_rows(json, "plans");
  return out;
}

} // namespace dm::dashboard
