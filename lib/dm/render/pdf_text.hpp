#pragma once
// Fitting text into a width: truncation with an ellipsis and word wrapping.

#include "dm/render/pdf_style.hpp"

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace dm::render::pdf {

inline constexpr std::string_view ellipsis = "\u2026";

/// Width in points of printable UTF-8 `text` in `style`.
float text_width(const TextStyle& style, std::string_view text);

/// `text` itself when it fits `max_width` points, else its longest prefix (cut
/// at a character boundary) that fits followed by "…"; "" when not even the
/// ellipsis fits.
std::string fit_text(std::string_view text, const TextStyle& style, float max_width);

/// `text` broken at spaces into lines no wider than `max_width`; a word wider
/// than a line is truncated with fit_text(). When more than `max_lines` would
/// be needed, the last line ends in "…". Empty text gives no lines.
std::vector<std::string> wrap_text(std::string_view text, const TextStyle& style, float max_width,
                                   std::size_t max_lines = std::numeric_limits<std::size_t>::max());

} // namespace dm::render::pdf
