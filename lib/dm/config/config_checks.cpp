#include "dm/config/config_checks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace dm::config {

namespace {

char lower(char c) noexcept
{
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

std::string lowered(std::string_view text)
{
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

/// Optimal string alignment distance: insertions, deletions, substitutions
/// and swaps of neighbours (`deamon` -> `daemon`) each cost 1.
std::size_t edit_distance(std::string_view a, std::string_view b)
{
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i)
    d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j)
    d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

bool is_space(char c) noexcept
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

} // namespace

std::string toml_quoted(std::string_view text)
{
  constexpr std::size_t max_shown = 60;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < max_shown; ++i) {
    const char c = text[i];
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\r':
      out += "\\r";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        out += fmt::format("\\u{:04X}", static_cast<unsigned>(static_cast<unsigned char>(c)));
      else
        out += c;
    }
  }
  if (text.size() > max_shown)
    out += "...";
  out += '"';
  return out;
}

std::optional<std::string_view> closest(std::string_view text, const std::vector<std::string_view>& candidates)
{
  const std::string wanted = lowered(text);
  const std::size_t threshold = std::max<std::size_t>(1, wanted.size() / 3);
  std::optional<std::string_view> best;
  std::size_t best_score = 0;
  for (std::string_view candidate : candidates) {
    const std::string name = lowered(candidate);
    std::size_t score = edit_distance(wanted, name);
    if (score > threshold) {
      const bool prefix = std::min(wanted.size(), name.size()) >= 3 &&
                          (wanted.starts_with(name) || name.starts_with(wanted));
      if (!prefix)
        continue;
      // A prefix match ranks after every close spelling.
      score = threshold + 1;
    }
    if (!best || score < best_score) {
      best = candidate;
      best_score = score;
    }
  }
  return best;
}

bool is_postgres_connection_string(std::string_view text) noexcept
{
  if (text.starts_with("postgres://") || text.starts_with("postgresql://"))
    return true;
  std::size_t i = 0;
  while (i < text.size() && is_space(text[i]))
    ++i;
  const std::size_t start = i;
  while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z') || text[i] == '_'))
    ++i;
  if (i == start)
    return false;
  while (i < text.size() && is_space(text[i]))
    ++i;
  return i < text.size() && text[i] == '=';
}

bool has_scheme_and_host(std::string_view url, std::initializer_list<std::string_view> schemes) noexcept
{
  return std::any_of(schemes.begin(), schemes.end(), [&](std::string_view scheme) {
    if (!url.starts_with(scheme) || url.size() == scheme.size())
      return false;
    const char first = url[scheme.size()];
    return first != '/' && first != '?' && first != '#' && !is_space(first);
  });
}

std::string redact_password(std::string_view url)
{
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return std::string(url);
  const std::size_t authority = scheme_end + 3;
  const auto at = url.find('@', authority);
  const auto slash = url.find('/', authority);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at))
    return std::string(url);
  const auto colon = url.find(':', authority);
  if (colon == std::string_view::npos || colon > at)
    return std::string(url);
  return fmt::format("{}***{}", url.substr(0, colon + 1), url.substr(at));
}

std::optional<std::string> cron_shape_problem(std::string_view expression)
{
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < expression.size()) {
    while (i < expression.size() && is_space(expression[i]))
      ++i;
    const std::size_t start = i;
    while (i < expression.size() && !is_space(expression[i]))
      ++i;
    if (i > start)
      fields.push_back(expression.substr(start, i - start));
  }
  if (fields.size() == 1 && fields[0].starts_with('@')) {
    constexpr std::array<std::string_view, 5> keywords{"@hourly", "@daily", "@weekly", "@monthly", "@yearly"};
    if (std::find(keywords.begin(), keywords.end(), fields[0]) != keywords.end())
      return std::nullopt;
    return std::string("is not a known @keyword");
  }
  if (fields.size() == 5)
    return std::nullopt;
  if (fields.empty())
    return std::string("has no fields");
  return fmt::format("has {} field{}", fields.size(), fields.size() == 1 ? "" : "s");
}

} // namespace dm::config
