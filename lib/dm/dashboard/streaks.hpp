#pragma once
// Streak arithmetic of the user progress dashboard over UTC days, pure so that
// it is tested with inline data.

#include <cstdint>
#include <span>

namespace dm::dashboard {

struct StreakStats {
  /// Consecutive active days of the run that ends today or yesterday; 0 when
  /// the latest active day is older (a streak survives until the end of the
  /// day after its last activity).
  std::int64_t current = 0;
  /// The longest run of consecutive active days up to today.
  std::int64_t longest = 0;
  /// Active days among the 30 days ending today (today - 29 ... today).
  std::int64_t active_last_30 = 0;
};

/// `days`: the distinct active days as days since 1970-01-01, ascending;
/// `today`: the current day. Days after today are not counted.
StreakStats streak_stats(std::span<const std::int64_t> days, std::int64_t today) noexcept;

} // namespace dm::dashboard
