#include "dm/util/duration.hpp"

#include "dm/util/error.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <limits>

namespace dm::util {

namespace {

[[noreturn]] void bad_duration(std::string_view text, std::string_view why)
{
  throw UsageError(fmt::format("invalid duration '{}': {} (examples: 90, 90s, 15m, 1h30m, 2d, 1w)", text, why));
}

/// Seconds per unit letter; 0 for a letter that is not a unit.
std::int64_t unit_seconds(char unit) noexcept
{
  switch (unit) {
  case 's': return 1;
  case 'm': return 60;
  case 'h': return 3600;
  case 'd': return 86400;
  case 'w': return 7 * 86400;
  default: return 0;
  }
}

bool is_digit(char c) noexcept
{
  return c >= '0' && c <= '9';
}

} // namespace

std::chrono::seconds parse_duration(std::string_view text)
{
  if (text.empty())
    bad_duration(text, "empty");
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  std::int64_t total = 0;
  bool had_unit = false;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!is_digit(text[i]))
      bad_duration(text, fmt::format("expected a number at '{}'", text.substr(i)));
    std::int64_t number = 0;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      const int digit = text[i] - '0';
      if (number > (max - digit) / 10)
        bad_duration(text, "too large");
      number = number * 10 + digit;
    }
    std::int64_t unit = 1;
    if (i < text.size()) {
      unit = unit_seconds(text[i]);
      if (unit == 0)
        bad_duration(text, fmt::format("unknown unit '{}' (s, m, h, d or w)", text[i]));
      ++i;
      had_unit = true;
    } else if (had_unit) {
      // Only a lone number means seconds: "1h30" is ambiguous.
      bad_duration(text, "a number without a unit after the first part");
    }
    if (number > max / unit || total > max - number * unit)
      bad_duration(text, "too large");
    total += number * unit;
  }
  return std::chrono::seconds(total);
}

} // namespace dm::util
