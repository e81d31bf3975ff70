#pragma once
// Drawing on one PDF page.

#include "dm/render/pdf_style.hpp"

#include <hpdf.h>

#include <optional>
#include <span>
#include <string>

namespace dm::render::pdf {

class Document;

/// Text and path primitives on one page. Keeps track of the open text
/// object, font and colours so that a table of thousands of cells writes each
/// operator only when something changes; that is most of what keeps a long
/// report fast and small. Every call checks for libharu errors (Document::check).
///
/// Not thread-safe. Call finish() before drawing on the same page through
/// another Canvas.
class Canvas {
public:
  Canvas(const Document& doc, HPDF_Page page);

  /// `text` (printable UTF-8) with its baseline starting at (x, y).
  void text(float x, float y, const TextStyle& style, const std::string& text);
  /// `text` ending at `right`.
  void text_right(float right, float y, const TextStyle& style, const std::string& text);
  /// `text` centred on `centre`.
  void text_centred(float centre, float y, const TextStyle& style, const std::string& text);

  void fill_rect(float x, float y, float width, float height, Rgb colour);
  void stroke_rect(float x, float y, float width, float height, float line_width, Rgb colour);
  void line(Point from, Point to, float line_width, Rgb colour);
  /// An open path through `points` (nothing for fewer than two).
  void polyline(std::span<const Point> points, float line_width, Rgb colour);
  /// A closed, filled polygon.
  void fill_polygon(std::span<const Point> points, Rgb colour);
  void fill_circle(Point centre, float radius, Rgb colour);

  /// Closes an open text object.
  void finish();

private:
  void begin_text();
  void end_text();
  void set_fill(Rgb colour);
  void set_stroke(Rgb colour, float line_width);

  const Document& doc_;
  HPDF_Page page_;
  bool in_text_ = false;
  HPDF_Font font_ = nullptr;
  float font_size_ = 0;
  std::optional<Rgb> fill_;
  std::optional<Rgb> stroke_;
  float line_width_ = -1;
};

} // namespace dm::render::pdf
