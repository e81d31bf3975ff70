#include "args.hpp"

#include "dm/util/error.hpp"

#include <fmt/format.h>

#include <charconv>

namespace dm::cli {

std::int64_t parse_id(const std::string& text, std::string_view what)
{
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc{} && end == text.data() + text.size() && v > 0)
    return v;
  throw UsageError(fmt::format("'{}' is not {} id", text, what));
}

void check_format(const std::string& format, std::initializer_list<std::string_view> allowed)
{
  std::string list;
  std::size_t i = 0;
  for (const auto a : allowed) {
    if (format == a)
      return;
    if (i > 0)
      list += i + 1 == allowed.size() ? " or " : ", ";
    list += a;
    ++i;
  }
  throw UsageError(fmt::format("unknown --format '{}': expected {}", format, list));
}

} // namespace dm::cli
