#include "dm/render/pdf_text.hpp"

#include "dm/render/pdf_font_face.hpp"
#include "dm/render/pdf_utf8.hpp"

namespace dm::render::pdf {

namespace {

/// The words of `text`, split at runs of spaces.
std::vector<std::string_view> words_of(std::string_view text)
{
  std::vector<std::string_view> words;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t start = text.find_first_not_of(' ', pos);
    if (start == std::string_view::npos)
      break;
    const std::size_t end = std::min(text.find(' ', start), text.size());
    words.push_back(text.substr(start, end - start));
    pos = end;
  }
  return words;
}

} // namespace

float text_width(const TextStyle& style, std::string_view text)
{
  return style.face->width(text, style.size);
}

std::string fit_text(std::string_view text, const TextStyle& style, float max_width)
{
  if (text_width(style, text) <= max_width)
    return std::string(text);
  // Compared in thousandths of an em, the unit the advances come in.
  const float limit = max_width * 1000.0f / style.size;
  long used = 0;
  for (std::size_t pos = 0; pos < ellipsis.size();)
    used += style.face->advance(next_code_point(ellipsis, pos));
  if (static_cast<float>(used) > limit)
    return {};
  std::size_t end = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    used += style.face->advance(next_code_point(text, pos));
    if (static_cast<float>(used) > limit)
      break;
    end = pos;
  }
  std::string out(text.substr(0, end));
  // No dangling space before the ellipsis.
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  out += ellipsis;
  return out;
}

std::vector<std::string> wrap_text(std::string_view text, const TextStyle& style, float max_width,
                                   std::size_t max_lines)
{
  std::vector<std::string> lines;
  if (max_lines == 0)
    return lines;
  const auto words = words_of(text);
  const float space = text_width(style, " ");
  std::string line;
  float line_width = 0;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const float word_width = text_width(style, words[i]);
    if (!line.empty() && line_width + space + word_width <= max_width) {
      line += ' ';
      line += words[i];
      line_width += space + word_width;
      continue;
    }
    if (!line.empty()) {
      if (lines.size() + 1 == max_lines) {
        // The last line allowed: take the rest of the text and cut it.
        std::string rest = line;
        for (std::size_t j = i; j < words.size(); ++j) {
          rest += ' ';
          rest += words[j];
        }
        lines.push_back(fit_text(rest + std::string(ellipsis), style, max_width));
        return lines;
      }
      lines.push_back(std::move(line));
    }
    line = fit_text(words[i], style, max_width);
    line_width = text_width(style, line);
  }
  if (!line.empty())
    lines.push_back(std::move(line));
  return lines;
}

} // namespace dm::render::pdf
