#include "dm/report/calendar.hpp"

#include "dm/util/error.hpp"

// Howard Hinnant's date/tz, built with USE_OS_TZDB (date::date-tz). Only
// qualified names are used here: `year` and friends would be ambiguous with
// std::chrono under using-directives of both namespaces.
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace dm::report {

namespace {

using Micros = util::Micros;
using Us = std::chrono::microseconds;
using SysUs = date::sys_time<Us>;

constexpr std::array<std::string_view, 6> period_names{"today",   "yesterday",  "last-7d",
                                                       "last-30d", "this-month", "last-month"};

/// The zone named `tz`, looked up once per name and process. date::locate_zone
/// returns a pointer that stays valid for the life of the process; forcing a
/// get_info() here makes the zone file load (and fail) at check time rather
/// than in the middle of a report.
const date::time_zone* zone_of(const std::string& tz)
{
  static std::mutex mutex;
  static std::unordered_map<std::string, const date::time_zone*> cache;
  {
    const std::lock_guard lock(mutex);
    if (const auto it = cache.find(tz); it != cache.end())
      return it->second;
  }
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(tz);
    (void)zone->get_info(date::sys_seconds{});
  } catch (const std::exception&) {
    throw UsageError("unknown time zone '" + tz + "' (see timedatectl list-timezones)");
  }
  // Only names the database has are cached, so the map is bounded by its size.
  const std::lock_guard lock(mutex);
  cache.emplace(tz, zone);
  return zone;
}

Micros to_micros(date::sys_seconds t)
{
  return std::chrono::duration_cast<Us>(t.time_since_epoch()).count();
}

/// The local calendar date of `t` in `zone`.
date::local_days local_day_of(const date::time_zone* zone, Micros t)
{
  return date::floor<date::days>(zone->to_local(SysUs{Us{t}}));
}

/// The instant of local midnight starting `day`: the earlier one when it is
/// ambiguous, the transition instant when it does not exist (both by date's
/// choose::earliest).
Micros midnight(const date::time_zone* zone, date::local_days day)
{
  return to_micros(zone->to_sys(day, date::choose::earliest));
}

/// The Monday starting the Monday-to-Sunday week that holds `day`.
date::local_days monday_of(date::local_days day)
{
  // weekday subtraction is modulo 7, in [0, 6] days.
  return day - (date::weekday{day} - date::Monday);
}

void put_digits(std::string& out, unsigned v, int width)
{
  char buf[8];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out.append(buf, static_cast<std::size_t>(width));
}

/// "YYYY-MM-DD"; hand-formatted since local_days() makes one per day.
std::string format_date(date::local_days day)
{
  const date::year_month_day ymd{day};
  const int y = static_cast<int>(ymd.year());
  if (y < 0 || y > 9999) {
    char buf[24];
    const int n = std::snprintf(buf, sizeof buf, "%d-%02u-%02u", y, static_cast<unsigned>(ymd.month()),
                                static_cast<unsigned>(ymd.day()));
    return {buf, static_cast<std::size_t>(n)};
  }
  std::string out;
  out.reserve(10);
  put_digits(out, static_cast<unsigned>(y), 4);
  out += '-';
  put_digits(out, static_cast<unsigned>(ymd.month()), 2);
  out += '-';
  put_digits(out, static_cast<unsigned>(ymd.day()), 2);
  return out;
}

/// Parses exactly `YYYY-MM-DD` naming a real calendar date.
std::optional<date::local_days> parse_iso_date(std::string_view s)
{
  if (s.size() != 10 || s[4] != '-' || s[7] != '-')
    return std::nullopt;
  auto num = [&s](std::size_t pos, std::size_t n, int& out) {
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9')
        return false;
      v = v * 10 + (s[i] - '0');
    }
    out = v;
    return true;
  };
  int y = 0, m = 0, d = 0;
  if (!num(0, 4, y) || !num(5, 2, m) || !num(8, 2, d))
    return std::nullopt;
  const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(m)},
                                 date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok())
    return std::nullopt;
  return date::local_days{ymd};
}

/// One --from / --to value: a local date (its midnight in `zone`) or an RFC
/// 3339 timestamp with offset.
Micros parse_bound(std::string_view flag, const std::string& text, const date::time_zone* zone)
{
  if (const auto day = parse_iso_date(text))
    return midnight(zone, *day);
  if (const auto t = util::parse_rfc3339(text))
    return *t;
  throw UsageError(std::string(flag) + ": invalid date or timestamp '" + text +
                   "' (expected YYYY-MM-DD or RFC 3339 with an offset, such as 2026-11-02T09:15:00+01:00)");
}

std::string valid_periods()
{
  std::string out;
  for (const std::string_view name : period_names) {
    if (!out.empty())
      out += ", ";
    out += name;
  }
  return out;
}

} // namespace

void check_zone(const std::string& tz)
{
  (void)zone_of(tz);
}

