#pragma once
// Instants as microseconds since the Unix epoch (UTC), the resolution of
// PostgreSQL's timestamptz. Parsing and formatting without allocation on the
// hot path of ingest.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dm::util {

using Micros = std::int64_t;

inline constexpr Micros micros_per_second = 1'000'000;
inline constexpr Micros micros_per_minute = 60 * micros_per_second;
inline constexpr Micros micros_per_hour = 60 * micros_per_minute;
inline constexpr Micros micros_per_day = 24 * micros_per_hour;

/// Parses an RFC 3339 timestamp: `2026-11-02T08:15:00Z`, `2026-11-02T09:15:00.25+01:00`.
/// A space may stand for the `T`, and `+HH`/`+HHMM` offsets are accepted too.
/// Returns nullopt on anything else (including a missing offset).
std::optional<Micros> parse_rfc3339(std::string_view text) noexcept;

/// Parses an RFC 3339 timestamp or a bare date `YYYY-MM-DD` (midnight UTC).
std::optional<Micros> parse_date_or_timestamp(std::string_view text) noexcept;

/// Writes `YYYY-MM-DD HH:MM:SS[.ffffff]+00` (PostgreSQL's input format) into
/// `out`, which must hold at least 40 bytes; returns the length written.
std::size_t format_pg_timestamp(Micros t, char* out) noexcept;

/// `2026-11-02T08:15:00Z` (fractions only when non-zero).
std::string format_rfc3339_utc(Micros t);

/// Floors to a multiple of `unit` (works for negative instants too).
constexpr Micros floor_to(Micros t, Micros unit) noexcept
{
  Micros q = t / unit;
  if (t % unit < 0)
    --q;
  return q * unit;
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept
{
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct CivilDate {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

constexpr CivilDate civil_from_days(std::int64_t z) noexcept
{
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

/// The current instant.
Micros now() noexcept;

} // namespace dm::util
