#include "dm/render/json_renderer.hpp"

#include "dm/report/report.hpp"
#include "dm/util/time.hpp"

#include <boost/json.hpp>
#include "dm/util/json_text.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace json = boost::json;
using namespace dm::report;

namespace {

dm::util::Micros at(const char* rfc3339)
{
  return dm::util::parse_rfc3339(rfc3339).value();
}

Kpi plain_kpi(std::string name, Cell value, ColumnType type = ColumnType::integer)
{
  Kpi k;
  k.name = std::move(name);
  k.type = type;
  k.value = std::move(value);
  return k;
}

Kpi compared_kpi(std::string name, Cell value, Cell previous, std::optional<double> change, Trend trend)
{
  Kpi k = plain_kpi(std::move(name), std::move(value));
  k.has_comparison = true;
  k.previous = std::move(previous);
  k.change = change;
  k.trend = trend;
  return k;
}

Report small_report()
{
  Report r;
  r.id = 42;
  r.type = ReportType::performance;
  r.version = 3;
  r.generated_at = at("2026-11-09T06:00:00Z");
  r.period = {at("2026-11-02T00:00:00Z"), at("2026-11-09T00:00:00Z"), "Europe/Paris"};
  r.params = {{"exact", "false"}, {"service", "api"}};
  r.source = "exact";
  r.kpis = {plain_kpi("requests", std::int64_t{1234}), plain_kpi("error_rate", 0.25, ColumnType::ratio)};

  Section s;
  s.name = "services";
  s.title = "Services";
  s.columns = {{"service", ColumnType::text, "Service"},     {"requests", ColumnType::integer, ""},
               {"error_rate", ColumnType::ratio, ""},       {"p99_ms", ColumnType::number, ""},
               {"day", ColumnType::date, ""},              {"last_seen", ColumnType::timestamp, ""}};
  s.rows = {{std::string("api"), std::int64_t{10}, 0.5, 812.25, std::string("2026-11-02"),
             std::string("2026-11-02T10:00:00+01:00")},
            {std::string("say \"hi\"\n"), std::int64_t{-7}, std::monostate{}, 3.0, std::monostate{}, std::monostate{}}};
  r.sections.push_back(s);

  r.recommendations.push_back({"p99_above_slo", "api /v1/answers", 812.25, 500, "p99 is above the SLO"});
  return r;
}

std::vector<std::string> keys_of(const json::object& o)
{
  std::vector<std::string> keys;
  for (const auto& kv : o)
    keys.emplace_back(kv.key());
  return keys;
}

} // namespace

TEST_CASE("render_json writes the DESIGN 5 shape exactly", "[render][json]")
{
  const std::string text = dm::render::render_json(small_report());

  // The expected document with ordinary number spellings; parsing it and
  // serialising it again gives Boost.JSON's own spelling of the same numbers
  // (`2.5E-1`), so this is an exact comparison of keys, order, kinds and values
  // that does not depend on how a Boost release spells doubles.
  const std::string expected =
      R"({"report":{"id":42,"type":"performance","version":3,"generated_at":"2026-11-09T06:00:00Z",)"
      R"("period":{"from":"2026-11-02T00:00:00Z","to":"2026-11-09T00:00:00Z","tz":"Europe/Paris"},)"
      R"("params":{"exact":"false","service":"api"},"source":"exact"},)"
      R"("kpis":{"requests":1234,"error_rate":0.25},)"
      R"("sections":[{"name":"services","title":"Services","columns":[)"
      R"({"name":"service","type":"text"},{"name":"requests","type":"integer"},)"
      R"({"name":"error_rate","type":"ratio"},{"name":"p99_ms","type":"number"},)"
      R"({"name":"day","type":"date"},{"name":"last_seen","type":"timestamp"}],)"
      R"("rows":[["api",10,0.5,812.25,"2026-11-02","2026-11-02T10:00:00+01:00"],)"
      R"(["say \"hi\"\n",-7,null,3.0,null,null]]}],)"
      R"("recommendations":[{"rule":"p99_above_slo","subject":"api /v1/answers","value":812.25,)"
      R"("threshold":500.0,"text":"p99 is above the SLO"}]})";
  CHECK(text == dm::util::json_text(json::parse(expected)));

  const json::value parsed = json::parse(text);
  CHECK(parsed == json::parse(expected));
  const json::object& top = parsed.as_object();
  CHECK(keys_of(top) == std::vector<std::string>{"report", "kpis", "sections", "recommendations"});
  CHECK(keys_of(top.at("report").as_object()) ==
        std::vector<std::string>{"id", "type", "version", "generated_at", "period", "params", "source"});
  CHECK(keys_of(top.at("report").at("period").as_object()) == std::vector<std::string>{"from", "to", "tz"});
  const json::object& section = top.at("sections").at(0).as_object();
  CHECK(keys_of(section) == std::vector<std::string>{"name", "title", "columns", "rows"});
  CHECK(keys_of(top.at("recommendations").at(0).as_object()) ==
        std::vector<std::string>{"rule", "subject", "value", "threshold", "text"});
  // Kinds survive: integers stay integers, doubles stay doubles (3.0 too).
  CHECK(section.at("rows").at(0).at(1).is_int64());
  CHECK(section.at("rows").at(1).at(3).is_double());
  CHECK(section.at("rows").at(1).at(3).as_double() == 3.0);
}

