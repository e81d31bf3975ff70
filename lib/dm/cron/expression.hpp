#pragma once
// A parsed five-field cron expression (DESIGN 6), as sets of allowed values.
// Pure calendar arithmetic on local wall-clock time: no time zones here (see
// Schedule for those).
//
// Syntax: `minute hour day-of-month month day-of-week`, separated by blanks.
// Each field is a comma-separated list of items; an item is `*`, a value, or
// a range `A-B`, each optionally followed by `/STEP`; `N/STEP` runs from N to
// the field's maximum. Months take the names JAN-DEC and days of week SUN-SAT
// (case-insensitive) wherever a number is allowed; Sunday is 0 or 7. Macros:
// @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually.
//
// Day-of-month and day-of-week combine as in cronie: when either field
// starts with `*` (including `*/2`), a day must match both; otherwise a day
// matching either fires.
//
// A value type; immutable after parse(), so safe to share between threads.

#include <cstdint>
#include <optional>
#include <string_view>

namespace dm::cron {

class Expression {
public:
  /// Parses `text` (surrounding blanks ignored). Throws cron::ParseError
  /// naming the field for: a value out of range, a reversed range, a bad or
  /// missing step, an unknown name, an empty list item, a malformed value;
  /// and for the whole expression: a wrong number of fields, an unknown
  /// macro, and an expression that can never fire (`0 0 30 2 *`: no month in
  /// the month field has such a day).
  static Expression parse(std::string_view text);

  /// Bit m set when minute m (0-59) fires.
  std::uint64_t minutes() const noexcept { return minutes_; }
  /// Bit h set when hour h (0-23) fires.
  std::uint32_t hours() const noexcept { return hours_; }
  /// Bit d set for day-of-month d (1-31).
  std::uint32_t days_of_month() const noexcept { return days_; }
  /// Bit m set for month m (1-12).
  std::uint16_t months() const noexcept { return months_; }
  /// Bit w set for weekday w (0 = Sunday ... 6 = Saturday; 7 is folded into 0).
  std::uint8_t days_of_week() const noexcept { return weekdays_; }
  /// True when the day-of-month / day-of-week field started with `*`.
  bool day_of_month_star() const noexcept { return day_star_; }
  bool day_of_week_star() const noexcept { return weekday_star_; }

  /// True when the local calendar day fires (month, day-of-month and
  /// day-of-week with cronie's rule). `weekday`: 0 = Sunday.
  bool matches_day(unsigned month, unsigned day, unsigned weekday) const noexcept;

  /// The first local wall-clock minute at or after `wall_minute` (minutes
  /// since 1970-01-01T00:00 of the proleptic Gregorian calendar, no zone) that
  /// matches every field. Jumps field by field, never minute by minute.
  /// nullopt when none lies within the next 400 years (the calendar repeats
  /// every 400 years, so then none ever will) or before the year 10000.
  std::optional<std::int64_t> first_match_from(std::int64_t wall_minute) const noexcept;

  friend bool operator==(const Expression&, const Expression&) = default;

private:
  std::uint64_t minutes_ = 0;
  std::uint32_t hours_ = 0;
  std::uint32_t days_ = 0;
  std::uint16_t months_ = 0;
  std::uint8_t weekdays_ = 0;
  bool day_star_ = false;
  bool weekday_star_ = false;
};

} // namespace dm::cron
