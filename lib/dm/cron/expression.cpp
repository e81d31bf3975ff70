#include "dm/cron/expression.hpp"

#include "dm/cron/parse_error.hpp"
#include "dm/util/time.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <string>
#include <vector>

namespace dm::cron {

namespace {

constexpr std::array<std::string_view, 12> month_names{"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 8> weekday_names{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};

/// What one of the five fields accepts.
struct FieldSpec {
  int index; ///< 1-based position, as error messages count
  std::string_view name;
  unsigned min;
  unsigned max;
  const std::string_view* names = nullptr; ///< names[v - min] names value v
  unsigned name_count = 0;
};

constexpr std::array<FieldSpec, 5> fields{{
    {1, "minute", 0, 59},
    {2, "hour", 0, 23},
    {3, "day-of-month", 1, 31},
    {4, "month", 1, 12, month_names.data(), 12},
    {5, "day-of-week", 0, 7, weekday_names.data(), 7},
}};

struct Macro {
  std::string_view name;
  std::string_view expansion;
};

constexpr std::array<Macro, 7> macros{{
    {"@hourly", "0 * * * *"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},
    {"@monthly", "0 0 1 * *"},
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
}};

[[noreturn]] void fail(const FieldSpec& spec, const std::string& message)
{
  throw ParseError(spec.index, fmt::format("field {} ({}): {}", spec.index, spec.name, message));
}

bool is_blank(char c) noexcept
{
  return c == ' ' || c == '\t';
}

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept
{
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool all_digits(std::string_view s) noexcept
{
  if (s.empty())
    return false;
  for (const char c : s)
    if (c < '0' || c > '9')
      return false;
  return true;
}

bool all_letters(std::string_view s) noexcept
{
  if (s.empty())
    return false;
  for (const char c : s)
    if (std::isalpha(static_cast<unsigned char>(c)) == 0)
      return false;
  return true;
}

std::string range_text(const FieldSpec& spec)
{
  if (spec.names != nullptr)
    return fmt::format("{}-{}", spec.names[0], spec.names[spec.name_count - 1]);
  return fmt::format("{}-{}", spec.min, spec.max);
}

/// One value: a number in [min, max] or, in month and day-of-week, a name.
unsigned parse_value(const FieldSpec& spec, std::string_view token)
{
  if (token.empty())
    fail(spec, "missing value");
  if (all_digits(token)) {
    // Long digit strings are out of range, not an overflow.
    unsigned long long v = 0;
    for (const char c : token) {
      v = v * 10 + static_cast<unsigned>(c - '0');
      if (v > 1000000)
        break;
    }
    if (v < spec.min || v > spec.max)
      fail(spec, fmt::format("{} is out of range {}-{}", token, spec.min, spec.max));
    return static_cast<unsigned>(v);
  }
  if (all_letters(token)) {
    if (spec.names == nullptr)
      fail(spec, fmt::format("'{}' is not a number (names are allowed in month and day-of-week only)", token));
    for (unsigned i = 0; i < spec.name_count; ++i)
      if (equals_ignoring_case(token, spec.names[i]))
        return spec.min + i;
    fail(spec, fmt::format("unknown name '{}' (expected {})", token, range_text(spec)));
  }
  if (spec.names != nullptr)
    fail(spec, fmt::format("'{}' is neither a number nor a name ({})", token, range_text(spec)));
  fail(spec, fmt::format("'{}' is not a number", token));
}

/// The bits one list item sets: `*`, `V`, `A-B`, each with an optional `/STEP`.
std::uint64_t parse_item(const FieldSpec& spec, std::string_view item)
{
  std::string_view range = item;
  unsigned step = 1;
  bool stepped = false;
  if (const auto slash = item.find('/'); slash != std::string_view::npos) {
    range = item.substr(0, slash);
    const std::string_view step_text = item.substr(slash + 1);
    if (step_text.empty())
      fail(spec, fmt::format("missing step after '/' in '{}'", item));
    if (!all_digits(step_text))
      fail(spec, fmt::format("step '{}' is not a number", step_text));
    unsigned long long v = 0;
    for (const char c : step_text) {
      v = v * 10 + static_cast<unsigned>(c - '0');
      if (v > 1000000)
        break;
    }
    if (v < 1 || v > spec.max)
      fail(spec, fmt::format("step {} is out of range 1-{}", step_text, spec.max));
    step = static_cast<unsigned>(v);
    stepped = true;
  }
  if (range.empty())
    fail(spec, fmt::format("missing value before '/' in '{}'", item));

  unsigned first = spec.min;
  unsigned last = spec.max;
  if (range == "*") {
    // The full range; for day-of-week 0-7, which sets the same days as 0-6.
  } else if (const auto dash = range.find('-'); dash != std::string_view::npos) {
    const std::string_view a = range.substr(0, dash);
    const std::string_view b = range.substr(dash + 1);
    if (a.empty() || b.empty())
      fail(spec, fmt::format("incomplete range '{}'", range));
    if (b.find('-') != std::string_view::npos)
      fail(spec, fmt::format("'{}' is not a range (expected A-B)", range));
    first = parse_value(spec, a);
    last = parse_value(spec, b);
    if (first > last) {
      // Suggest the wrap-around list in the style the user wrote.
      const bool named = spec.names != nullptr && all_letters(a);
      const unsigned top = spec.index == 5 ? 6 : spec.max;
      const std::string top_text = named ? std::string(spec.names[top - spec.min]) : std::to_string(top);
      const std::string bottom_text = named ? std::string(spec.names[0]) : std::to_string(spec.min);
      fail(spec, fmt::format("range {} is reversed (for a range that wraps around write {}-{},{}-{})", range, a,
                             top_text, bottom_text, b));
    }
  } else {
    first = parse_value(spec, range);
    last = stepped ? spec.max : first;
  }
  std::uint64_t bits = 0;
  for (unsigned v = first; v <= last; v += step)
    bits |= std::uint64_t{1} << v;
  return bits;
}

/// A whole field: a comma-separated list of items.
std::uint64_t parse_field(const FieldSpec& spec, std::string_view text)
{
  std::uint64_t bits = 0;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (item.empty())
      fail(spec, fmt::format("empty item in list '{}'", text));
    bits |= parse_item(spec, item);
    if (comma == std::string_view::npos)
      return bits;
    start = comma + 1;
  }
}

std::vector<std::string_view> split_blanks(std::string_view text)
{
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_blank(text[i]))
      ++i;
    const std::size_t start = i;
    while (i < text.size() && !is_blank(text[i]))
      ++i;
    if (i > start)
      out.push_back(text.substr(start, i - start));
  }
  return out;
}

std::string macro_list()
{
  std::string out;
  for (std::size_t i = 0; i < macros.size(); ++i) {
    if (i > 0)
      out += i + 1 == macros.size() ? " or " : ", ";
    out += macros[i].name;
  }
  return out;
}

constexpr bool is_leap(std::int64_t y) noexcept
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr unsigned days_in_month(std::int64_t y, unsigned m) noexcept
{
  constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29u : days[m - 1];
}

/// 0 = Sunday.
constexpr unsigned weekday_of(std::int64_t days_since_epoch) noexcept
{
  // 1970-01-01 was a Thursday.
  const std::int64_t w = (days_since_epoch + 4) % 7;
  return static_cast<unsigned>(w < 0 ? w + 7 : w);
}

/// The lowest set bit of `mask` at position >= `from`, or -1.
template <typename Mask> int next_bit(Mask mask, unsigned from) noexcept
{
  if (from >= sizeof(Mask) * 8)
    return -1;
  const auto shifted = static_cast<Mask>(mask >> from);
  if (shifted == 0)
    return -1;
  return static_cast<int>(from) + std::countr_zero(shifted);
}

} // namespace

