#pragma once
// The chart drawn above a section's table (DESIGN 5): a line chart for time
// series, a horizontal bar chart for categories, from libharu primitives.

#include "dm/report/report.hpp"

namespace dm::render::pdf {

class PageFlow;
struct Theme;

/// Height of the chart drawn for `section`: 0 when it has none or it cannot
/// be drawn (no rows, chart_x or every chart_y naming no column, no finite
/// value to plot).
float chart_height(const report::Section& section);

/// Draws the section's chart below the cursor and advances past it. The
/// caller has made room for chart_height(); does nothing when that is 0.
///
/// Line: every chart_y column against chart_x, rows in order as evenly spaced
/// categories, y axis from round ticks including 0, a legend, gaps for NULL
/// and non-finite values; ratio columns plotted with others get a percent
/// axis on the right, its ticks lined up with the left one. Bar: chart_y[0] per chart_x category as horizontal
/// bars, the first bar_chart_max_bars rows in row order.
void draw_chart(PageFlow& flow, const Theme& theme, const report::Section& section);

/// Bars beyond this many rows are left out (and the caption says so): a
/// chart is for seeing the leaders; the table lists everything.
inline constexpr std::size_t bar_chart_max_bars = 25;

} // namespace dm::render::pdf
