#pragma once
// A report section as a paginated table.

#include "dm/report/report.hpp"

namespace dm::render::pdf {

class PageFlow;
struct Theme;

/// Height a table needs at the least to start on a page: its header row and
/// two rows. A heading is kept together with this much of its table.
float table_start_height();

/// Draws the rows of `section` below the cursor: a header row (repeated
/// after a "Title (continued)" line on every new page), rows with alternate
/// shading, numbers right-aligned, column widths fitted to the page and
/// over-long text cut with "…". Any number of rows; a section without rows
/// or columns prints "No data for this period" instead.
void draw_table(PageFlow& flow, const Theme& theme, const report::Section& section);

} // namespace dm::render::pdf
