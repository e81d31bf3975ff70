#pragma once
// Text forms of report values as the PDF prints them (DESIGN 5): integers with
// thousands separators, ratios as percentages with one decimal, numbers with
// a precision that suits their magnitude, "n/a" for NaN and infinity. Pure
// functions without libharu, so they are unit-tested on their own.

#include "dm/report/report.hpp"
#include "dm/util/time.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace date {
class time_zone;
}

namespace dm::render::pdf {

/// Printed for NaN, infinity and a missing change.
inline constexpr std::string_view not_available = "n/a";
/// Printed for a NULL cell (an en dash).
inline constexpr std::string_view null_text = "\u2013";

/// "1,234,567"; negative values keep their sign: "-1,234".
std::string group_thousands(std::int64_t value);

/// `value` rounded to `decimals` (0..9) digits after the point, with thousands
/// separators: format_grouped(12345.678, 1) == "12,345.7". Never "-0".
/// "n/a" when `value` is NaN or infinite.
std::string format_grouped(double value, int decimals);

/// Digits after the point for numbers up to `magnitude`: none from 1000 on,
/// one from 100, two from 1, and enough for two significant digits below 1.
int decimals_for(double magnitude) noexcept;

/// The finite value of a numeric cell; nullopt for NULL, text, NaN, infinity.
std::optional<double> numeric_value(const report::Cell& cell) noexcept;

/// Display decimals shared by every cell of a number column, so decimal
/// points line up: decimals_for() of the largest finite magnitude in it.
int column_decimals(const report::Section& section, std::size_t column) noexcept;

/// `ratio` as a percentage: format_percent(0.8734, 1) == "87.3 %".
std::string format_percent(double ratio, int decimals);

/// A cell as printed in a column of `type`; `decimals` applies to number
/// columns. NULL prints as an en dash, NaN and infinity as "n/a".
std::string format_cell(const report::Cell& cell, report::ColumnType type, int decimals);

/// A KPI's value, or its previous value when `previous`.
std::string format_kpi(const report::Kpi& kpi, bool previous);

/// A relative change in percent with its sign: "+4.2 %", "-0.5 %", "0.0 %";
/// "n/a" when there is none (the previous value was 0) or it is not finite.
std::string format_change(std::optional<double> change);

/// Round axis values covering [lo, hi]: the finest step of 1, 2 or 5 times a
/// power of ten that needs at most `max_count` (>= 2) values, the first <= lo
/// and the last >= hi. A flat or invalid range is widened to include 0 (or
/// to [0, 1]).
struct Ticks {
  std::vector<double> values;
  int decimals = 0; ///< digits after the point the step needs
};
/// `integral` keeps the step at 1 or more (axes of counts).
Ticks nice_ticks(double lo, double hi, int max_count, bool integral);

/// Ticks for a second axis whose values line up with `reference` (whose
/// values include 0, as nice_ticks() gives for ranges containing 0): as many
/// values, 0 at the same position, the smallest round step covering [lo, hi]
/// and 0. Nullopt when no step can (reference has no 0, or no room on the
/// side of 0 the data needs).
std::optional<Ticks> aligned_ticks(const Ticks& reference, double lo, double hi);

/// A tick value printed for an axis of `type` (ratios as percentages).
std::string format_tick(double value, report::ColumnType type, int decimals);

/// A chart category: a date "2026-11-02" as "2 Nov", a timestamp
/// "2026-11-02T08:00:00+01:00" as "2 Nov 08:00"; anything else unchanged.
std::string category_label(std::string_view text, report::ColumnType type);

/// Instants as wall-clock time in the report's IANA zone (DESIGN 5: --tz).
/// An unknown zone falls back to UTC, and zone() names what was used.
/// Immutable once built; safe to share between threads.
class LocalTimes {
public:
  explicit LocalTimes(const std::string& tz);

  /// "2026-11-02 08:15", with ":SS" when `with_seconds` or the seconds are not 0.
  std::string format(util::Micros t, bool with_seconds = false) const;

  /// The zone's name, or "UTC (unknown zone NAME)" after a fallback.
  const std::string& zone() const noexcept { return name_; }

private:
  const date::time_zone* zone_ = nullptr; ///< nullptr = UTC
  std::string name_;
};

} // namespace dm::render::pdf
