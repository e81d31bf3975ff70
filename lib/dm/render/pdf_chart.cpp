#include "dm/render/pdf_chart.hpp"

#include "dm/render/pdf_format.hpp"
#include "dm/render/pdf_page_flow.hpp"
#include "dm/render/pdf_text.hpp"
#include "dm/render/pdf_theme.hpp"
#include "dm/render/pdf_utf8.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

namespace dm::render::pdf {

namespace {

using report::ColumnType;

constexpr float line_chart_height = 190;
constexpr float legend_height = 18;
constexpr float x_label_height = 22;
constexpr float bar_pitch = 14;
constexpr float bar_thickness = 9.5f;
constexpr float bar_caption_height = 16;
constexpr float bar_axis_height = 20;
/// Points are marked with dots while they are far enough apart to tell.
constexpr std::size_t max_marked_points = 40;
constexpr int max_ticks = 6;

/// A plotted column: its values in row order (nullopt = gap).
struct Series {
  std::string label;
  ColumnType type = ColumnType::number;
  std::vector<std::optional<double>> values;
  double lo = 0; ///< over its finite values, and 0
  double hi = 0;
  bool right_axis = false;
};

/// One value axis of a line chart and its printed tick labels.
struct Axis {
  ColumnType type = ColumnType::number;
  Ticks ticks;
  std::vector<std::string> labels;
  float label_width = 0;
};

struct ChartData {
  std::size_t x_column = 0;
  std::vector<Series> series;
  double lo = 0; ///< over all finite values, and 0
  double hi = 0;
};

std::optional<std::size_t> column_index(const report::Section& section, std::string_view name)
{
  for (std::size_t i = 0; i < section.columns.size(); ++i)
    if (section.columns[i].name == name)
      return i;
  return std::nullopt;
}

const report::Cell& cell_at(const std::vector<report::Cell>& row, std::size_t column)
{
  static const report::Cell null_cell;
  return column < row.size() ? row[column] : null_cell;
}

std::string column_label(const report::Column& column)
{
  return printable(column.label.empty() ? column.name : column.label);
}

/// The chart's columns and values, or nullopt when nothing can be drawn.
std::optional<ChartData> chart_data(const report::Section& section)
{
  if (section.chart == report::Chart::none || section.rows.empty())
    return std::nullopt;
  const auto x = column_index(section, section.chart_x);
  if (!x)
    return std::nullopt;

  ChartData data;
  data.x_column = *x;
  bool any = false;
  for (const std::string& name : section.chart_y) {
    const auto y = column_index(section, name);
    if (!y)
      continue;
    Series series{column_label(section.columns[*y]), section.columns[*y].type, {}};
    series.values.reserve(section.rows.size());
    for (const auto& row : section.rows) {
      const auto value = numeric_value(cell_at(row, *y));
      if (value) {
        series.lo = std::min(series.lo, *value);
        series.hi = std::max(series.hi, *value);
        any = true;
      }
      series.values.push_back(value);
    }
    data.lo = std::min(data.lo, series.lo);
    data.hi = std::max(data.hi, series.hi);
    data.series.push_back(std::move(series));
    if (section.chart == report::Chart::bar)
      break;
  }
  if (!any)
    return std::nullopt;
  // Shares next to counts would be a flat line at zero: when both are
  // plotted, the ratios get an axis of their own on the right.
  const auto is_ratio = [](const Series& series) { return series.type == ColumnType::ratio; };
  if (std::any_of(data.series.begin(), data.series.end(), is_ratio) &&
      !std::all_of(data.series.begin(), data.series.end(), is_ratio))
    for (Series& series : data.series)
      series.right_axis = is_ratio(series);
  return data;
}

std::string category_text(const report::Section& section, const std::vector<report::Cell>& row, std::size_t x)
{
  const report::Column& column = section.columns[x];
  return category_label(format_cell(cell_at(row, x), column.type, 2), column.type);
}

/// The axis of the series on the left (`right` false) or the right, with
/// ticks lined up with `left` when given; nullopt when no series uses it.
std::optional<Axis> make_axis(const Theme& theme, const std::vector<Series>& series, bool right,
                              const Axis* left)
{
  double lo = 0;
  double hi = 0;
  bool any = false;
  bool integral = true;
  bool ratios = true;
  for (const Series& s : series) {
    if (s.right_axis != right)
      continue;
    any = true;
    lo = std::min(lo, s.lo);
    hi = std::max(hi, s.hi);
    integral = integral && s.type == ColumnType::integer;
    ratios = ratios && s.type == ColumnType::ratio;
  }
  if (!any)
    return std::nullopt;
  Axis axis;
  axis.type = ratios ? ColumnType::ratio : ColumnType::number;
  std::optional<Ticks> aligned = left != nullptr ? aligned_ticks(left->ticks, lo, hi) : std::nullopt;
  axis.ticks = aligned ? *aligned : nice_ticks(lo, hi, max_ticks, integral);
  for (const double value : axis.ticks.values) {
    axis.labels.push_back(format_tick(value, axis.type, axis.ticks.decimals));
    axis.label_width = std::max(axis.label_width, text_width(theme.small, axis.labels.back()));
  }
  return axis;
}

/// Every how many categories a label fits: steps that suit days (7, 14) and
/// hours (6, 12, 24) first, then whatever is needed.
std::size_t label_step(std::size_t count, std::size_t fitting)
{
  constexpr std::array<std::size_t, 16> steps{1, 2, 3, 4, 6, 7, 12, 14, 24, 28, 48, 56, 84, 168, 336, 672};
  fitting = std::max<std::size_t>(fitting, 1);
  for (const std::size_t step : steps)
    if ((count + step - 1) / step <= fitting)
      return step;
  return (count + fitting - 1) / fitting;
}

/// Maps values in [lo, hi] linearly onto [from, to].
struct Scale {
  double lo;
  double hi;
  float from;
  float to;

