#pragma once
// The KPIs of a report as a grid of tiles.

#include "dm/report/report.hpp"

#include <vector>

namespace dm::render::pdf {

class PageFlow;
struct Theme;

/// Draws `kpis` below the cursor as tiles, four to a row: label, formatted
/// value, and for KPIs with a comparison a trend arrow (green triangle up,
/// red triangle down, grey bar for flat), the change in percent ("n/a" when
/// there is none) and the previous value. Rows break across pages whole.
void draw_kpi_tiles(PageFlow& flow, const Theme& theme, const std::vector<report::Kpi>& kpis);

} // namespace dm::render::pdf
