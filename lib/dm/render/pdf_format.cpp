#include "dm/render/pdf_format.hpp"

#include "dm/render/pdf_utf8.hpp"

#include <date/tz.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <type_traits>

namespace dm::render::pdf {

namespace {

using report::ColumnType;

std::string insert_separators(std::string_view digits)
{
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  const std::size_t lead = digits.size() % 3 == 0 ? std::min<std::size_t>(3, digits.size()) : digits.size() % 3;
  out.append(digits.substr(0, lead));
  for (std::size_t i = lead; i < digits.size(); i += 3) {
    out.push_back(',');
    out.append(digits.substr(i, 3));
  }
  return out;
}

bool is_numeric_type(ColumnType type) noexcept
{
  return type == ColumnType::integer || type == ColumnType::number || type == ColumnType::ratio;
}

/// `value` rounded to an integer and grouped; doubles beyond the int64 range
/// keep their magnitude through format_grouped.
std::string format_rounded(double value)
{
  constexpr double int64_limit = 9.2e18;
  if (!std::isfinite(value))
    return std::string(not_available);
  if (std::abs(value) < int64_limit)
    return group_thousands(std::llround(value));
  return format_grouped(value, 0);
}

bool is_digits(std::string_view text) noexcept
{
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

constexpr std::array<std::string_view, 12> month_abbreviations{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/// "2 Nov" from the "YYYY-MM-DD" at the start of `text`, or nullopt.
std::optional<std::string> day_and_month(std::string_view text)
{
  if (text.size() < 10 || text[4] != '-' || text[7] != '-' || !is_digits(text.substr(0, 4)) ||
      !is_digits(text.substr(5, 2)) || !is_digits(text.substr(8, 2)))
    return std::nullopt;
  const int month = (text[5] - '0') * 10 + (text[6] - '0');
  const int day = (text[8] - '0') * 10 + (text[9] - '0');
  if (month < 1 || month > 12 || day < 1 || day > 31)
    return std::nullopt;
  return std::to_string(day) + " " + std::string(month_abbreviations[static_cast<std::size_t>(month - 1)]);
}

} // namespace

std::string group_thousands(std::int64_t value)
{
  // Through unsigned arithmetic so that INT64_MIN has a magnitude too.
  const std::uint64_t magnitude =
      value < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
  std::string out = value < 0 ? "-" : "";
  out += insert_separators(std::to_string(magnitude));
  return out;
}

std::string format_grouped(double value, int decimals)
{
  if (!std::isfinite(value))
    return std::string(not_available);
  decimals = std::clamp(decimals, 0, 9);
  // Fixed notation of the largest double has 309 integer digits.
  std::array<char, 400> buffer{};
  const auto result =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed, decimals);
  std::string_view text(buffer.data(), static_cast<std::size_t>(result.ptr - buffer.data()));
  const bool negative = !text.empty() && text.front() == '-';
  if (negative)
    text.remove_prefix(1);
  const bool zero = text.find_first_not_of("0.") == std::string_view::npos;
  const std::size_t point = text.find('.');
  std::string out = negative && !zero ? "-" : "";
  out += insert_separators(text.substr(0, point));
  if (point != std::string_view::npos)
    out += text.substr(point);
  return out;
}

int decimals_for(double magnitude) noexcept
{
  magnitude = std::abs(magnitude);
  if (!std::isfinite(magnitude) || magnitude >= 1000 || magnitude == 0)
    return 0;
  if (magnitude >= 100)
    return 1;
  if (magnitude >= 1)
    return 2;
  const int leading_zeros = -static_cast<int>(std::floor(std::log10(magnitude)));
  return std::clamp(leading_zeros + 2, 3, 9);
}

std::optional<double> numeric_value(const report::Cell& cell) noexcept
{
  if (const auto* integer = std::get_if<std::int64_t>(&cell))
    return static_cast<double>(*integer);
  if (const auto* number = std::get_if<double>(&cell); number && std::isfinite(*number))
    return *number;
  return std::nullopt;
}

int column_decimals(const report::Section& section, std::size_t column) noexcept
{
  double largest = 0;
  bool any = false;
  for (const auto& row : section.rows) {
    if (column >= row.size())
      continue;
    if (const auto value = numeric_value(row[column])) {
      largest = std::max(largest, std::abs(*value));
      any = true;
    }
  }
  return any ? decimals_for(largest) : 2;
}

std::string format_percent(double ratio, int decimals)
{
  if (!std::isfinite(ratio))
    return std::string(not_available);
  return format_grouped(ratio * 100, decimals) + " %";
}

std::string format_cell(const report::Cell& cell, ColumnType type, int decimals)
{
  return std::visit(
      [&](const auto& value) -> std::string {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return std::string(null_text);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return printable(value);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          if (type == ColumnType::ratio)
            return format_percent(static_cast<double>(value), 1);
          if (type == ColumnType::number)
            return format_grouped(static_cast<double>(value), decimals);
          if (type == ColumnType::integer)
            return group_thousands(value);
          return std::to_string(value);
        } else {
          if (!std::isfinite(value))
            return std::string(not_available);
          switch (type) {
          case ColumnType::integer:
            return format_rounded(value);
          case ColumnType::ratio:
            return format_percent(value, 1);
          case ColumnType::number:
            return format_grouped(value, decimals);
          case ColumnType::text:
          case ColumnType::date:
          case ColumnType::timestamp:
            break;
          }
          return format_grouped(value, decimals_for(value));
        }
      },
      cell);
}

std::string format_kpi(const report::Kpi& kpi, bool previous)
{
  const report::Cell& cell = previous ? kpi.previous : kpi.value;
  const auto value = numeric_value(cell);
  const int decimals = decimals_for(value.value_or(0));
  const ColumnType type = is_numeric_type(kpi.type) ? kpi.type : ColumnType::number;
  return format_cell(cell, type, decimals);
}

std::string format_change(std::optional<double> change)
{
  if (!change || !std::isfinite(*change))
    return std::string(not_available);
  std::string digits = format_grouped(*change * 100, 1);
  if (digits.front() != '-' && digits != "0.0")
    digits.insert(0, "+");
  return digits + " %";
}

Ticks nice_ticks(double lo, double hi, int max_count, bool integral)
{
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi) {
    lo = 0;
    hi = 1;
  }
  if (lo == hi) {
    // A flat series still needs an axis: widen it to include zero.
    if (lo > 0)
      lo = 0;
    else if (hi < 0)
      hi = 0;
    else
      hi = 1;
  }
  max_count = std::max(max_count, 2);
  const double span = hi - lo;
  if (!std::isfinite(span))
    return Ticks{{lo, hi}, 0};

