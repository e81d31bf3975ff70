#include "dm/render/pdf_table.hpp"

#include "dm/render/pdf_format.hpp"
#include "dm/render/pdf_page_flow.hpp"
#include "dm/render/pdf_text.hpp"
#include "dm/render/pdf_theme.hpp"
#include "dm/render/pdf_utf8.hpp"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

namespace dm::render::pdf {

namespace {

using report::ColumnType;

constexpr float row_height = 12.5f;
constexpr float cell_padding = 4;
constexpr float header_line_height = 9;
constexpr float header_padding = 6;
constexpr std::size_t header_max_lines = 2;
constexpr float min_column_width = 24;
constexpr float continued_height = 14;
/// Text baseline above the bottom of a row: centres the cap height.
constexpr float row_baseline = 3.9f;

struct ColumnLayout {
  ColumnType type = ColumnType::text;
  bool right_aligned = false;
  int decimals = 2;
  float x = 0;
  float width = 0;
  std::string header;
  std::vector<std::string> header_lines;
};

const report::Cell& cell_at(const std::vector<report::Cell>& row, std::size_t column)
{
  static const report::Cell null_cell;
  return column < row.size() ? row[column] : null_cell;
}

bool is_numeric(ColumnType type) noexcept
{
  return type == ColumnType::integer || type == ColumnType::number || type == ColumnType::ratio;
}

/// Widths summing to `available`: a table that fits is widened in proportion;
/// one that does not keeps the columns narrower than an equal share of the
/// rest and shares the remainder equally among the wide ones (their text
/// gets cut).
std::vector<float> fit_widths(const std::vector<float>& desired, float available)
{
  const float total = std::accumulate(desired.begin(), desired.end(), 0.0f);
  std::vector<float> widths(desired);
  if (total <= available) {
    for (float& w : widths)
      w *= available / total;
    return widths;
  }
  std::vector<std::size_t> order(desired.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return desired[a] < desired[b]; });
  float remaining = available;
  std::size_t left = order.size();
  for (const std::size_t column : order) {
    const float share = remaining / static_cast<float>(left);
    widths[column] = std::min(desired[column], share);
    remaining -= widths[column];
    --left;
  }
  return widths;
}

/// The narrowest width in which `text` wraps onto at most two lines: the
/// best split between two words (a single word cannot be split).
static_assert(header_max_lines == 2, "two_line_width() knows two lines only");
float two_line_width(const TextStyle& style, std::string_view text)
{
  float best = text_width(style, text);
  for (std::size_t space = text.find(' '); space != std::string_view::npos; space = text.find(' ', space + 1))
    best = std::min(best, std::max(text_width(style, text.substr(0, space)),
                                   text_width(style, text.substr(space + 1))));
  return best;
}

class TableLayout {
public:
  TableLayout(const Theme& theme, const report::Section& section)
      : theme_(theme),
        section_(section)
  {
    const std::size_t count = section.columns.size();
    columns_.resize(count);
    std::vector<float> desired(count);
    for (std::size_t c = 0; c < count; ++c) {
      const report::Column& column = section.columns[c];
      ColumnLayout& layout = columns_[c];
      layout.type = column.type;
      layout.right_aligned = is_numeric(column.type);
      layout.decimals = column.type == ColumnType::number ? column_decimals(section, c) : 0;
      layout.header = printable(column.label.empty() ? column.name : column.label);

      float data = 0;
      for (const auto& row : section.rows)
        data = std::max(data, text_width(theme.table_cell, cell_text(row, c)));
      // A header wider than its data may wrap onto a second line, though
      // never between the letters of a word.
      // The slack absorbs float rounding between this and wrap_text's sums.
      const float header = two_line_width(theme.table_head, layout.header) + 0.5f;
      desired[c] = std::max(std::max(data, header) + 2 * cell_padding, min_column_width);
    }

    const std::vector<float> widths = fit_widths(desired, Theme::content_width);
    float x = Theme::content_left;
    std::size_t lines = 1;
    for (std::size_t c = 0; c < count; ++c) {
      ColumnLayout& layout = columns_[c];
      layout.x = x;
      layout.width = widths[c];
      x += widths[c];
      layout.header_lines =
          wrap_text(layout.header, theme.table_head, layout.width - 2 * cell_padding, header_max_lines);
      lines = std::max(lines, layout.header_lines.size());
    }
    header_height_ = static_cast<float>(lines) * header_line_height + header_padding;
  }

