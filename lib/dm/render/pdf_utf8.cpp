#include "dm/render/pdf_utf8.hpp"

namespace dm::render::pdf {

namespace {

bool is_continuation(unsigned char byte) noexcept
{
  return (byte & 0xC0U) == 0x80U;
}

bool is_control(char32_t c) noexcept
{
  return c < 0x20 || (c >= 0x7F && c < 0xA0);
}

} // namespace

char32_t next_code_point(std::string_view text, std::size_t& pos) noexcept
{
  const auto lead = static_cast<unsigned char>(text[pos]);
  if (lead < 0x80) {
    ++pos;
    return lead;
  }
  std::size_t length = 0;
  char32_t c = 0;
  char32_t minimum = 0;
  if ((lead & 0xE0U) == 0xC0U) {
    length = 2;
    c = lead & 0x1FU;
    minimum = 0x80;
  } else if ((lead & 0xF0U) == 0xE0U) {
    length = 3;
    c = lead & 0x0FU;
    minimum = 0x800;
  } else if ((lead & 0xF8U) == 0xF0U) {
    length = 4;
    c = lead & 0x07U;
    minimum = 0x10000;
  } else {
    ++pos;
    return replacement_character;
  }
  if (pos + length > text.size()) {
    ++pos;
    return replacement_character;
  }
  for (std::size_t i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(text[pos + i]);
    if (!is_continuation(byte)) {
      ++pos;
      return replacement_character;
    }
    c = (c << 6) | (byte & 0x3FU);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not characters.
  if (c < minimum || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) {
    ++pos;
    return replacement_character;
  }
  pos += length;
  return c;
}

void append_utf8(std::string& out, char32_t c)
{
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0U | (c >> 6)));
    out.push_back(static_cast<char>(0x80U | (c & 0x3FU)));
  } else {
    out.push_back(static_cast<char>(0xE0U | (c >> 12)));
    out.push_back(static_cast<char>(0x80U | ((c >> 6) & 0x3FU)));
    out.push_back(static_cast<char>(0x80U | (c & 0x3FU)));
  }
}

std::string printable(std::string_view text)
{
  bool plain = true;
  for (const char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte < 0x20 || byte >= 0x7F) {
      plain = false;
      break;
    }
  }
  if (plain)
    return std::string(text);

  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    char32_t c = next_code_point(text, pos);
    if (is_control(c))
      c = U' ';
    else if (c > 0xFFFF)
      c = replacement_character;
    append_utf8(out, c);
  }
  return out;
}

} // namespace dm::render::pdf
