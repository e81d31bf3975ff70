#pragma once
// Report calendars (DESIGN 5): periods, local days and weeks in a time zone.
//
// Every instant is util::Micros (UTC). Days and weeks are local to the zone
// named by an IANA name (`Europe/Berlin`) from the system tz database
// (/usr/share/zoneinfo), so a local day across a DST change is 23 or 25 hours
// long and a local week 167 or 169 hours. When a local midnight does not exist
// (a zone that moves its clocks forward at 00:00) the day starts at the
// transition instant; when it exists twice, at its first occurrence.
//
// Known limit of the tz reader: the system zone files list transitions up to
// 2037 only, so later instants keep the last listed offset (no DST after 2037).
//
// All functions are thread-safe. Those taking a zone name throw dm::UsageError
// when the tz database lacks it.

#include "dm/report/report.hpp"
#include "dm/util/time.hpp"

#include <optional>
#include <string>
#include <vector>

namespace dm::report {

/// Throws dm::UsageError "unknown time zone 'X' (see timedatectl list-timezones)"
/// when the tz database lacks `tz`. Names are case-sensitive; "UTC" is valid.
void check_zone(const std::string& tz);

/// Resolves the period options of `report generate` into [from, to) in `tz`.
///
/// Either `period` — today | yesterday | last-7d | last-30d | this-month | last-month —
/// or both `from` and `to`; when all three are absent the period is last-7d.
/// Relative to the local date of `now` in `tz`:
///   today      = [local midnight today, local midnight tomorrow)
///   yesterday  = the whole local day before today
///   last-7d    = the 7 whole local days before today (today excluded)
///   last-30d   = the 30 whole local days before today
///   this-month = [1st of this month, 1st of next month), local midnights
///   last-month = [1st of last month, 1st of this month)
/// `from` / `to` are each either an ISO date `YYYY-MM-DD` (local midnight of
/// that date in `tz`, so `--to 2026-04-01` ends with March 31) or an RFC 3339
/// timestamp with its own offset or `Z` (util::parse_rfc3339).
///
/// Throws dm::UsageError naming the flag and the offending value for: an
/// unknown zone, an unknown period (the message lists the valid ones), a value
/// that is neither a valid date nor a timestamp (`2026-02-30`), from >= to,
/// --period together with --from/--to, and --from without --to or vice versa.
/// The returned Period carries `tz`.
Period resolve_period(const std::optional<std::string>& period, const std::optional<std::string>& from,
                      const std::optional<std::string>& to, const std::string& tz, util::Micros now);

/// One local calendar day of a period.
struct LocalDay {
  std::string date;       ///< "YYYY-MM-DD", local to the period's zone
  util::Micros start = 0; ///< inclusive; local midnight, or the period's from when later
  util::Micros end = 0;   ///< exclusive; the next local midnight, or the period's to when earlier
};

/// Every local calendar day overlapping [p.from, p.to) in p.tz, in order, each
/// clipped to the period: consecutive days touch, the first starts at p.from
/// and the last ends at p.to. Empty when p.from >= p.to. An unclipped day
/// across a DST change is 23 or 25 hours long.
std::vector<LocalDay> local_days(const Period& p);

/// Local Monday 00:00 of the week (Monday to Sunday, local to `tz`) holding `t`,
/// as an instant.
util::Micros week_start(util::Micros t, const std::string& tz);

/// "YYYY-MM-DD": the local date of `t` in `tz`.
std::string local_date(util::Micros t, const std::string& tz);

/// Local Monday 00:00 of the week `n` local calendar weeks after (n < 0: before)
/// the week holding `week_start`. Computed on local dates, so the result is
/// always a local Monday midnight even when a DST change lies in between (the
/// distance is then 167 or 169 hours per crossed change, not n * 168).
util::Micros add_weeks(util::Micros week_start, int n, const std::string& tz);

/// RFC 3339 local time with its UTC offset: "2026-11-02T09:15:00+01:00"
/// (fractions as six digits, only when non-zero; UTC gives "+00:00"). An offset
/// that is not whole minutes (local mean time before ~1900) cannot be written
/// in RFC 3339: the instant is then given in UTC with `Z`.
std::string format_local(util::Micros t, const std::string& tz);

/// True when every UTC offset `tz` uses in [from, to) is a whole number of
/// hours, so that UTC hourly rollups add up to exact local days (false for
/// Asia/Kolkata +05:30 or Australia/Adelaide +09:30/+10:30). True for an empty range.
bool whole_hour_offsets(const std::string& tz, util::Micros from, util::Micros to);

} // namespace dm::report
