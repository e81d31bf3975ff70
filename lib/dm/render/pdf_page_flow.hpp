#pragma once
// Laying blocks out top to bottom across as many pages as they need.

#include "dm/render/pdf_canvas.hpp"

#include <hpdf.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace dm::render::pdf {

class Document;
struct Theme;

/// A cursor moving down the pages of a document. Blocks ask ensure() for
/// their height and draw below y(); a block that does not fit on the rest of
/// the page starts a new one. Pages after the first get a running header.
/// Footers ("Page N of M") are written last, when M is known.
/// Not thread-safe.
class PageFlow {
public:
  /// `running_left` and `running_right` are the running header's texts.
  PageFlow(Document& doc, const Theme& theme, std::string running_left, std::string running_right);

  Canvas& canvas() { return *canvas_; }
  /// Top of the free space on the current page.
  float y() const noexcept { return y_; }
  /// Points left above the bottom margin.
  float space_left() const noexcept;
  /// Moves the cursor down.
  void advance(float height);

  /// Starts a new page unless `height` points fit below the cursor or
  /// nothing has been drawn on the page yet (a block taller than a page then
  /// overflows instead of producing blank pages). True when it started one.
  bool ensure(float height);
  void new_page();

  std::size_t page_count() const noexcept { return pages_.size(); }

  /// Writes `left` and "Page N of M" at the foot of every page.
  void write_footers(const std::string& left);

private:
  Document& doc_;
  const Theme& theme_;
  std::string running_left_;
  std::string running_right_;
  std::vector<HPDF_Page> pages_;
  std::optional<Canvas> canvas_;
  float y_ = 0;
  bool fresh_ = true;
};

} // namespace dm::render::pdf