Period resolve_period(const std::optional<std::string>& period, const std::optional<std::string>& from,
                      const std::optional<std::string>& to, const std::string& tz, util::Micros now)
{
  if (period && (from || to)) {
    const std::string other = from ? "--from '" + *from + "'" : "--to '" + *to + "'";
    throw UsageError("--period '" + *period + "' cannot be combined with " + other +
                     ": give either --period or --from/--to");
  }
  if (from && !to)
    throw UsageError("--from '" + *from + "' requires --to");
  if (to && !from)
    throw UsageError("--to '" + *to + "' requires --from");

  const date::time_zone* zone = nullptr;
  try {
    zone = zone_of(tz);
  } catch (const UsageError& e) {
    throw UsageError(std::string("--tz: ") + e.what());
  }

  Period p;
  p.tz = tz;
  if (from) {
    p.from = parse_bound("--from", *from, zone);
    p.to = parse_bound("--to", *to, zone);
    if (p.from >= p.to)
      throw UsageError("--from '" + *from + "' is not before --to '" + *to + "' (" +
                       format_local(p.from, tz) + " >= " + format_local(p.to, tz) + ")");
    return p;
  }

  const std::string_view name = period ? std::string_view(*period) : std::string_view("last-7d");
  const date::local_days today = local_day_of(zone, now);
  const date::year_month this_month = date::year_month_day{today}.year() / date::year_month_day{today}.month();
  date::local_days first{}, end{};
  if (name == "today") {
    first = today;
    end = today + date::days{1};
  } else if (name == "yesterday") {
    first = today - date::days{1};
    end = today;
  } else if (name == "last-7d") {
    first = today - date::days{7};
    end = today;
  } else if (name == "last-30d") {
    first = today - date::days{30};
    end = today;
  } else if (name == "this-month") {
    first = date::local_days{this_month / 1};
    end = date::local_days{(this_month + date::months{1}) / 1};
  } else if (name == "last-month") {
    first = date::local_days{(this_month - date::months{1}) / 1};
    end = date::local_days{this_month / 1};
  } else {
    throw UsageError("--period: unknown period '" + std::string(name) + "' (valid: " + valid_periods() + ")");
  }
  p.from = midnight(zone, first);
  p.to = midnight(zone, end);
  return p;
}

std::vector<LocalDay> local_days(const Period& p)
{
  std::vector<LocalDay> out;
  if (p.from >= p.to)
    return out;
  const date::time_zone* zone = zone_of(p.tz);
  const date::local_days first = local_day_of(zone, p.from);
  const date::local_days last = local_day_of(zone, p.to - 1);
  out.reserve(static_cast<std::size_t>((last - first).count() + 1));
  Micros start = p.from;
  for (date::local_days day = first; day <= last; day += date::days{1}) {
    // One tz lookup per day: each day's end is the next day's start.
    const Micros next = midnight(zone, day + date::days{1});
    out.push_back(LocalDay{format_date(day), start, std::min(next, p.to)});
    start = next;
  }
  return out;
}

util::Micros week_start(util::Micros t, const std::string& tz)
{
  const date::time_zone* zone = zone_of(tz);
  return midnight(zone, monday_of(local_day_of(zone, t)));
}

std::string local_date(util::Micros t, const std::string& tz)
{
  return format_date(local_day_of(zone_of(tz), t));
}

util::Micros add_weeks(util::Micros week_start, int n, const std::string& tz)
{
  const date::time_zone* zone = zone_of(tz);
  return midnight(zone, monday_of(local_day_of(zone, week_start)) + date::days{7 * n});
}

std::string format_local(util::Micros t, const std::string& tz)
{
  const date::time_zone* zone = zone_of(tz);
  const date::sys_info info = zone->get_info(date::floor<std::chrono::seconds>(SysUs{Us{t}}));
  const auto offset_s = info.offset.count();
  if (offset_s % 60 != 0)
    return util::format_rfc3339_utc(t);

  // The local wall time, formatted by the UTC formatter on shifted digits.
  const Micros local = t + offset_s * util::micros_per_second;
  std::string out = util::format_rfc3339_utc(local);
  out.pop_back(); // 'Z'
  const auto abs_min = static_cast<unsigned>((offset_s < 0 ? -offset_s : offset_s) / 60);
  out += offset_s < 0 ? '-' : '+';
  put_digits(out, abs_min / 60, 2);
  out += ':';
  put_digits(out, abs_min % 60, 2);
  return out;
}

bool whole_hour_offsets(const std::string& tz, util::Micros from, util::Micros to)
{
  const date::time_zone* zone = zone_of(tz);
  if (from >= to)
    return true;
  // Compared in seconds: the last sys_info ends at sys_seconds::max(), which
  // would overflow as microseconds.
  const auto end = date::ceil<std::chrono::seconds>(SysUs{Us{to}});
  date::sys_info info = zone->get_info(date::floor<std::chrono::seconds>(SysUs{Us{from}}));
  for (;;) {
    if (info.offset.count() % 3600 != 0)
      return false;
    if (info.end >= end)
      return true;
    info = zone->get_info(info.end);
  }
}

} // namespace dm::report
