#include "dm/render/csv_renderer.hpp"

#include "dm/report/report.hpp"
#include "dm/util/error.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <streambuf>
#include <string>

using namespace dm::report;

namespace {

Report report_with(Section s, ReportType type = ReportType::engagement)
{
  Report r;
  r.type = type;
  r.sections.push_back(std::move(s));
  return r;
}

std::string csv(const Report& r, std::string_view section)
{
  std::ostringstream os;
  dm::render::render_csv(r, section, os);
  return os.str();
}

Section tricky_section()
{
  Section s;
  s.name = "segments";
  s.title = "Segments";
  s.columns = {{"value", ColumnType::text, ""},   {"n", ColumnType::integer, ""}, {"share", ColumnType::ratio, ""},
               {"day", ColumnType::date, ""}};
  s.rows = {
      {std::string("plain"), std::int64_t{-3}, -0.5, std::string("2026-11-02")},
      {std::string("a,b"), std::int64_t{0}, 0.1, std::monostate{}},
      {std::string("say \"hi\""), std::int64_t{1234567890123}, 1.0 / 3, std::string("")},
      {std::string("two\nlines"), std::monostate{}, 3.0, std::string("-2026-11-02")},
      {std::string("=SUM(A1)"), std::numeric_limits<std::int64_t>::min(), 1e300, std::string("x")},
      {std::string("+1"), std::int64_t{1}, std::numeric_limits<double>::quiet_NaN(), std::string("x")},
      {std::string("-x"), std::int64_t{1}, std::numeric_limits<double>::infinity(), std::string("x")},
      {std::string("@x"), std::int64_t{1}, -0.0, std::string("x")},
      {std::string("\tx"), std::int64_t{1}, 1e-7, std::string("x")},
      {std::string("\rx"), std::int64_t{1}, 0.25, std::string("x")},
      {std::string("=\"a\",b"), std::int64_t{1}, 100.0, std::string("x")},
      {std::string("mid-dash = fine"), std::int64_t{1}, 2.5, std::string("x")},
  };
  return s;
}

/// A stream buffer that counts what it is given and keeps none of it.
class CountingBuf : public std::streambuf {
public:
  std::size_t bytes = 0;
  std::size_t lines = 0;
  std::size_t writes = 0;

protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override
  {
    ++writes;
    for (std::streamsize i = 0; i < n; ++i)
      count(s[i]);
    return n;
  }
  int_type overflow(int_type c) override
  {
    if (!traits_type::eq_int_type(c, traits_type::eof()))
      count(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }

private:
  void count(char c)
  {
    ++bytes;
    if (c == '\n')
      ++lines;
  }
};

} // namespace

TEST_CASE("render_csv quotes, doubles quotes and guards formulas", "[render][csv]")
{
  const std::string expected = "value,n,share,day\r\n"
                               "plain,-3,-0.5,2026-11-02\r\n"
                               "\"a,b\",0,0.1,\r\n"
                               "\"say \"\"hi\"\"\",1234567890123,0.3333333333333333,\r\n"
                               "\"two\nlines\",,3,'-2026-11-02\r\n"
                               "'=SUM(A1),-9223372036854775808,1e+300,x\r\n"
                               "'+1,1,,x\r\n"
                               "'-x,1,,x\r\n"
                               "'@x,1,0,x\r\n"
                               "'\tx,1,1e-07,x\r\n"
                               "\"'\rx\",1,0.25,x\r\n"
                               "\"'=\"\"a\"\",b\",1,100,x\r\n"
                               "mid-dash = fine,1,2.5,x\r\n";
  CHECK(csv(report_with(tricky_section()), "segments") == expected);
}

TEST_CASE("render_csv writes a lone empty field as a quoted empty string", "[render][csv]")
{
  Section s;
  s.name = "one";
  s.columns = {{"v", ColumnType::text, ""}};
  s.rows = {{std::string("")}, {std::monostate{}}, {std::string("x")}};
  CHECK(csv(report_with(s), "one") == "v\r\n\"\"\r\n\"\"\r\nx\r\n");
}

TEST_CASE("render_csv writes kpis as name,value", "[render][csv]")
{
  Report r;
  r.type = ReportType::engagement;
  Kpi users;
  users.name = "active_users";
  users.value = std::int64_t{1200};
  Kpi stickiness;
  stickiness.name = "stickiness";
  stickiness.type = ColumnType::ratio;
  stickiness.value = 0.125;
  Kpi missing;
  missing.name = "avg_session_minutes";
  missing.type = ColumnType::number;
  r.kpis = {users, stickiness, missing};
  r.sections.push_back(tricky_section());
  CHECK(csv(r, "kpis") == "name,value\r\nactive_users,1200\r\nstickiness,0.125\r\navg_session_minutes,\r\n");
}

TEST_CASE("render_csv writes business kpis with previous, change and trend", "[render][csv]")
{
  Report r;
  r.type = ReportType::business;
  Kpi revenue;
  revenue.name = "revenue_cents";
  revenue.value = std::int64_t{1200};
  revenue.has_comparison = true;
  revenue.previous = std::int64_t{1000};
  revenue.change = 0.2;
  revenue.trend = Trend::up;
  Kpi paying;
  paying.name = "new_paying_users";
  paying.value = std::int64_t{4};
  paying.has_comparison = true;
  paying.previous = std::int64_t{0};
  paying.trend = Trend::up;
  Kpi churn;
  churn.name = "churn_rate";
  churn.type = ColumnType::ratio;
  churn.value = 0.05;
  churn.has_comparison = true;
  churn.previous = 0.1;
  churn.change = -0.5;
  churn.trend = Trend::down;
  Kpi plain;
  plain.name = "uncompared";
  plain.value = std::int64_t{-1};
  r.kpis = {revenue, paying, churn, plain};
  CHECK(csv(r, "kpis") == "name,value,previous,change,trend\r\n"
                          "revenue_cents,1200,1000,0.2,up\r\n"
                          "new_paying_users,4,0,,up\r\n"
                          "churn_rate,0.05,0.1,-0.5,down\r\n"
                          "uncompared,-1,,,\r\n");

  Report empty_business;
  empty_business.type = ReportType::business;
  CHECK(csv(empty_business, "kpis") == "name,value,previous,change,trend\r\n");
}

TEST_CASE("render_csv names an unknown section and lists the known ones", "[render][csv]")
{
  Report r = report_with(tricky_section());
  Section daily;
  daily.name = "daily";
  r.sections.push_back(daily);
  std::ostringstream os;
  CHECK_THROWS_AS(dm::render::render_csv(r, "cohort", os), dm::UsageError);
  CHECK_THROWS_WITH(dm::render::render_csv(r, "cohort", os),
                    "unknown section 'cohort' (sections of this engagement report: kpis, segments, daily)");
  CHECK(os.str().empty());
}

TEST_CASE("render_csv refuses a row whose width differs from its columns", "[render][csv]")
{
  Section s;
  s.name = "daily";
  s.columns = {{"day", ColumnType::date, ""}, {"n", ColumnType::integer, ""}};
  s.rows = {{std::string("2026-11-02"), std::int64_t{1}}, {std::string("2026-11-03"), std::int64_t{1}, 0.5}};
  std::ostringstream os;
  CHECK_THROWS_WITH(dm::render::render_csv(report_with(s), "daily", os),
                    "row 1 of section 'daily' has 3 cells for 2 columns");
  CHECK(os.str().empty());
}

TEST_CASE("render_csv streams 100k rows record by record", "[render][csv]")
{
  constexpr std::int64_t n = 100'000;
  Section s;
  s.name = "timeline";
  s.columns = {{"hour", ColumnType::integer, ""}, {"ratio", ColumnType::ratio, ""}};
  s.rows.reserve(n);
  std::size_t expected_bytes = std::string("hour,ratio\r\n").size();
  for (std::int64_t i = 0; i < n; ++i) {
    s.rows.push_back({i, 0.5});
    expected_bytes += std::to_string(i).size() + std::string(",0.5\r\n").size();
  }

  CountingBuf buf;
  std::ostream os(&buf);
  dm::render::render_csv(report_with(s), "timeline", os);
  CHECK(buf.lines == static_cast<std::size_t>(n) + 1);
  CHECK(buf.bytes == expected_bytes);
  // One write per record: nothing is held back to the end.
  CHECK(buf.writes == static_cast<std::size_t>(n) + 1);
}

TEST_CASE("render_csv reports a failing stream", "[render][csv]")
{
  std::ostringstream os;
  os.setstate(std::ios::badbit);
  CHECK_THROWS_AS(dm::render::render_csv(report_with(tricky_section()), "segments", os), std::runtime_error);
}

TEST_CASE("render_csv output reads back through miller", "[render][csv]")
{
  // scripts/bootstrap installs miller: its absence is a broken machine, not a skip.
  if (std::system("command -v mlr >/dev/null 2>&1") != 0)
    FAIL("mlr (miller) is not installed; run scripts/bootstrap");

  const auto dir = std::filesystem::temp_directory_path();
  const std::string stem = "dm_render_csv_" + std::to_string(::getpid());
  const auto csv_path = dir / (stem + ".csv");
  const auto json_path = dir / (stem + ".json");
  {
    std::ofstream out(csv_path, std::ios::binary);
    dm::render::render_csv(report_with(tricky_section()), "segments", out);
  }
  const std::string command = "mlr --icsv --ojson cat '" + csv_path.string() + "' > '" + json_path.string() + "'";
  const int status = std::system(command.c_str());
  std::ifstream in(json_path, std::ios::binary);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::filesystem::remove(csv_path);
  std::filesystem::remove(json_path);
  REQUIRE(status == 0);

  const boost::json::value v = boost::json::parse(text);
  const boost::json::array& rows = v.as_array();
  REQUIRE(rows.size() == tricky_section().rows.size());
  CHECK(rows.at(0).at("value").as_string() == "plain");
  CHECK(rows.at(0).at("n").to_number<std::int64_t>() == -3);
  CHECK(rows.at(1).at("value").as_string() == "a,b");
  CHECK(rows.at(2).at("value").as_string() == "say \"hi\"");
  CHECK(rows.at(3).at("value").as_string() == "two\nlines");
  CHECK(rows.at(4).at("value").as_string() == "'=SUM(A1)");
  CHECK(rows.at(10).at("value").as_string() == "'=\"a\",b");
}