  // The smallest step of 1, 2 or 5 times a power of ten that needs no more
  // than max_count ticks. The tolerance keeps a bound that lands on a
  // multiple of the step, like 0.7 / 0.1, from gaining a tick to rounding.
  constexpr double tolerance = 1e-9;
  const auto tick_count = [&](double step) {
    return std::ceil(hi / step - tolerance) - std::floor(lo / step + tolerance) + 1;
  };
  double power = std::pow(10.0, std::floor(std::log10(span / (max_count - 1))));
  if (!(power > 0) || !std::isfinite(power))
    return Ticks{{lo, hi}, 0}; // a span too small for a power of ten
  double step = 0;
  while (step == 0) {
    for (const double factor : {1.0, 2.0, 5.0}) {
      const double candidate = factor * power;
      if ((!integral || candidate >= 1) && tick_count(candidate) <= max_count) {
        step = candidate;
        break;
      }
    }
    power *= 10;
  }
  const double first = std::floor(lo / step + tolerance);
  const double last = std::ceil(hi / step - tolerance);
  Ticks ticks;
  // Multiples of the step, not a running sum, so no error accumulates; the
  // bound guards against steps too small to move a huge value.
  for (double i = first; i <= last && ticks.values.size() < static_cast<std::size_t>(max_count) * 3; ++i)
    ticks.values.push_back(i * step);
  if (ticks.values.size() < 2)
    ticks.values = {lo, hi};
  ticks.decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  return ticks;
}

