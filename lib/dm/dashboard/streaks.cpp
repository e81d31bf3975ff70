#include "dm/dashboard/streaks.hpp"

#include <algorithm>

namespace dm::dashboard {

StreakStats streak_stats(std::span<const std::int64_t> days, std::int64_t today) noexcept
{
  StreakStats out;
  std::int64_t run = 0;
  std::int64_t last = 0;
  bool any = false;
  for (const std::int64_t day : days) {
    if (day > today)
      break;
    if (any && day == last)
      continue; // tolerate a repeated day
    run = any && day == last + 1 ? run + 1 : 1;
    out.longest = std::max(out.longest, run);
    if (day > today - 30)
      ++out.active_last_30;
    last = day;
    any = true;
  }
  if (any && last >= today - 1)
    out.current = run;
  return out;
}

} // namespace dm::dashboard