TEST_CASE("render_json to a stream writes the same text", "[render][json]")
{
  std::ostringstream os;
  dm::render::render_json(small_report(), os);
  CHECK(os.str() == dm::render::render_json(small_report()));
}

TEST_CASE("render_json of an empty report keeps every key", "[render][json]")
{
  Report r;
  r.type = ReportType::learning;
  const json::value v = json::parse(dm::render::render_json(r));
  CHECK(v.at("report").at("id").as_int64() == 0);
  CHECK(v.at("report").at("version").as_int64() == 0);
  CHECK(v.at("report").at("generated_at").as_string() == "1970-01-01T00:00:00Z");
  CHECK(v.at("report").at("period").at("tz").as_string() == "UTC");
  CHECK(v.at("report").at("params").as_object().empty());
  CHECK(v.at("report").at("source").as_string() == "rollup");
  CHECK(v.at("kpis").as_object().empty());
  CHECK(v.at("sections").as_array().empty());
  CHECK(v.at("recommendations").as_array().empty());
}

TEST_CASE("render_json writes integers beyond 2^53 as strings", "[render][json]")
{
  constexpr std::int64_t two_53 = std::int64_t{1} << 53;
  Report r;
  r.id = two_53 + 1;
  r.kpis = {plain_kpi("exact", two_53), plain_kpi("big", two_53 + 1), plain_kpi("small", -two_53),
            plain_kpi("very_small", -two_53 - 1)};
  Section s;
  s.name = "n";
  s.columns = {{"v", ColumnType::integer, ""}};
  for (std::int64_t v : {std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min(),
                         two_53, -two_53 - 1, std::int64_t{0}})
    s.rows.push_back({v});
  r.sections.push_back(s);

  const std::string text = dm::render::render_json(r);
  const json::value v = json::parse(text);
  CHECK(v.at("report").at("id").as_string() == "9007199254740993");
  CHECK(v.at("kpis").at("exact").as_int64() == two_53);
  CHECK(v.at("kpis").at("big").as_string() == "9007199254740993");
  CHECK(v.at("kpis").at("small").as_int64() == -two_53);
  CHECK(v.at("kpis").at("very_small").as_string() == "-9007199254740993");
  const json::array& rows = v.at("sections").at(0).at("rows").as_array();
  CHECK(rows.at(0).at(0).as_string() == "9223372036854775807");
  CHECK(rows.at(1).at(0).as_string() == "-9223372036854775808");
  CHECK(rows.at(2).at(0).as_int64() == two_53);
  CHECK(rows.at(3).at(0).as_string() == "-9007199254740993");
  CHECK(rows.at(4).at(0).as_int64() == 0);
  CHECK(text.find(R"("kpis":{"exact":9007199254740992,"big":"9007199254740993")") != std::string::npos);
}

