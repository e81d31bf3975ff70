#pragma once
// The PDF form of a report (DESIGN 5): A4 portrait pages with the title,
// period, generation time and source; KPI tiles with trend arrows; per
// section a chart (line for time series, bars for categories) and a
// paginated table; the recommendations; "Page N of M" on every page. Drawn
// through libharu with DejaVu Sans embedded, so UTF-8 prints as written.

#include "dm/render/pdf_error.hpp"
#include "dm/report/report.hpp"

#include <iosfwd>
#include <string>

namespace dm::render {

/// The TrueType fonts the PDF embeds.
struct PdfOptions {
  std::string regular_font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
  std::string bold_font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
};

/// The PDF bytes of `report`. The same Report renders the same bytes: the
/// document dates come from report.generated_at, never the wall clock.
/// NaN and infinity print as "n/a", sections without rows as "No data for
/// this period". Throws std::runtime_error naming the path when a font file
/// is missing, PdfError when libharu fails (nested in an error naming the
/// section when it happens there).
///
/// Thread-safe: each call builds its own document. CPU-bound (tens of
/// milliseconds), so event-loop callers run it on a worker.
std::string render_pdf(const report::Report& report, const PdfOptions& options = {});

/// Writes render_pdf(report, options) to `out`.
void render_pdf(const report::Report& report, std::ostream& out, const PdfOptions& options = {});

} // namespace dm::render
