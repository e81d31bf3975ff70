#include "dm/render/pdf_renderer.hpp"

#include "dm/render/pdf_document.hpp"
#include "dm/render/pdf_format.hpp"
#include "dm/render/pdf_text.hpp"
#include "dm/render/pdf_theme.hpp"
#include "dm/render/pdf_utf8.hpp"
#include "dm/util/error.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

using namespace dm::report;
namespace pdf = dm::render::pdf;
namespace fs = std::filesystem;

namespace {

constexpr dm::util::Micros day = dm::util::micros_per_day;
/// 2026-11-02T00:00:00Z, a Monday.
constexpr dm::util::Micros monday = dm::util::days_from_civil(2026, 11, 2) * day;

/// A folder under /tmp removed at the end of the test.
class TempDir {
public:
  TempDir()
  {
    std::string pattern = (fs::temp_directory_path() / "dm-pdf-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir()
  {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  fs::path write(const std::string& name, const std::string& bytes) const
  {
    const fs::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << bytes;
    return file;
  }

private:
  fs::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

/// Runs `command` through the shell; stdout is captured, stderr discarded
/// (poppler warns about libharu's ToUnicode CMaps there).
CommandResult run(const std::string& command)
{
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string pdftotext(const fs::path& file)
{
  const CommandResult r = run("pdftotext -enc UTF-8 '" + file.string() + "' -");
  REQUIRE(r.exit_code == 0);
  return r.output;
}

int page_count(const fs::path& file)
{
  const CommandResult r = run("pdfinfo '" + file.string() + "'");
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(r.output);
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind("Pages:", 0) == 0)
      return std::stoi(line.substr(6));
  FAIL("pdfinfo printed no page count: " << r.output);
  return 0;
}

bool qpdf_check(const fs::path& file)
{
  return run("qpdf --check '" + file.string() + "'").exit_code == 0;
}

std::size_t occurrences(const std::string& text, const std::string& needle)
{
  std::size_t count = 0;
  for (std::size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size()))
    ++count;
  return count;
}

Kpi kpi(std::string name, std::string label, ColumnType type, Cell value)
{
  Kpi k;
  k.name = std::move(name);
  k.label = std::move(label);
  k.type = type;
  k.value = std::move(value);
  return k;
}

Kpi compared(Kpi k, Cell previous, std::optional<double> change, Trend trend)
{
  k.has_comparison = true;
  k.previous = std::move(previous);
  k.change = change;
  k.trend = trend;
  return k;
}

std::string iso_day(std::int64_t days)
{
  const auto d = dm::util::civil_from_days(days);
  std::array<char, 16> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%04lld-%02u-%02u", static_cast<long long>(d.year), d.month, d.day);
  return buffer.data();
}

Section daily_section(int days)
{
  Section s;
  s.name = "daily";
  s.title = "Daily activity";
  s.columns = {{"day", ColumnType::date, "Day"},
               {"active_users", ColumnType::integer, "Active users"},
               {"sessions", ColumnType::integer, "Sessions"},
               {"questions", ColumnType::integer, "Questions"}};
  for (int i = 0; i < days; ++i)
    s.rows.push_back({iso_day(monday / day + i), std::int64_t{1200 + 37 * (i % 5)}, std::int64_t{2100 + 55 * i},
                      std::int64_t{14000 + 900 * (i % 3)}});
  s.chart = Chart::line;
  s.chart_x = "day";
  s.chart_y = {"active_users", "sessions"};
  return s;
}

Section topics_section()
{
  Section s;
  s.name = "topics";
  s.title = "Topics";
  s.columns = {{"topic", ColumnType::text, "Topic"},
               {"answered", ColumnType::integer, "Answered"},
               {"accuracy", ColumnType::ratio, "Accuracy"},
               {"avg_answer_ms", ColumnType::number, "Avg answer (ms)"},
               {"users", ColumnType::integer, "Users"},
               {"accuracy_change", ColumnType::ratio, "Accuracy change"}};
  s.rows = {
      {std::string("Überholen"), std::int64_t{48211}, 0.812, 6123.4, std::int64_t{3011}, 0.021},
      {std::string("Persönliche Voraussetzungen"), std::int64_t{30877}, 0.9012, 4211.0, std::int64_t{2901}, -0.013},
      {std::string("Vorfahrt"), std::int64_t{52001}, 0.655, 7012.9, std::int64_t{3322}, 0.0},
      {std::string("Verkehrszeichen mit einer sehr langen Bezeichnung, die nicht in die Spalte passt und "
                   "abgeschnitten werden muss"),
       std::int64_t{1200}, 0.7, Cell{}, std::int64_t{80}, Cell{}},
  };
  s.chart = Chart::bar;
  s.chart_x = "topic";
  s.chart_y = {"answered"};
  return s;
}

Report engagement_report()
{
  Report r;
  r.id = 42;
  r.type = ReportType::engagement;
  r.version = 3;
  r.generated_at = monday + 7 * day + 6 * dm::util::micros_per_hour + 12 * dm::util::micros_per_minute;
  r.period = {monday, monday + 7 * day, "Europe/Berlin"};
  r.params = {{"exact", "false"}};
  r.source = "rollup";
  r.kpis = {
      kpi("active_users", "Active users", ColumnType::integer, std::int64_t{12345}),
      kpi("dau_avg", "Average daily active users", ColumnType::number, 1834.2857),
      kpi("stickiness", "Stickiness", ColumnType::ratio, 0.1873),
      kpi("sessions", "Sessions", ColumnType::integer, std::int64_t{45678}),
      kpi("avg_session_minutes", "Avg session minutes", ColumnType::number, 12.34),
      kpi("new_users", "New users", ColumnType::integer, std::int64_t{987}),
  };
  r.sections = {daily_section(7), topics_section()};
  return r;
}

Report business_report()
{
  Report r;
  r.type = ReportType::business;
  r.generated_at = monday + 7 * day;
  r.period = {monday, monday + 7 * day, "UTC"};
  r.source = "exact";
  r.kpis = {
      compared(kpi("revenue_cents", "Revenue (cents)", ColumnType::integer, std::int64_t{1'234'567}),
               std::int64_t{1'184'700}, 0.0421, Trend::up),
      compared(kpi("churn_rate", "Churn rate", ColumnType::ratio, 0.031), 0.04, -0.225, Trend::down),
      compared(kpi("arpu_cents", "ARPU (cents)", ColumnType::number, 412.5), 411.0, 0.0036, Trend::flat),
      compared(kpi("new_paying_users", "New paying users", ColumnType::integer, std::int64_t{17}), std::int64_t{0},
               std::nullopt, Trend::up),
  };
  Section plans;
  plans.name = "plans";
  plans.title = "Plans";
  plans.columns = {{"plan", ColumnType::text, "Plan"},
                   {"subscribers_at_to", ColumnType::integer, "Subscribers"},
                   {"revenue_cents", ColumnType::integer, "Revenue (cents)"}};
  plans.rows = {{std::string("monthly"), std::int64_t{1200}, std::int64_t{899'000}},
                {std::string("quarterly"), std::int64_t{410}, std::int64_t{301'000}},
                {std::string("lifetime"), std::int64_t{95}, std::int64_t{34'567}}};
  plans.chart = Chart::bar;
  plans.chart_x = "plan";
  plans.chart_y = {"revenue_cents"};
  Section daily = daily_section(30);
  daily.name = "daily_revenue";
  daily.title = "Daily revenue";
  r.sections = {daily, plans};
  return r;
}

/// A performance report whose endpoint table runs over 20+ pages.
Report long_report(std::size_t rows)
{
  Report r;
  r.type = ReportType::performance;
  r.generated_at = monday + day;
  r.period = {monday, monday + day, "UTC"};
  r.kpis = {kpi("requests", "Requests", ColumnType::integer, std::int64_t{9'876'543})};
  Section s;
  s.name = "endpoints";
  s.title = "Endpoints";
  s.columns = {{"service", ColumnType::text, "Service"},     {"endpoint", ColumnType::text, "Endpoint"},
               {"requests", ColumnType::integer, "Requests"}, {"rps", ColumnType::number, "Requests per second"},
               {"error_rate", ColumnType::ratio, "Errors"},   {"p99_ms", ColumnType::number, "p99 (ms)"}};
  for (std::size_t i = 0; i < rows; ++i)
    s.rows.push_back({std::string("api"), "/v1/endpoint/" + std::to_string(i + 1),
                      static_cast<std::int64_t>(1'000'000 - i), 11.574 - static_cast<double>(i) * 0.001,
                      0.0012 * static_cast<double>(i % 7), 250.0 + static_cast<double>(i % 97)});
  s.rows.back()[1] = std::string("/v1/last-row-marker");
  r.sections = {s};
  r.recommendations = {{"p99_above_slo", "api /v1/answers", 812.4, 500,
                        "The p99 latency of /v1/answers is above its objective on most hours of the period; "
                        "look at the slowest queries behind it and at the connection pool size."}};
  return r;
}

} // namespace

TEST_CASE("numbers are formatted for people", "[render][pdf]")
{
  CHECK(pdf::group_thousands(0) == "0");
  CHECK(pdf::group_thousands(999) == "999");
  CHECK(pdf::group_thousands(1000) == "1,000");
  CHECK(pdf::group_thousands(-1234567) == "-1,234,567");
  CHECK(pdf::group_thousands(std::numeric_limits<std::int64_t>::min()) == "-9,223,372,036,854,775,808");
  CHECK(pdf::format_grouped(12345.678, 1) == "12,345.7");
  CHECK(pdf::format_grouped(-0.04, 1) == "0.0");
  CHECK(pdf::format_grouped(std::nan(""), 2) == "n/a");
  CHECK(pdf::format_grouped(-std::numeric_limits<double>::infinity(), 2) == "n/a");
  CHECK(pdf::format_percent(0.8734, 1) == "87.3 %");
  CHECK(pdf::format_change(0.0421) == "+4.2 %");
  CHECK(pdf::format_change(-0.005) == "-0.5 %");
  CHECK(pdf::format_change(0.0) == "0.0 %");
  CHECK(pdf::format_change(std::nullopt) == "n/a");
  CHECK(pdf::format_change(std::numeric_limits<double>::infinity()) == "n/a");

  CHECK(pdf::format_cell(std::int64_t{48211}, ColumnType::integer, 0) == "48,211");
  CHECK(pdf::format_cell(48211.6, ColumnType::integer, 0) == "48,212");
  CHECK(pdf::format_cell(0.655, ColumnType::ratio, 0) == "65.5 %");
  CHECK(pdf::format_cell(6123.44, ColumnType::number, pdf::decimals_for(6123.44)) == "6,123");
  CHECK(pdf::format_cell(11.574, ColumnType::number, pdf::decimals_for(11.574)) == "11.57");
  CHECK(pdf::format_cell(0.0123, ColumnType::number, pdf::decimals_for(0.0123)) == "0.0123");
  CHECK(pdf::format_cell(Cell{}, ColumnType::integer, 0) == "\u2013");
  CHECK(pdf::format_cell(std::numeric_limits<double>::quiet_NaN(), ColumnType::ratio, 0) == "n/a");
  CHECK(pdf::format_cell(1e300, ColumnType::integer, 0).size() > 300);
}

TEST_CASE("axis ticks are round and cover the data", "[render][pdf]")
{
  const auto ticks = pdf::nice_ticks(0, 1234, 8, true);
  REQUIRE(ticks.values.size() >= 3);
  CHECK(ticks.values.size() <= 8);
  CHECK(ticks.values.front() == 0);
  CHECK(ticks.values.back() == 1400);
  CHECK(ticks.values[1] - ticks.values[0] == Approx(200));
  CHECK(ticks.decimals == 0);
  CHECK(pdf::nice_ticks(0, 1234, 6, true).values == std::vector<double>{0, 500, 1000, 1500});
  CHECK(pdf::nice_ticks(-3.2, 7.9, 6, false).values == std::vector<double>{-5, 0, 5, 10});
  CHECK(pdf::nice_ticks(0, 3, 6, true).values == std::vector<double>{0, 1, 2, 3});

  const auto ratio = pdf::nice_ticks(0, 0.83, 6, false);
  CHECK(ratio.values.back() == Approx(1.0));
  CHECK(pdf::format_tick(ratio.values[1], ColumnType::ratio, ratio.decimals) == "20 %");

  const auto flat = pdf::nice_ticks(5, 5, 6, true);
  CHECK(flat.values.front() == 0);
  CHECK(flat.values.back() >= 5);
  CHECK(pdf::nice_ticks(std::nan(""), 1, 6, false).values.size() >= 2);
  CHECK(pdf::nice_ticks(-1e308, 1e308, 6, false).values.size() >= 2);

  const auto right = pdf::aligned_ticks(ticks, 0, 0.05);
  REQUIRE(right);
  REQUIRE(right->values.size() == ticks.values.size());
  CHECK(right->values.front() == 0);
  CHECK(right->values[1] == Approx(0.01));
  CHECK(right->values.back() >= 0.05);
  CHECK(pdf::format_tick(right->values[1], ColumnType::ratio, right->decimals) == "1 %");
  const auto around_zero = pdf::aligned_ticks(pdf::nice_ticks(-3.2, 7.9, 6, false), -0.3, 0.2);
  REQUIRE(around_zero);
  CHECK(around_zero->values == std::vector<double>{-0.5, 0, 0.5, 1});
  CHECK_FALSE(pdf::aligned_ticks(pdf::Ticks{{1, 2, 3}, 0}, 0, 1));
  CHECK_FALSE(pdf::aligned_ticks(pdf::Ticks{{-2, -1, 0}, 0}, 0, 1));

  CHECK(pdf::category_label("2026-11-02", ColumnType::date) == "2 Nov");
  CHECK(pdf::category_label("2026-11-02T08:00:00+01:00", ColumnType::timestamp) == "2 Nov 08:00");
  CHECK(pdf::category_label("week 3", ColumnType::date) == "week 3");
}

TEST_CASE("text is made printable and fitted with an ellipsis", "[render][pdf]")
{
  CHECK(pdf::printable("Überholen") == "Überholen");
  CHECK(pdf::printable("a\tb\nc") == "a b c");
  CHECK(pdf::printable("bad \xC3 byte") == "bad \uFFFD byte");
  CHECK(pdf::printable("\xF0\x9F\x9A\x97 car") == "\uFFFD car");

  pdf::Document doc{dm::render::PdfOptions{}};
  const pdf::Theme theme(doc);
  const std::string long_text = "Persönliche Voraussetzungen und Verantwortung des Fahrzeugführers";
  const float full = pdf::text_width(theme.body, long_text);
  CHECK(full > 100);
  CHECK(pdf::text_width(theme.body, "Überholen") > 0);
  const std::string fitted = pdf::fit_text(long_text, theme.body, 100);
  CHECK(pdf::text_width(theme.body, fitted) <= 100);
  CHECK(fitted.rfind("Persönliche", 0) == 0);
  CHECK(fitted.size() > std::string(pdf::ellipsis).size());
  CHECK(fitted.substr(fitted.size() - 3) == pdf::ellipsis);
  CHECK(pdf::fit_text(long_text, theme.body, full + 1) == long_text);
  CHECK(pdf::fit_text(long_text, theme.body, 1).empty());

  const auto lines = pdf::wrap_text(long_text, theme.body, 120);
  CHECK(lines.size() >= 3);
  for (const auto& line : lines)
    CHECK(pdf::text_width(theme.body, line) <= 120);
  const auto two = pdf::wrap_text(long_text, theme.body, 120, 2);
  REQUIRE(two.size() == 2);
  CHECK(two.back().substr(two.back().size() - 3) == pdf::ellipsis);
}

TEST_CASE("a report renders as a valid PDF with its text", "[render][pdf]")
{
  const TempDir dir;
  const Report report = engagement_report();
  const auto file = dir.write("engagement.pdf", dm::render::render_pdf(report));
  CHECK(qpdf_check(file));
  CHECK(page_count(file) == 1);

  const std::string text = pdftotext(file);
  CHECK(text.find("Engagement report") != std::string::npos);
  CHECK(text.find("12,345") != std::string::npos);
  CHECK(text.find("18.7 %") != std::string::npos);
  CHECK(text.find("1,834") != std::string::npos);
  CHECK(text.find("Überholen") != std::string::npos);
  CHECK(text.find("Persönliche Voraussetzungen") != std::string::npos);
  CHECK(text.find("Daily activity") != std::string::npos);
  CHECK(text.find("Active users") != std::string::npos);
  CHECK(text.find("2 Nov") != std::string::npos);
  CHECK(text.find("Page 1 of 1") != std::string::npos);
  CHECK(text.find("2026-11-02 01:00") != std::string::npos); // the period in Europe/Berlin
  CHECK(text.find("Europe/Berlin") != std::string::npos);
  CHECK(text.find("rollup") != std::string::npos);
  CHECK(text.find("\u2026") != std::string::npos); // the over-long topic is cut
}

TEST_CASE("KPIs with a comparison show the change", "[render][pdf]")
{
  const TempDir dir;
  const auto file = dir.write("business.pdf", dm::render::render_pdf(business_report()));
  CHECK(qpdf_check(file));
  const std::string text = pdftotext(file);
  CHECK(text.find("Business report") != std::string::npos);
  CHECK(text.find("1,234,567") != std::string::npos);
  CHECK(text.find("+4.2 %") != std::string::npos);
  CHECK(text.find("-22.5 %") != std::string::npos);
  CHECK(text.find("+0.4 %") != std::string::npos);
  CHECK(text.find("n/a") != std::string::npos);
  CHECK(text.find("vs 1,184,700") != std::string::npos);
}

TEST_CASE("a long section paginates with repeated headers", "[render][pdf]")
{
  const TempDir dir;
  const Report report = long_report(1100);

  const auto start = std::chrono::steady_clock::now();
  const std::string bytes = dm::render::render_pdf(report);
  const auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
  std::cout << "render_pdf: " << report.sections.front().rows.size() << " rows in " << elapsed.count() << " ms, "
            << bytes.size() << " bytes\n";
  CHECK(elapsed.count() < 1000);

  const auto file = dir.write("long.pdf", bytes);
  CHECK(qpdf_check(file));
  const int pages = page_count(file);
  std::cout << "render_pdf: " << pages << " pages\n";
  CHECK(pages >= 20);
  CHECK(pages <= 25);

  const std::string text = pdftotext(file);
  CHECK(text.find("/v1/last-row-marker") != std::string::npos);
  CHECK(text.find("/v1/endpoint/1099") != std::string::npos);
  CHECK(text.find("Page 1 of " + std::to_string(pages)) != std::string::npos);
  CHECK(text.find("Page " + std::to_string(pages) + " of " + std::to_string(pages)) != std::string::npos);
  // The header row on every page of the table, "(continued)" on all but the first.
  CHECK(occurrences(text, "p99 (ms)") == static_cast<std::size_t>(pages));
  CHECK(occurrences(text, "Endpoints (continued)") >= static_cast<std::size_t>(pages - 2));
  CHECK(text.find("p99_above_slo") != std::string::npos);
  CHECK(text.find("value 812.4 vs threshold 500.0") != std::string::npos);
}

TEST_CASE("an empty section prints a line instead of a table", "[render][pdf]")
{
  const TempDir dir;
  Report report = engagement_report();
  report.sections.front().rows.clear();
  report.sections.back().rows.clear();
  Section no_columns;
  no_columns.name = "cohorts";
  no_columns.title = "Cohorts";
  report.sections.push_back(no_columns);
  report.kpis.clear();

  const auto file = dir.write("empty.pdf", dm::render::render_pdf(report));
  CHECK(qpdf_check(file));
  const std::string text = pdftotext(file);
  CHECK(occurrences(text, "No data for this period") == 3);
  CHECK(text.find("Cohorts") != std::string::npos);
}

TEST_CASE("NaN and infinity print as n/a", "[render][pdf]")
{
  const TempDir dir;
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  constexpr double inf = std::numeric_limits<double>::infinity();
  Report report = business_report();
  report.kpis.front().value = nan;
  report.kpis.front().type = ColumnType::number;
  report.kpis[1].change = inf;
  report.kpis.push_back(kpi("x", "Infinite", ColumnType::ratio, -inf));
  for (auto& row : report.sections.front().rows)
    row[1] = nan; // a whole chart series without a finite value
  report.sections.back().rows[1][2] = inf;
  report.sections.back().rows[2][2] = nan;
  report.recommendations = {{"rule", "subject", nan, inf, "text"}};

  std::string bytes;
  REQUIRE_NOTHROW(bytes = dm::render::render_pdf(report));
  const auto file = dir.write("nan.pdf", bytes);
  CHECK(qpdf_check(file));
  const std::string text = pdftotext(file);
  CHECK(occurrences(text, "n/a") >= 5);
  CHECK(text.find("nan") == std::string::npos);
  CHECK(text.find("inf") == std::string::npos);
}

TEST_CASE("a recommendation longer than a page continues on the next", "[render][pdf]")
{
  const TempDir dir;
  Report report = long_report(1);
  std::string text;
  for (int i = 0; i < 1500; ++i)
    text += "lengthy explanation ";
  report.recommendations.front().text = text + "closing-word";

  const auto file = dir.write("recommendation.pdf", dm::render::render_pdf(report));
  CHECK(qpdf_check(file));
  CHECK(page_count(file) >= 3);
  CHECK(pdftotext(file).find("closing-word") != std::string::npos);
}

TEST_CASE("the same report renders the same bytes", "[render][pdf]")
{
  const Report report = engagement_report();
  const std::string first = dm::render::render_pdf(report);
  const std::string second = dm::render::render_pdf(report);
  CHECK(first == second);

  std::ostringstream stream;
  dm::render::render_pdf(report, stream);
  CHECK(stream.str() == first);

  Report later = report;
  later.generated_at += dm::util::micros_per_hour;
  CHECK(dm::render::render_pdf(later) != first);
}

TEST_CASE("a missing font is an error naming its path", "[render][pdf]")
{
  dm::render::PdfOptions options;
  options.bold_font = "/nonexistent/fonts/Missing-Bold.ttf";
  try {
    (void)dm::render::render_pdf(engagement_report(), options);
    FAIL("render_pdf did not throw");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("/nonexistent/fonts/Missing-Bold.ttf") != std::string::npos);
  }
}

TEST_CASE("a file that is no TrueType font is rejected naming its path", "[render][pdf]")
{
  const TempDir dir;
  dm::render::PdfOptions options;
  options.regular_font = dir.write("broken.ttf", "not a font, but long enough to have a header").string();
  try {
    (void)dm::render::render_pdf(engagement_report(), options);
    FAIL("render_pdf did not throw");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find(options.regular_font) != std::string::npos);
  }
}

TEST_CASE("libharu errors become PdfError with their numbers", "[render][pdf]")
{
  pdf::Document doc{dm::render::PdfOptions{}};
  HPDF_Page page = doc.add_page();
  HPDF_Page_SetLineWidth(page, -1);
  try {
    doc.check();
    FAIL("check() did not throw");
  } catch (const dm::render::PdfError& e) {
    CHECK(e.error_no() == HPDF_PAGE_OUT_OF_RANGE);
    CHECK(std::string(e.what()).find("libharu error 0x") != std::string::npos);
    CHECK(std::string(e.what()).find("detail") != std::string::npos);
  }
}
