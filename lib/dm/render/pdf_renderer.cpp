#include "dm/render/pdf_renderer.hpp"

#include "dm/render/pdf_chart.hpp"
#include "dm/render/pdf_document.hpp"
#include "dm/render/pdf_format.hpp"
#include "dm/render/pdf_kpi_tiles.hpp"
#include "dm/render/pdf_page_flow.hpp"
#include "dm/render/pdf_table.hpp"
#include "dm/render/pdf_text.hpp"
#include "dm/render/pdf_theme.hpp"
#include "dm/render/pdf_utf8.hpp"

#include <exception>
#include <ostream>
#include <stdexcept>
#include <utility>
#include <vector>

namespace dm::render {

namespace {

using pdf::PageFlow;
using pdf::Theme;

constexpr float title_height = 30;
constexpr float fact_line_height = 13;
constexpr float fact_key_width = 70;
constexpr float heading_height = 20;
constexpr float recommendation_line_height = 11.5f;
constexpr float recommendation_indent = 12;

/// The lines of the title block under the title: key and value.
std::vector<std::pair<std::string, std::string>> facts_of(const report::Report& report,
                                                          const pdf::LocalTimes& times)
{
  std::vector<std::pair<std::string, std::string>> facts;
  facts.emplace_back("Period", times.format(report.period.from) + " \u2013 " + times.format(report.period.to) +
                                   "  (" + times.zone() + ")");
  facts.emplace_back("Generated", times.format(report.generated_at, true) + "  (" + times.zone() + ")");
  std::string source = pdf::printable(report.source);
  if (report.id != 0)
    source += "  \u00b7  report #" + std::to_string(report.id) + ", version " + std::to_string(report.version);
  facts.emplace_back("Source", source);
  if (!report.params.empty()) {
    std::string params;
    for (const auto& [key, value] : report.params) {
      if (!params.empty())
        params += ", ";
      params += pdf::printable(key) + "=" + pdf::printable(value);
    }
    facts.emplace_back("Parameters", params);
  }
  return facts;
}

void draw_title_block(PageFlow& flow, const Theme& theme, const std::string& title,
                      const std::vector<std::pair<std::string, std::string>>& facts)
{
  pdf::Canvas& canvas = flow.canvas();
  canvas.text(Theme::content_left, flow.y() - 19, theme.title, title);
  flow.advance(title_height);
  for (const auto& [key, value] : facts) {
    const float baseline = flow.y() - 9;
    canvas.text(Theme::content_left, baseline, theme.label, key);
    canvas.text(Theme::content_left + fact_key_width, baseline, theme.body,
                pdf::fit_text(value, theme.body, Theme::content_width - fact_key_width));
    flow.advance(fact_line_height);
  }
  flow.advance(6);
  flow.canvas().line({Theme::content_left, flow.y()}, {Theme::content_right, flow.y()}, 0.8f, Theme::rule);
  flow.advance(Theme::block_gap);
}

void draw_heading(PageFlow& flow, const Theme& theme, const std::string& text)
{
  flow.canvas().text(Theme::content_left, flow.y() - 12, theme.heading,
                     pdf::fit_text(text, theme.heading, Theme::content_width));
  flow.advance(heading_height);
}

void draw_section(PageFlow& flow, const Theme& theme, const report::Section& section)
{
  const float chart = pdf::chart_height(section);
  // The heading stays with the start of what follows it.
  flow.ensure(heading_height + (chart > 0 ? chart : pdf::table_start_height()));
  draw_heading(flow, theme, pdf::printable(section.title.empty() ? section.name : section.title));
  if (chart > 0) {
    pdf::draw_chart(flow, theme, section);
    flow.advance(8);
  }
  pdf::draw_table(flow, theme, section);
  flow.advance(Theme::block_gap);
}

/// A number of a recommendation, with the precision its magnitude needs.
std::string format_measure(double value)
{
  return pdf::format_grouped(value, pdf::decimals_for(value));
}

void draw_recommendations(PageFlow& flow, const Theme& theme, const std::vector<report::Recommendation>& list)
{
  flow.ensure(heading_height + 3 * recommendation_line_height);
  draw_heading(flow, theme, "Recommendations");
  const float text_left = Theme::content_left + recommendation_indent;
  const float text_width = Theme::content_width - recommendation_indent;
  for (const report::Recommendation& r : list) {
    const std::string title =
        pdf::fit_text(pdf::printable(r.rule) + "  \u00b7  " + pdf::printable(r.subject), theme.body_bold, text_width);
    const std::string measures =
        "value " + format_measure(r.value) + " vs threshold " + format_measure(r.threshold);
    const auto lines = pdf::wrap_text(pdf::printable(r.text), theme.body, text_width);
    // Rule, measures and the first line of text stay together; a text
    // longer than the page continues on the next one.
    flow.ensure(3 * recommendation_line_height);
    pdf::Canvas& canvas = flow.canvas();
    canvas.fill_rect(Theme::content_left, flow.y() - 8.5f, 5, 5, Theme::accent);
    canvas.text(text_left, flow.y() - 9, theme.body_bold, title);
    flow.advance(recommendation_line_height);
    canvas.text(text_left, flow.y() - 9, theme.label, pdf::fit_text(measures, theme.label, text_width));
    flow.advance(recommendation_line_height);
    for (const std::string& line : lines) {
      flow.ensure(recommendation_line_height);
      flow.canvas().text(text_left, flow.y() - 9, theme.body, line);
      flow.advance(recommendation_line_height);
    }
    flow.advance(6);
  }
  flow.advance(Theme::block_gap);
}

} // namespace

std::string render_pdf(const report::Report& report, const PdfOptions& options)
{
  pdf::Document doc(options);
  const Theme theme(doc);
  const pdf::LocalTimes times(report.period.tz);
  const std::string title = report::title_of(report.type);
  doc.set_info(title, report.generated_at);

  PageFlow flow(doc, theme, "DriveMaster \u00b7 " + title,
                times.format(report.period.from) + " \u2013 " + times.format(report.period.to) + "  (" +
                    times.zone() + ")");
  flow.new_page();
  draw_title_block(flow, theme, title, facts_of(report, times));
  pdf::draw_kpi_tiles(flow, theme, report.kpis);
  if (!report.kpis.empty())
    flow.advance(Theme::block_gap - 8);

  for (const report::Section& section : report.sections) {
    // The recommendations read better as the list below than as a table of
    // truncated text; the section repeats them for JSON and CSV.
    if (section.name == "recommendations" && !report.recommendations.empty())
      continue;
    try {
      draw_section(flow, theme, section);
    } catch (...) {
      std::throw_with_nested(std::runtime_error("PDF: rendering section '" + section.name + "'"));
    }
  }
  if (!report.recommendations.empty())
    draw_recommendations(flow, theme, report.recommendations);

  flow.write_footers("DriveMaster \u00b7 " + title);
  return doc.save();
}

void render_pdf(const report::Report& report, std::ostream& out, const PdfOptions& options)
{
  const std::string bytes = render_pdf(report, options);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

} // namespace dm::render