Expression Expression::parse(std::string_view text)
{
  while (!text.empty() && is_blank(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && (is_blank(text.back()) || text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  if (text.empty())
    throw ParseError(0, "empty cron expression (expected 5 fields: minute hour day-of-month month "
                        "day-of-week, or a macro such as @daily)");

  std::string_view body = text;
  if (text.front() == '@') {
    const Macro* found = nullptr;
    for (const Macro& m : macros)
      if (equals_ignoring_case(text, m.name))
        found = &m;
    if (found == nullptr) {
      if (equals_ignoring_case(text, "@reboot"))
        throw ParseError(0, "@reboot is not supported: a schedule needs fire times (expected " + macro_list() + ")");
      throw ParseError(0, fmt::format("unknown macro '{}' (expected {})", text, macro_list()));
    }
    body = found->expansion;
  }

  const std::vector<std::string_view> parts = split_blanks(body);
  if (parts.size() != fields.size())
    throw ParseError(0, fmt::format("expected 5 fields (minute hour day-of-month month day-of-week), got {} in '{}'",
                                    parts.size(), text));

  Expression e;
  e.minutes_ = parse_field(fields[0], parts[0]);
  e.hours_ = static_cast<std::uint32_t>(parse_field(fields[1], parts[1]));
  e.days_ = static_cast<std::uint32_t>(parse_field(fields[2], parts[2]));
  e.months_ = static_cast<std::uint16_t>(parse_field(fields[3], parts[3]));
  const std::uint64_t weekdays = parse_field(fields[4], parts[4]);
  e.weekdays_ = static_cast<std::uint8_t>((weekdays | (weekdays >> 7)) & 0x7f);
  e.day_star_ = parts[2].front() == '*';
  e.weekday_star_ = parts[4].front() == '*';

  // Never fires when no chosen day-of-month exists in any chosen month and the
  // day-of-week cannot stand in for it (cronie: it can when neither starts
  // with `*`). Every real date falls on every weekday in some year, so this
  // is the only way an expression can be empty.
  const bool weekday_alone_fires = !e.day_star_ && !e.weekday_star_;
  if (!weekday_alone_fires) {
    // 2000 is a leap year: February has its 29th.
    const auto first_day = static_cast<unsigned>(next_bit(e.days_, 1));
    bool possible = false;
    for (unsigned m = 1; m <= 12 && !possible; ++m)
      possible = ((e.months_ >> m) & 1u) != 0 && first_day <= days_in_month(2000, m);
    if (!possible)
      throw ParseError(
          0, fmt::format("never fires: day-of-month '{}' does not occur in month '{}'", parts[2], parts[3]));
  }
  return e;
}

bool Expression::matches_day(unsigned month, unsigned day, unsigned weekday) const noexcept
{
  if (((months_ >> month) & 1u) == 0)
    return false;
  const bool dom = ((days_ >> day) & 1u) != 0;
  const bool dow = ((weekdays_ >> weekday) & 1u) != 0;
  return day_star_ || weekday_star_ ? dom && dow : dom || dow;
}

std::optional<std::int64_t> Expression::first_match_from(std::int64_t wall_minute) const noexcept
{
  std::int64_t day_number = util::floor_to(wall_minute, 1440) / 1440;
  const auto minute_of_day = static_cast<unsigned>(wall_minute - day_number * 1440);
  const util::CivilDate start = util::civil_from_days(day_number);
  std::int64_t year = start.year;
  unsigned month = start.month;
  unsigned day = start.day;
  unsigned hour = minute_of_day / 60;
  unsigned minute = minute_of_day % 60;
  const std::int64_t last_year = std::min<std::int64_t>(start.year + 400, 9999);

  const int first_month = next_bit(months_, 1);
  while (year <= last_year) {
    // Month.
    const int m = next_bit(months_, month);
    if (m == -1) {
      ++year;
      month = static_cast<unsigned>(first_month);
      day = 1;
      hour = minute = 0;
      continue;
    }
    if (static_cast<unsigned>(m) != month) {
      month = static_cast<unsigned>(m);
      day = 1;
      hour = minute = 0;
    }
    // Day.
    const unsigned month_length = days_in_month(year, month);
    const std::int64_t month_start = util::days_from_civil(year, month, 1);
    while (day <= month_length && !matches_day(month, day, weekday_of(month_start + day - 1))) {
      ++day;
      hour = minute = 0;
    }
    if (day > month_length) {
      if (++month > 12) {
        ++year;
        month = 1;
      }
      day = 1;
      hour = minute = 0;
      continue;
    }
    // Hour, then minute; either running out moves to the next day or hour.
    const int h = next_bit(hours_, hour);
    if (h == -1) {
      ++day;
      hour = minute = 0;
      if (day > month_length) {
        if (++month > 12) {
          ++year;
          month = 1;
        }
        day = 1;
      }
      continue;
    }
    if (static_cast<unsigned>(h) != hour) {
      hour = static_cast<unsigned>(h);
      minute = 0;
    }
    const int mi = next_bit(minutes_, minute);
    if (mi == -1) {
      ++hour;
      minute = 0;
      if (hour > 23) {
        hour = 0;
        ++day;
        if (day > month_length) {
          if (++month > 12) {
            ++year;
            month = 1;
          }
          day = 1;
        }
      }
      continue;
    }
    return (month_start + day - 1) * 1440 + hour * 60 + mi;
  }
  return std::nullopt;
}

} // namespace dm::cron
