// dm_pdf_bench [PAGES]: renders a report whose table fills about PAGES pages
// (default 20) ten times and prints the median render time in milliseconds.

#include "dm/render/pdf_renderer.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>

int main(int argc, char** argv)
{
  const int pages = argc > 1 ? std::atoi(argv[1]) : 20;
  dm::report::Report r;
  r.type = dm::report::ReportType::learning;
  r.generated_at = *dm::util::parse_date_or_timestamp("2026-11-01T06:00:00Z");
  r.period = {*dm::util::parse_date_or_timestamp("2026-10-01"), *dm::util::parse_date_or_timestamp("2026-11-01"), "Europe/Berlin"};
  for (int i = 0; i < 6; ++i) {
    dm::report::Kpi k;
    k.name = fmt::format("kpi_{}", i);
    k.label = fmt::format("KPI {}", i);
    k.value = std::int64_t{1000 * i};
    r.kpis.push_back(k);
  }
  dm::report::Section s;
  s.name = "topics";
  s.title = "Topics";
  s.columns = {{"topic", dm::report::ColumnType::text, "Topic"},
               {"answered", dm::report::ColumnType::integer, "Answered"},
               {"accuracy", dm::report::ColumnType::ratio, "Accuracy"},
               {"avg_answer_ms", dm::report::ColumnType::number, "Avg answer (ms)"}};
  s.chart = dm::report::Chart::line;
  s.chart_x = "topic";
  s.chart_y = {"answered"};
  // About 45 rows fit on a page.
  for (int i = 0; i < pages * 45; ++i)
    s.rows.push_back({fmt::format("Überholen {}", i), std::int64_t{i * 7}, (i % 100) / 100.0, 5000.0 + i});
  r.sections.push_back(s);
  std::vector<double> ms;
  std::size_t bytes = 0;
  for (int run = 0; run < 10; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    bytes = dm::render::render_pdf(r).size();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%.1f ms (median of 10), %zu bytes\n", ms[5], bytes);
  return 0;
}