  float header_height() const noexcept { return header_height_; }

  std::string cell_text(const std::vector<report::Cell>& row, std::size_t column) const
  {
    const report::Column& c = section_.columns[column];
    const int decimals = columns_.empty() ? 2 : columns_[column].decimals;
    return format_cell(cell_at(row, column), c.type, decimals);
  }

  void draw_header(PageFlow& flow) const
  {
    Canvas& canvas = flow.canvas();
    const float top = flow.y();
    const float bottom = top - header_height_;
    canvas.fill_rect(Theme::content_left, bottom, Theme::content_width, header_height_, Theme::header_fill);
    for (const ColumnLayout& column : columns_) {
      // Bottom-aligned, so one-line headers sit on the same baseline as the
      // last line of two-line ones.
      const std::size_t lines = column.header_lines.size();
      for (std::size_t i = 0; i < lines; ++i) {
        const float baseline =
            bottom + header_padding / 2 + 1.5f + static_cast<float>(lines - 1 - i) * header_line_height;
        if (column.right_aligned)
          canvas.text_right(column.x + column.width - cell_padding, baseline, theme_.table_head,
                            column.header_lines[i]);
        else
          canvas.text(column.x + cell_padding, baseline, theme_.table_head, column.header_lines[i]);
      }
    }
    flow.advance(header_height_);
  }

  void draw_row(PageFlow& flow, const std::vector<report::Cell>& row, bool shaded) const
  {
    Canvas& canvas = flow.canvas();
    const float bottom = flow.y() - row_height;
    if (shaded)
      canvas.fill_rect(Theme::content_left, bottom, Theme::content_width, row_height, Theme::row_shade);
    const float baseline = bottom + row_baseline;
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      const ColumnLayout& column = columns_[c];
      const std::string text = fit_text(cell_text(row, c), theme_.table_cell, column.width - 2 * cell_padding);
      if (column.right_aligned)
        canvas.text_right(column.x + column.width - cell_padding, baseline, theme_.table_cell, text);
      else
        canvas.text(column.x + cell_padding, baseline, theme_.table_cell, text);
    }
    flow.advance(row_height);
  }

private:
  const Theme& theme_;
  const report::Section& section_;
  std::vector<ColumnLayout> columns_;
  float header_height_ = 0;
};

void draw_continued(PageFlow& flow, const Theme& theme, const report::Section& section)
{
  const std::string title = printable(section.title.empty() ? section.name : section.title) + " (continued)";
  flow.canvas().text(Theme::content_left, flow.y() - 9, theme.body_bold,
                     fit_text(title, theme.body_bold, Theme::content_width));
  flow.advance(continued_height);
}

} // namespace

float table_start_height()
{
  return header_max_lines * header_line_height + header_padding + 2 * row_height;
}

void draw_table(PageFlow& flow, const Theme& theme, const report::Section& section)
{
  if (section.rows.empty() || section.columns.empty()) {
    flow.ensure(16);
    flow.canvas().text(Theme::content_left, flow.y() - 10, theme.label, "No data for this period");
    flow.advance(16);
    return;
  }

  const TableLayout layout(theme, section);
  if (flow.ensure(layout.header_height() + row_height))
    draw_continued(flow, theme, section);
  layout.draw_header(flow);
  bool shaded = false;
  for (const auto& row : section.rows) {
    if (flow.space_left() < row_height) {
      flow.new_page();
      draw_continued(flow, theme, section);
      layout.draw_header(flow);
    }
    layout.draw_row(flow, row, shaded);
    shaded = !shaded;
  }
  flow.canvas().line({Theme::content_left, flow.y()}, {Theme::content_right, flow.y()}, 0.5f, Theme::rule);
}

} // namespace dm::render::pdf
