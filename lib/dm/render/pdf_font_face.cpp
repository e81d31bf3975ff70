#include "dm/render/pdf_font_face.hpp"

#include "dm/render/pdf_utf8.hpp"

namespace dm::render::pdf {

FontFace::FontFace(HPDF_Font font)
    : font_(font),
      advances_(0x10000, std::int16_t{-1})
{
}

int FontFace::advance(char32_t c) const
{
  if (c > 0xFFFF)
    c = replacement_character;
  std::int16_t& cached = advances_[c];
  if (cached < 0) {
    const HPDF_INT width = HPDF_Font_GetUnicodeWidth(font_, static_cast<HPDF_UNICODE>(c));
    cached = static_cast<std::int16_t>(width > 0 && width < 0x7FFF ? width : 0);
  }
  return cached;
}

float FontFace::width(std::string_view text, float size) const
{
  long total = 0;
  std::size_t pos = 0;
  while (pos < text.size())
    total += advance(next_code_point(text, pos));
  return static_cast<float>(total) * size / 1000.0f;
}

} // namespace dm::render::pdf
