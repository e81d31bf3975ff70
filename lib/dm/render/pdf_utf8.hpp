#pragma once
// UTF-8 as the PDF renderer needs it: libharu's UTF-8 encoder writes every
// character as one 16-bit code, so text is first made into valid UTF-8 of the
// Basic Multilingual Plane without control characters.

#include <cstddef>
#include <string>
#include <string_view>

namespace dm::render::pdf {

inline constexpr char32_t replacement_character = 0xFFFD;

/// Decodes the code point at `pos` and advances `pos` past it. An invalid or
/// truncated sequence yields U+FFFD and advances one byte. `pos` must be less
/// than text.size().
char32_t next_code_point(std::string_view text, std::size_t& pos) noexcept;

/// Appends the UTF-8 encoding of `c` (at most U+FFFF) to `out`.
void append_utf8(std::string& out, char32_t c);

/// `text` made printable: invalid sequences and characters beyond U+FFFF
/// become U+FFFD, control characters (tabs, newlines) become spaces.
/// Returns `text` unchanged when it is already printable.
std::string printable(std::string_view text);

} // namespace dm::render::pdf