TEST_CASE("render_json writes NaN and infinities as null", "[render][json]")
{
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  Report r;
  r.kpis = {plain_kpi("nan", nan, ColumnType::number), plain_kpi("inf", -inf, ColumnType::number),
            compared_kpi("compared", nan, inf, nan, Trend::flat), plain_kpi("minus_zero", -0.0, ColumnType::number)};
  Section s;
  s.name = "n";
  s.columns = {{"a", ColumnType::number, ""}, {"b", ColumnType::ratio, ""}, {"c", ColumnType::number, ""}};
  s.rows = {{nan, inf, -inf}};
  r.sections.push_back(s);
  r.recommendations.push_back({"rule", "subject", nan, inf, "text"});

  std::string text;
  REQUIRE_NOTHROW(text = dm::render::render_json(r));
  CHECK(text.find("NaN") == std::string::npos);
  CHECK(text.find("Infinity") == std::string::npos);
  const json::value v = json::parse(text);
  CHECK(v.at("kpis").at("nan").is_null());
  CHECK(v.at("kpis").at("inf").is_null());
  CHECK(v.at("kpis").at("compared").at("value").is_null());
  CHECK(v.at("kpis").at("compared").at("previous").is_null());
  CHECK(v.at("kpis").at("compared").at("change").is_null());
  CHECK(v.at("kpis").at("minus_zero").as_double() == 0.0);
  CHECK_FALSE(std::signbit(v.at("kpis").at("minus_zero").as_double()));
  CHECK(v.at("sections").at(0).at("rows").at(0) == json::array{nullptr, nullptr, nullptr});
  CHECK(v.at("recommendations").at(0).at("value").is_null());
  CHECK(v.at("recommendations").at(0).at("threshold").is_null());
}

TEST_CASE("render_json writes business KPIs as value/previous/change/trend objects", "[render][json]")
{
  Report r;
  r.type = ReportType::business;
  r.kpis = {compared_kpi("revenue_cents", std::int64_t{1200}, std::int64_t{1000}, 0.2, Trend::up),
            compared_kpi("new_paying_users", std::int64_t{5}, std::int64_t{0}, std::nullopt, Trend::up),
            compared_kpi("churn_rate", 0.1, 0.2, -0.5, Trend::down),
            compared_kpi("mrr_cents", std::int64_t{500}, std::int64_t{501}, -1.0 / 501, Trend::flat)};

  const std::string text = dm::render::render_json(r);
  const json::value v = json::parse(text);
  const json::object& kpis = v.at("kpis").as_object();
  CHECK(keys_of(kpis) == std::vector<std::string>{"revenue_cents", "new_paying_users", "churn_rate", "mrr_cents"});
  CHECK(keys_of(kpis.at("revenue_cents").as_object()) ==
        std::vector<std::string>{"value", "previous", "change", "trend"});
  CHECK(kpis.at("revenue_cents") == json::parse(R"({"value":1200,"previous":1000,"change":0.2,"trend":"up"})"));
  CHECK(kpis.at("new_paying_users") == json::parse(R"({"value":5,"previous":0,"change":null,"trend":"up"})"));
  CHECK(kpis.at("churn_rate") == json::parse(R"({"value":0.1,"previous":0.2,"change":-0.5,"trend":"down"})"));
  CHECK(kpis.at("mrr_cents").at("trend").as_string() == "flat");
  // Doubles read back exactly.
  CHECK(kpis.at("mrr_cents").at("change").as_double() == -1.0 / 501);
  CHECK(text.find(R"("change":null)") != std::string::npos);
}

TEST_CASE("render_json refuses a row whose width differs from its columns", "[render][json]")
{
  Report r;
  Section s;
  s.name = "daily";
  s.columns = {{"day", ColumnType::date, ""}, {"n", ColumnType::integer, ""}};
  s.rows = {{std::string("2026-11-02"), std::int64_t{1}}, {std::string("2026-11-03")}};
  r.sections.push_back(s);
  CHECK_THROWS_WITH(dm::render::render_json(r), "row 1 of section 'daily' has 1 cells for 2 columns");
}
