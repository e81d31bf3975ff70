#include "dm/cron/schedule.hpp"

#include "dm/util/error.hpp"

// Only qualified names from date: `year` would be ambiguous with std::chrono.
#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <utility>

namespace dm::cron {

namespace {

using Seconds = std::chrono::seconds;

const date::time_zone* locate(const std::string& tz)
{
  try {
    const date::time_zone* zone = date::locate_zone(tz);
    // Loads the zone file now, so a broken one fails here, not in next_fire_after().
    (void)zone->get_info(date::sys_seconds{});
    return zone;
  } catch (const std::exception&) {
    throw UsageError("unknown time zone '" + tz + "' (see timedatectl list-timezones)");
  }
}

util::Micros to_micros(date::sys_seconds t)
{
  return static_cast<util::Micros>(t.time_since_epoch().count()) * util::micros_per_second;
}

/// Whole minutes, rounded up.
std::int64_t ceil_minutes(util::Micros t)
{
  return -util::floor_to(-t, util::micros_per_minute) / util::micros_per_minute;
}

std::string trimmed(std::string_view text)
{
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  return std::string(text);
}

} // namespace

Schedule::Schedule(std::string_view expression, std::string time_zone)
    : text_(trimmed(expression)), time_zone_(std::move(time_zone)), expression_(Expression::parse(expression)),
      zone_(locate(time_zone_))
{
}

std::optional<util::Micros> Schedule::next_fire_after(util::Micros after) const
{
  // Wall-clock minutes map onto instants monotonically (a gap onto its
  // transition instant, a repeated range onto its first occurrence), and no
  // wall time at or before the local time of `after` maps past it: so the
  // answer is the first matching wall minute after that local time whose
  // instant lies after `after`.
  const date::sys_seconds after_s{Seconds{util::floor_to(after, util::micros_per_second) / util::micros_per_second}};
  const auto offset = zone_->get_info(after_s).offset;
  const util::Micros local_after = after + static_cast<util::Micros>(offset.count()) * util::micros_per_second;
  std::int64_t wall = util::floor_to(local_after, util::micros_per_minute) / util::micros_per_minute + 1;

  // Each round moves `wall` strictly forward, and first_match_from() gives up
  // past the year 9999, so this ends; only a repeated range whose first
  // occurrence is already past takes more than one round.
  for (;;) {
    const std::optional<std::int64_t> match = expression_.first_match_from(wall);
    if (!match)
      return std::nullopt;
    const date::local_seconds local{Seconds{*match * 60}};
    const date::local_info info = zone_->get_info(local);
    util::Micros fire = 0;
    if (info.result == date::local_info::nonexistent)
      fire = to_micros(info.first.end);
    else
      fire = to_micros(date::sys_seconds{local.time_since_epoch()} - info.first.offset);
    if (fire > after)
      return fire;
    wall = *match + 1;
    if (info.result == date::local_info::ambiguous) {
      // Past the repeated range: it ends at the transition in the earlier offset's wall clock.
      const util::Micros end_of_repeat = to_micros(info.first.end) +
                                         static_cast<util::Micros>(info.first.offset.count()) * util::micros_per_second;
      wall = std::max(wall, ceil_minutes(end_of_repeat));
    }
  }
}

std::vector<util::Micros> Schedule::next_fire_times(util::Micros after, std::size_t count) const
{
  std::vector<util::Micros> out;
  out.reserve(count);
  util::Micros t = after;
  while (out.size() < count) {
    const std::optional<util::Micros> next = next_fire_after(t);
    if (!next)
      break;
    out.push_back(*next);
    t = *next;
  }
  return out;
}

} // namespace dm::cron
