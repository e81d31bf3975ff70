#include "dm/render/pdf_kpi_tiles.hpp"

#include "dm/render/pdf_format.hpp"
#include "dm/render/pdf_page_flow.hpp"
#include "dm/render/pdf_text.hpp"
#include "dm/render/pdf_theme.hpp"
#include "dm/render/pdf_utf8.hpp"

#include <algorithm>
#include <array>

namespace dm::render::pdf {

namespace {

constexpr std::size_t tiles_per_row = 4;
constexpr float tile_gap = 8;
constexpr float tile_height = 46;
constexpr float comparison_height = 15;
constexpr float inner_left = 10;
constexpr float accent_width = 3;
constexpr float arrow_size = 7;
constexpr float min_value_size = 8;

Rgb trend_colour(report::Trend trend) noexcept
{
  switch (trend) {
  case report::Trend::up:
    return Theme::up;
  case report::Trend::down:
    return Theme::down;
  case report::Trend::flat:
    break;
  }
  return Theme::flat;
}

/// The trend marker with its lower left corner at (x, y).
void draw_arrow(Canvas& canvas, report::Trend trend, float x, float y)
{
  const Rgb colour = trend_colour(trend);
  switch (trend) {
  case report::Trend::up: {
    const std::array<Point, 3> up{{{x, y}, {x + arrow_size, y}, {x + arrow_size / 2, y + arrow_size}}};
    canvas.fill_polygon(up, colour);
    return;
  }
  case report::Trend::down: {
    const std::array<Point, 3> down{
        {{x, y + arrow_size}, {x + arrow_size, y + arrow_size}, {x + arrow_size / 2, y}}};
    canvas.fill_polygon(down, colour);
    return;
  }
  case report::Trend::flat:
    break;
  }
  canvas.fill_rect(x, y + arrow_size / 2 - 1.25f, arrow_size, 2.5f, colour);
}

void draw_tile(Canvas& canvas, const Theme& theme, const report::Kpi& kpi, float x, float top, float width,
               float height)
{
  canvas.fill_rect(x, top - height, width, height, Theme::tile_fill);
  canvas.stroke_rect(x, top - height, width, height, 0.6f, Theme::tile_border);
  canvas.fill_rect(x, top - height, accent_width, height, Theme::accent);

  const float left = x + inner_left;
  const float inner = width - inner_left - 6;
  const std::string label = printable(kpi.label.empty() ? kpi.name : kpi.label);
  canvas.text(left, top - 13, theme.tile_label, fit_text(label, theme.tile_label, inner));

  // Large values shrink to fit rather than lose digits.
  TextStyle value_style = theme.tile_value;
  const std::string value = format_kpi(kpi, false);
  const float natural = text_width(value_style, value);
  if (natural > inner)
    value_style.size = std::max(min_value_size, value_style.size * inner / natural);
  canvas.text(left, top - 33, value_style, fit_text(value, value_style, inner));

  if (!kpi.has_comparison)
    return;
  const float baseline = top - 48;
  draw_arrow(canvas, kpi.trend, left, baseline - 0.5f);
  TextStyle change_style = theme.tile_label;
  change_style.face = theme.body_bold.face;
  change_style.colour = trend_colour(kpi.trend);
  const std::string change = format_change(kpi.change);
  const float change_x = left + arrow_size + 4;
  canvas.text(change_x, baseline, change_style, change);
  const float previous_x = change_x + text_width(change_style, change) + 5;
  canvas.text(previous_x, baseline, theme.tile_label,
              fit_text("vs " + format_kpi(kpi, true), theme.tile_label, x + width - 6 - previous_x));
}

} // namespace

void draw_kpi_tiles(PageFlow& flow, const Theme& theme, const std::vector<report::Kpi>& kpis)
{
  const bool comparisons =
      std::any_of(kpis.begin(), kpis.end(), [](const report::Kpi& k) { return k.has_comparison; });
  const float height = tile_height + (comparisons ? comparison_height : 0);
  const float width = (Theme::content_width - tile_gap * (tiles_per_row - 1)) / tiles_per_row;
  for (std::size_t first = 0; first < kpis.size(); first += tiles_per_row) {
    flow.ensure(height);
    const std::size_t last = std::min(first + tiles_per_row, kpis.size());
    for (std::size_t i = first; i < last; ++i) {
      const float x = Theme::content_left + static_cast<float>(i - first) * (width + tile_gap);
      draw_tile(flow.canvas(), theme, kpis[i], x, flow.y(), width, height);
    }
    flow.advance(height + tile_gap);
  }
}

} // namespace dm::render::pdf
