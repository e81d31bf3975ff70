// Streak arithmetic over UTC days (days since 1970-01-01).

#include "dm/dashboard/streaks.hpp"
#include "dm/util/time.hpp"

#include <catch2/catch.hpp>

#include <vector>

using dm::dashboard::streak_stats;

namespace {

std::int64_t day(std::int64_t y, unsigned m, unsigned d)
{
  return dm::util::days_from_civil(y, m, d);
}

} // namespace

TEST_CASE("streaks: no activity gives zeros", "[dashboard]")
{
  const auto s = streak_stats({}, day(2026, 11, 9));
  CHECK(s.current == 0);
  CHECK(s.longest == 0);
  CHECK(s.active_last_30 == 0);
}

TEST_CASE("streaks: a run ending today counts, one ending yesterday still counts", "[dashboard]")
{
  const std::int64_t today = day(2026, 11, 9);
  const std::vector<std::int64_t> days{today - 10, today - 2, today - 1, today};
  CHECK(streak_stats(days, today).current == 3);
  CHECK(streak_stats(days, today).longest == 3);
  // Seen tomorrow, the run ended yesterday: still alive.
  CHECK(streak_stats(days, today + 1).current == 3);
  // Two days later it is broken.
  CHECK(streak_stats(days, today + 2).current == 0);
  CHECK(streak_stats(days, today + 2).longest == 3);
}

TEST_CASE("streaks: longest run before a shorter current one", "[dashboard]")
{
  const std::int64_t today = day(2026, 3, 2);
  // Across the end of February (2026 is not a leap year): Feb 26, 27, 28, Mar 1 are consecutive.
  std::vector<std::int64_t> days;
  for (std::int64_t d = day(2026, 1, 1); d <= day(2026, 1, 7); ++d)
    days.push_back(d); // 7 days
  for (std::int64_t d = day(2026, 2, 26); d <= day(2026, 3, 1); ++d)
    days.push_back(d); // 4 days, ending yesterday
  const auto s = streak_stats(days, today);
  CHECK(s.current == 4);
  CHECK(s.longest == 7);
  CHECK(day(2026, 3, 1) - day(2026, 2, 26) == 3);
}

TEST_CASE("streaks: days after today are ignored, repeated days count once", "[dashboard]")
{
  const std::int64_t today = day(2026, 11, 9);
  const std::vector<std::int64_t> days{today - 1, today - 1, today, today + 1, today + 2, today + 3};
  const auto s = streak_stats(days, today);
  CHECK(s.current == 2);
  CHECK(s.longest == 2);
  CHECK(s.active_last_30 == 2);
}

TEST_CASE("streaks: active days of the last 30 include today and today - 29 only", "[dashboard]")
{
  const std::int64_t today = day(2026, 11, 9);
  const std::vector<std::int64_t> days{today - 31, today - 30, today - 29, today - 15, today - 3};
  const auto s = streak_stats(days, today);
  CHECK(s.active_last_30 == 3);
  CHECK(s.current == 0);
  CHECK(s.longest == 3);
}
