#include "dm/render/json_reader.hpp"

#include "dm/render/csv_renderer.hpp"
#include "dm/render/json_renderer.hpp"
#include "dm/report/report.hpp"
#include "dm/util/time.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace dm::report;
using dm::render::read_report_json;
using dm::render::ReportJsonError;

namespace {

dm::util::Micros at(const char* rfc3339)
{
  return dm::util::parse_rfc3339(rfc3339).value();
}

Kpi kpi(std::string name, Cell value, ColumnType type = ColumnType::integer)
{
  Kpi k;
  k.name = std::move(name);
  k.label = "ignored by JSON";
  k.type = type;
  k.value = std::move(value);
  return k;
}

Kpi compared(std::string name, Cell value, Cell previous, std::optional<double> change, Trend trend)
{
  Kpi k = kpi(std::move(name), std::move(value));
  k.has_comparison = true;
  k.previous = std::move(previous);
  k.change = change;
  k.trend = trend;
  return k;
}

constexpr std::int64_t two_53 = std::int64_t{1} << 53;

/// A report exercising every kind of cell and every tricky spelling: text a
/// spreadsheet would run, quotes and line breaks, integers beyond 2^53,
/// doubles that Boost.JSON 1.81 itself parses one ulp off, NaN, -0, NULL.
Report tricky_report()
{
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Report r;
  r.id = 9;
  r.type = ReportType::business;
  r.version = 4;
  r.generated_at = at("2026-11-09T06:00:00.125Z");
  r.period = {at("2026-11-01T23:00:00Z"), at("2026-11-08T23:00:00Z"), "Europe/Berlin"};
  r.params = {{"exact", "false"}, {"period", "last-7d"}, {"note", "=1+1, \"quoted\""}};
  r.source = "exact";
  r.kpis = {compared("revenue_cents", std::int64_t{120000}, std::int64_t{100000}, 0.2, Trend::up),
            compared("new_paying_users", std::int64_t{5}, std::int64_t{0}, std::nullopt, Trend::up),
            compared("churn_rate", 13.387664401253275, -2.1284096563219872e-239, -1.0 / 3, Trend::down),
            compared("arpu_cents", nan, 0.1, nan, Trend::flat),
            compared("huge", two_53 + 1, -two_53 - 1, 1e300, Trend::flat),
            compared("nothing", std::monostate{}, std::monostate{}, std::nullopt, Trend::flat)};

  Section daily;
  daily.name = "daily_revenue";
  daily.title = "Daily revenue";
  daily.columns = {{"day", ColumnType::date, "Day"}, {"revenue_cents", ColumnType::integer, "Revenue"},
                   {"payments", ColumnType::integer, ""}, {"share", ColumnType::ratio, ""}};
  daily.rows = {{std::string("2026-11-02"), std::int64_t{1200}, std::int64_t{3}, 0.30000000000000004},
                {std::string("2026-11-03"), std::int64_t{-7}, std::numeric_limits<std::int64_t>::max(), -0.0},
                {std::string("2026-11-04"), std::numeric_limits<std::int64_t>::min(), std::monostate{}, nan},
                {std::monostate{}, two_53, -two_53, 2.2250738585072014e-308}};
  daily.chart = Chart::line;
  daily.chart_x = "day";
  daily.chart_y = {"revenue_cents"};
  r.sections.push_back(daily);

  Section plans;
  plans.name = "plans";
  plans.title = "Plans, \"all\"";
  plans.columns = {{"plan", ColumnType::text, ""}, {"subscribers_at_to", ColumnType::integer, ""},
                   {"revenue_cents", ColumnType::number, ""}, {"since", ColumnType::timestamp, ""}};
  plans.rows = {{std::string("=HYPERLINK(\"x\")"), std::int64_t{12}, 1.9173773300985469e+208,
                 std::string("2026-11-02T10:00:00+01:00")},
                {std::string("-monthly,\r\nplan"), std::int64_t{0}, 3.0, std::string("")},
                {std::string("9007199254740993"), std::int64_t{1}, -1.70861011730405e-26, std::monostate{}},
                {std::string("@lifetime\tü"), std::int64_t{2}, 1e-320, std::string("+01")}};
  plans.chart = Chart::bar;
  r.sections.push_back(plans);

  Section empty;
  empty.name = "empty";
  empty.title = "";
  empty.columns = {{"only", ColumnType::text, ""}};
  r.sections.push_back(empty);

  r.recommendations = {{"p99_above_slo", "api /v1/answers", 812.25, 500, "p99 is above the SLO"},
                       {"no_data", "", nan, 0.1, ""}};
  return r;
}

std::string csv(const Report& r, std::string_view section)
{
  std::ostringstream os;
  dm::render::render_csv(r, section, os);
  return os.str();
}

void check_round_trip(const Report& r)
{
  const std::string json = dm::render::render_json(r);
  const Report back = read_report_json(json);
  CHECK(dm::render::render_json(back) == json);
  CHECK(csv(back, "kpis") == csv(r, "kpis"));
  for (const Section& s : r.sections) {
    INFO("section " << s.name);
    CHECK(csv(back, s.name) == csv(r, s.name));
  }
}

} // namespace

