#pragma once
// A cron expression in an IANA time zone (DESIGN 6): when it fires.
//
// Fire times are local wall-clock minutes matching the expression, turned
// into instants in the zone (the system tz database, as report::calendar):
//   - a local time that does not exist (clocks move forward) fires once, at
//     the first valid instant after it: the transition instant (02:30 on the
//     day Berlin moves from 02:00 to 03:00 fires at 03:00+02:00; every
//     skipped time of that gap fires at that same instant, once);
//   - a local time that exists twice (clocks move back) fires once, at its
//     first occurrence.
// Known limit of the tz reader (see report/calendar.hpp): zone files list
// transitions up to 2037, so later fire times keep the last listed offset.
//
// Immutable after construction; every member is safe to call from any thread.

#include "dm/cron/expression.hpp"
#include "dm/util/time.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace date {
class time_zone;
} // namespace date

namespace dm::cron {

class Schedule {
public:
  /// Parses `expression` (see Expression::parse, whose cron::ParseError it
  /// throws) and looks up `time_zone`; throws dm::UsageError "unknown time
  /// zone 'X' (see timedatectl list-timezones)" when the tz database lacks it.
  explicit Schedule(std::string_view expression, std::string time_zone = "UTC");

  /// The expression as given, surrounding blanks removed.
  const std::string& text() const noexcept { return text_; }
  const std::string& time_zone() const noexcept { return time_zone_; }
  const Expression& expression() const noexcept { return expression_; }

  /// The first fire time strictly after `after`. nullopt only past the year
  /// 9999 (parsing refuses expressions that can never fire).
  std::optional<util::Micros> next_fire_after(util::Micros after) const;

  /// The next `count` fire times strictly after `after`, in increasing order
  /// (fewer only past the year 9999).
  std::vector<util::Micros> next_fire_times(util::Micros after, std::size_t count) const;

private:
  std::string text_;
  std::string time_zone_;
  Expression expression_;
  const date::time_zone* zone_ = nullptr;
};

/// The first fire time of `schedule` strictly after `after`.
inline std::optional<util::Micros> next_fire_after(const Schedule& schedule, util::Micros after)
{
  return schedule.next_fire_after(after);
}

} // namespace dm::cron
