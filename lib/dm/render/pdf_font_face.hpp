#pragma once
// One embedded TrueType font and the advance widths of its characters.

#include <hpdf.h>

#include <cstdint>
#include <string_view>
#include <vector>

namespace dm::render::pdf {

/// A libharu UTF-8 font with text measurement. libharu 2.3.0's own
/// HPDF_Font_TextWidth returns NaN for the UTF-8 encoder, so widths are summed
/// from per-character advances, looked up once and cached (the lookup walks
/// the font's cmap). Not thread-safe: belongs to one Document.
class FontFace {
public:
  explicit FontFace(HPDF_Font font);

  HPDF_Font handle() const noexcept { return font_; }

  /// Advance of `c` in thousandths of an em; characters beyond U+FFFF count
  /// as U+FFFD, which printable() turns them into.
  int advance(char32_t c) const;

  /// Width in points of printable UTF-8 `text` set at `size` points.
  float width(std::string_view text, float size) const;

private:
  HPDF_Font font_;
  mutable std::vector<std::int16_t> advances_; ///< by BMP code point; -1 = not looked up
};

} // namespace dm::render::pdf
