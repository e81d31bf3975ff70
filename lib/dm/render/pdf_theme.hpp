#pragma once
// The look of the PDF report: page geometry, colours and text styles, in
// one place so that every block of the page agrees on them.

#include "dm/render/pdf_style.hpp"

#include <array>

namespace dm::render::pdf {

class Document;

/// Geometry in points (A4 portrait), colours, and the text styles built on
/// the document's fonts. Immutable.
struct Theme {
  explicit Theme(const Document& doc);

  static constexpr float page_width = 595.276f;
  static constexpr float page_height = 841.89f;
  static constexpr float margin_x = 42;
  static constexpr float margin_top = 40;
  static constexpr float margin_bottom = 50;
  static constexpr float footer_baseline = 26;
  static constexpr float content_left = margin_x;
  static constexpr float content_width = page_width - 2 * margin_x;
  static constexpr float content_right = content_left + content_width;
  /// Space between blocks (title, tiles, sections).
  static constexpr float block_gap = 16;

  static constexpr Rgb ink{0.13f, 0.15f, 0.18f};
  static constexpr Rgb muted{0.42f, 0.45f, 0.50f};
  static constexpr Rgb rule{0.80f, 0.82f, 0.85f};
  static constexpr Rgb axis{0.45f, 0.47f, 0.50f};
  static constexpr Rgb grid{0.88f, 0.89f, 0.91f};
  static constexpr Rgb row_shade{0.955f, 0.963f, 0.972f};
  static constexpr Rgb header_fill{0.87f, 0.91f, 0.96f};
  static constexpr Rgb tile_fill{0.965f, 0.973f, 0.984f};
  static constexpr Rgb tile_border{0.80f, 0.84f, 0.89f};
  static constexpr Rgb accent{0.16f, 0.38f, 0.67f};
  static constexpr Rgb up{0.13f, 0.59f, 0.30f};
  static constexpr Rgb down{0.82f, 0.18f, 0.18f};
  static constexpr Rgb flat{0.55f, 0.57f, 0.60f};
  static constexpr Rgb white{1, 1, 1};
  /// Chart series, in order; distinguishable in greyscale print too.
  static constexpr std::array<Rgb, 8> series{{
      {0.12f, 0.47f, 0.71f},
      {0.95f, 0.50f, 0.05f},
      {0.17f, 0.63f, 0.17f},
      {0.84f, 0.15f, 0.16f},
      {0.58f, 0.40f, 0.74f},
      {0.55f, 0.34f, 0.29f},
      {0.89f, 0.47f, 0.76f},
      {0.50f, 0.50f, 0.50f},
  }};

  TextStyle title;
  TextStyle heading;
  TextStyle body;
  TextStyle body_bold;
  TextStyle label;       ///< keys of the title block
  TextStyle small;       ///< axis labels, legends, notes
  TextStyle table_head;
  TextStyle table_cell;
  TextStyle tile_label;
  TextStyle tile_value;
  TextStyle page_marks;  ///< running header and footer
};

} // namespace dm::render::pdf