std::optional<Ticks> aligned_ticks(const Ticks& reference, double lo, double hi)
{
  const auto& values = reference.values;
  const auto zero = std::find(values.begin(), values.end(), 0.0);
  if (zero == values.end() || !std::isfinite(lo) || !std::isfinite(hi))
    return std::nullopt;
  const auto below = static_cast<double>(zero - values.begin());
  const auto above = static_cast<double>(values.end() - zero - 1);
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  if ((hi > 0 && above == 0) || (lo < 0 && below == 0))
    return std::nullopt;
  double need = std::max(above > 0 ? hi / above : 0.0, below > 0 ? -lo / below : 0.0);
  if (!(need > 0))
    need = 1 / std::max(above, below);
  const double power = std::pow(10.0, std::floor(std::log10(need)));
  if (!(power > 0) || !std::isfinite(power))
    return std::nullopt;
  double step = 10 * power;
  for (const double factor : {1.0, 2.0, 5.0})
    if (factor * power >= need * (1 - 1e-12)) {
      step = factor * power;
      break;
    }
  Ticks ticks;
  for (std::size_t i = 0; i < values.size(); ++i)
    ticks.values.push_back((static_cast<double>(i) - below) * step);
  ticks.decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  return ticks;
}

std::string format_tick(double value, ColumnType type, int decimals)
{
  if (type == ColumnType::ratio)
    return format_percent(value, std::max(0, decimals - 2));
  return format_grouped(value, decimals);
}

std::string category_label(std::string_view text, ColumnType type)
{
  if (type != ColumnType::date && type != ColumnType::timestamp)
    return std::string(text);
  auto label = day_and_month(text);
  if (!label)
    return std::string(text);
  if (type == ColumnType::timestamp && text.size() >= 16 && (text[10] == 'T' || text[10] == ' ') &&
      text[13] == ':')
    *label += " " + std::string(text.substr(11, 5));
  return *label;
}

LocalTimes::LocalTimes(const std::string& tz)
    : name_(tz.empty() ? "UTC" : tz)
{
  if (tz.empty() || tz == "UTC")
    return;
  try {
    zone_ = date::locate_zone(tz);
  } catch (const std::exception&) {
    // Reports carry a zone validated when they were generated; a renderer on
    // another machine without it still prints correct (UTC) instants.
    name_ = "UTC (unknown zone " + tz + ")";
  }
}

std::string LocalTimes::format(util::Micros t, bool with_seconds) const
{
  util::Micros local = t;
  if (zone_ != nullptr) {
    const date::sys_seconds instant{std::chrono::seconds{util::floor_to(t, util::micros_per_second) /
                                                         util::micros_per_second}};
    local += std::chrono::duration_cast<std::chrono::microseconds>(zone_->get_info(instant).offset).count();
  }
  const std::int64_t days = util::floor_to(local, util::micros_per_day) / util::micros_per_day;
  const util::CivilDate day = util::civil_from_days(days);
  const std::int64_t seconds = (local - days * util::micros_per_day) / util::micros_per_second;
  const auto hour = static_cast<int>(seconds / 3600);
  const auto minute = static_cast<int>(seconds / 60 % 60);
  const auto second = static_cast<int>(seconds % 60);

  std::array<char, 64> buffer{};
  int length = 0;
  if (with_seconds || second != 0)
    length = std::snprintf(buffer.data(), buffer.size(), "%04lld-%02u-%02u %02d:%02d:%02d",
                           static_cast<long long>(day.year), day.month, day.day, hour, minute, second);
  else
    length = std::snprintf(buffer.data(), buffer.size(), "%04lld-%02u-%02u %02d:%02d",
                           static_cast<long long>(day.year), day.month, day.day, hour, minute);
  return std::string(buffer.data(), static_cast<std::size_t>(std::max(length, 0)));
}

} // namespace dm::render::pdf