  float operator()(double value) const noexcept
  {
    const double t = hi > lo ? (value - lo) / (hi - lo) : 0;
    return from + static_cast<float>(t) * (to - from);
  }
};

void draw_legend(Canvas& canvas, const Theme& theme, const std::vector<Series>& series, float top)
{
  float x = Theme::content_left;
  const float baseline = top - 10;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const Rgb colour = Theme::series[i % Theme::series.size()];
    const std::string label =
        fit_text(series[i].right_axis ? series[i].label + " (right axis)" : series[i].label, theme.small, 160);
    const float width = 18 + text_width(theme.small, label);
    if (x + width > Theme::content_right)
      break;
    canvas.line({x, baseline + 2.5f}, {x + 14, baseline + 2.5f}, 1.8f, colour);
    canvas.text(x + 18, baseline, theme.small, label);
    x += width + 14;
  }
}

void draw_line_chart(PageFlow& flow, const Theme& theme, const report::Section& section, const ChartData& data)
{
  Canvas& canvas = flow.canvas();
  const float top = flow.y();
  draw_legend(canvas, theme, data.series, top);

  const Axis left = *make_axis(theme, data.series, false, nullptr);
  const std::optional<Axis> right = make_axis(theme, data.series, true, &left);

  const float plot_top = top - legend_height - 4;
  const float plot_bottom = top - line_chart_height + x_label_height;
  const float plot_left = Theme::content_left + left.label_width + 6;
  const float plot_right = Theme::content_right - (right ? right->label_width + 6 : 4);
  const Scale y{left.ticks.values.front(), left.ticks.values.back(), plot_bottom, plot_top};
  const Scale y_right =
      right ? Scale{right->ticks.values.front(), right->ticks.values.back(), plot_bottom, plot_top} : y;

  for (std::size_t i = 0; i < left.ticks.values.size(); ++i) {
    const float at = y(left.ticks.values[i]);
    if (i > 0)
      canvas.line({plot_left, at}, {plot_right, at}, 0.4f, Theme::grid);
    canvas.text_right(plot_left - 4, at - 2.5f, theme.small, left.labels[i]);
  }
  if (right) {
    for (std::size_t i = 0; i < right->ticks.values.size(); ++i)
      canvas.text(plot_right + 4, y_right(right->ticks.values[i]) - 2.5f, theme.small, right->labels[i]);
    canvas.line({plot_right, plot_bottom}, {plot_right, plot_top}, 0.7f, Theme::axis);
  }

  // Categories evenly spaced, inset so the first and last dots stay clear
  // of the axes.
  const std::size_t count = section.rows.size();
  const float inset = 8;
  const float span = plot_right - plot_left - 2 * inset;
  const auto x_of = [&](std::size_t i) {
    if (count == 1)
      return (plot_left + plot_right) / 2;
    return plot_left + inset + span * static_cast<float>(i) / static_cast<float>(count - 1);
  };

  float widest = 0;
  for (const auto& row : section.rows)
    widest = std::max(widest, text_width(theme.small, category_text(section, row, data.x_column)));
  const auto fitting = static_cast<std::size_t>((plot_right - plot_left) / (widest + 10));
  const std::size_t step = label_step(count, fitting);
  for (std::size_t i = 0; i < count; i += step) {
    const float at = x_of(i);
    const std::string label = category_text(section, section.rows[i], data.x_column);
    const float half = text_width(theme.small, label) / 2;
    const float centre = std::clamp(at, Theme::content_left + half, Theme::content_right - half);
    canvas.line({at, plot_bottom}, {at, plot_bottom - 3}, 0.6f, Theme::axis);
    canvas.text_centred(centre, plot_bottom - 11, theme.small, label);
  }

  canvas.line({plot_left, plot_bottom}, {plot_right, plot_bottom}, 0.7f, Theme::axis);
  canvas.line({plot_left, plot_bottom}, {plot_left, plot_top}, 0.7f, Theme::axis);
  if (left.ticks.values.front() < 0 && left.ticks.values.back() > 0)
    canvas.line({plot_left, y(0)}, {plot_right, y(0)}, 0.6f, Theme::axis);

  std::vector<Point> run;
  for (std::size_t s = 0; s < data.series.size(); ++s) {
    const Rgb colour = Theme::series[s % Theme::series.size()];
    const auto& values = data.series[s].values;
    const Scale& scale = data.series[s].right_axis ? y_right : y;
    run.clear();
    for (std::size_t i = 0; i <= count; ++i) {
      if (i < count && values[i]) {
        run.push_back({x_of(i), scale(*values[i])});
        continue;
      }
      // A gap or the end: draw the run so far.
      canvas.polyline(run, 1.4f, colour);
      if (run.size() == 1 || count <= max_marked_points)
        for (const Point& p : run)
          canvas.fill_circle(p, 1.7f, colour);
      run.clear();
    }
  }
  flow.advance(line_chart_height);
}

float bar_chart_height(std::size_t bars)
{
  return bar_caption_height + static_cast<float>(bars) * bar_pitch + bar_axis_height;
}

void draw_bar_chart(PageFlow& flow, const Theme& theme, const report::Section& section, const ChartData& data)
{
  Canvas& canvas = flow.canvas();
  const float top = flow.y();
  const Series& series = data.series.front();
  const std::size_t bars = std::min(section.rows.size(), bar_chart_max_bars);

  std::string caption = series.label + " by " + column_label(section.columns[data.x_column]);
  if (bars < section.rows.size())
    caption += " (first " + std::to_string(bars) + " of " +
               group_thousands(static_cast<std::int64_t>(section.rows.size())) + " rows)";
  canvas.text(Theme::content_left, top - 9, theme.small, fit_text(caption, theme.small, Theme::content_width));

  const int value_decimals = series.type == ColumnType::number ? decimals_for(std::max(-data.lo, data.hi)) : 0;
  std::vector<std::string> labels;
  std::vector<std::string> values;
  float label_width = 0;
  float value_width = 0;
  for (std::size_t i = 0; i < bars; ++i) {
    labels.push_back(category_text(section, section.rows[i], data.x_column));
    label_width = std::max(label_width, text_width(theme.small, labels.back()));
    const auto& value = series.values[i];
    values.push_back(value ? format_cell(*value, series.type, value_decimals) : std::string(not_available));
    value_width = std::max(value_width, text_width(theme.small, values.back()));
  }
  label_width = std::min(label_width, Theme::content_width * 0.32f);

  const float plot_top = top - bar_caption_height;
  const float plot_bottom = plot_top - static_cast<float>(bars) * bar_pitch;
  const float plot_left = Theme::content_left + label_width + 6;
  const float plot_right = Theme::content_right - value_width - 6;
  const Ticks ticks = nice_ticks(data.lo, data.hi, max_ticks, series.type == ColumnType::integer);
  const Scale x{ticks.values.front(), ticks.values.back(), plot_left, plot_right};

  for (const double tick : ticks.values) {
    const float at = x(tick);
    canvas.line({at, plot_bottom}, {at, plot_top}, 0.4f, Theme::grid);
    canvas.line({at, plot_bottom}, {at, plot_bottom - 3}, 0.6f, Theme::axis);
    canvas.text_centred(at, plot_bottom - 11, theme.small, format_tick(tick, series.type, ticks.decimals));
  }

  const float zero = x(0);
  for (std::size_t i = 0; i < bars; ++i) {
    const float centre = plot_top - (static_cast<float>(i) + 0.5f) * bar_pitch;
    canvas.text_right(plot_left - 6, centre - 2.5f, theme.small, fit_text(labels[i], theme.small, label_width));
    float end = zero;
    if (const auto& value = series.values[i]) {
      end = x(*value);
      canvas.fill_rect(std::min(zero, end), centre - bar_thickness / 2, std::abs(end - zero), bar_thickness,
                       Theme::series.front());
    }
    canvas.text(std::max(zero, end) + 3, centre - 2.5f, theme.small, values[i]);
  }
  canvas.line({zero, plot_bottom}, {zero, plot_top}, 0.7f, Theme::axis);
  canvas.line({plot_left, plot_bottom}, {plot_right, plot_bottom}, 0.7f, Theme::axis);
  flow.advance(bar_chart_height(bars));
}

} // namespace

float chart_height(const report::Section& section)
{
  if (!chart_data(section))
    return 0;
  if (section.chart == report::Chart::bar)
    return bar_chart_height(std::min(section.rows.size(), bar_chart_max_bars));
  return line_chart_height;
}

void draw_chart(PageFlow& flow, const Theme& theme, const report::Section& section)
{
  const auto data = chart_data(section);
  if (!data)
    return;
  if (section.chart == report::Chart::bar)
    draw_bar_chart(flow, theme, section, *data);
  else
    draw_line_chart(flow, theme, section, *data);
}

} // namespace dm::render::pdf