TEST_CASE("read_report_json inverts render_json byte for byte, JSON and CSV", "[render][json_reader]")
{
  const Report r = tricky_report();
  check_round_trip(r);

  // What the renderers need comes back as it was.
  const Report back = read_report_json(dm::render::render_json(r) + "\n");
  CHECK(back.id == 9);
  CHECK(back.type == ReportType::business);
  CHECK(back.version == 4);
  CHECK(back.generated_at == r.generated_at);
  CHECK(back.period.from == r.period.from);
  CHECK(back.period.to == r.period.to);
  CHECK(back.period.tz == "Europe/Berlin");
  CHECK(back.params == r.params);
  CHECK(back.source == "exact");
  REQUIRE(back.kpis.size() == r.kpis.size());
  CHECK(back.kpis[0].has_comparison);
  CHECK(back.kpis[1].change == std::nullopt);
  CHECK(back.kpis[2].trend == Trend::down);
  CHECK(std::get<double>(back.kpis[2].value) == 13.387664401253275);
  CHECK(std::get<std::int64_t>(back.kpis[4].value) == two_53 + 1);
  CHECK(std::get<std::int64_t>(back.kpis[4].previous) == -two_53 - 1);
  REQUIRE(back.sections.size() == 3);
  CHECK(back.sections[0].columns[1].type == ColumnType::integer);
  CHECK(back.sections[0].columns[3].type == ColumnType::ratio);
  CHECK(std::get<std::int64_t>(back.sections[0].rows[2][1]) == std::numeric_limits<std::int64_t>::min());
  // A big-integer string stays text in a text column.
  CHECK(std::get<std::string>(back.sections[1].rows[2][0]) == "9007199254740993");
  CHECK(back.sections[2].rows.empty());
  REQUIRE(back.recommendations.size() == 2);
  CHECK(back.recommendations[0].threshold == 500);
  CHECK(std::isnan(back.recommendations[1].value));
}

TEST_CASE("read_report_json round-trips plain KPIs and an empty report", "[render][json_reader]")
{
  Report r;
  r.type = ReportType::performance;
  r.kpis = {kpi("requests", std::int64_t{1234}), kpi("error_rate", 0.25, ColumnType::ratio),
            kpi("label", std::string("-text kpi")), kpi("none", std::monostate{})};
  check_round_trip(r);
  check_round_trip(Report{});
}

TEST_CASE("read_report_json reads every double exactly", "[render][json_reader]")
{
  std::mt19937_64 random(20261109);
  Report r;
  Section s;
  s.name = "values";
  s.columns = {{"v", ColumnType::number, ""}};
  while (s.rows.size() < 20000) {
    const std::uint64_t bits = random();
    double d = 0;
    std::memcpy(&d, &bits, sizeof d);
    if (std::isfinite(d))
      s.rows.push_back({d});
  }
  r.sections.push_back(s);
  const Report back = read_report_json(dm::render::render_json(r));
  REQUIRE(back.sections.at(0).rows.size() == s.rows.size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < s.rows.size(); ++i)
    if (std::memcmp(&std::get<double>(back.sections[0].rows[i][0]), &std::get<double>(s.rows[i][0]), sizeof(double)) != 0)
      ++differing;
  CHECK(differing == 0);
}

TEST_CASE("read_report_json names the place of a malformed document", "[render][json_reader]")
{
  CHECK_THROWS_AS(read_report_json(""), ReportJsonError);
  CHECK_THROWS_AS(read_report_json("{\"report\":"), ReportJsonError);
  CHECK_THROWS_AS(read_report_json("{} {}"), ReportJsonError);
  CHECK_THROWS_WITH(read_report_json("[]"), "report JSON: the document: expected an object");
  CHECK_THROWS_WITH(read_report_json("{}"), "report JSON: report: expected a member");

  const std::string text = dm::render::render_json(tricky_report());
  const auto replaced = [&text](std::string_view from, std::string_view to) {
    std::string out = text;
    const auto at = out.find(from);
    REQUIRE(at != std::string::npos);
    return out.replace(at, from.size(), to);
  };
  CHECK_THROWS_WITH(read_report_json(replaced("\"ratio\"", "\"money\"")),
                    "report JSON: sections[0].columns[3].type: expected text, integer, number, ratio, date or timestamp");
  CHECK_THROWS_WITH(read_report_json(replaced("[\"2026-11-02\",1200,3,", "[\"2026-11-02\",1200,")),
                    "report JSON: sections[0].rows[0]: expected 4 cells, one per column (got 3)");
  CHECK_THROWS_WITH(read_report_json(replaced("\"trend\":\"down\"", "\"trend\":\"sideways\"")),
                    "report JSON: kpis.churn_rate.trend: expected up, down or flat");
  CHECK_THROWS_WITH(read_report_json(replaced("\"version\":4", "\"version\":\"4\"")),
                    "report JSON: report.version: expected an integer");
}

TEST_CASE("parse_json_exact reads doubles Boost.JSON 1.81 reads one ulp off", "[render][json_reader]")
{
  const auto v = dm::render::parse_json_exact(R"([1.3387664401253275E1, -2.1284096563219872E-239, 7, "x"] )");
  CHECK(v.at(0).as_double() == 13.387664401253275);
  CHECK(v.at(1).as_double() == -2.1284096563219872e-239);
  CHECK(v.at(2).as_int64() == 7);
  CHECK(v.at(3).as_string() == "x");
  CHECK_THROWS_AS(dm::render::parse_json_exact("[1,]"), ReportJsonError);
}
