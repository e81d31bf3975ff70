#include "dm/util/time.hpp"

#include <chrono>
#include <cstdio>

namespace dm::util {

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept
{
  if (pos + n > s.size())
    return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    const char c = s[i];
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

constexpr bool is_leap(int y) noexcept
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr unsigned days_in_month(int y, int m) noexcept
{
  constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29u : days[m - 1];
}

/// Parses `YYYY-MM-DD` at the start of `s` into days since the epoch.
bool parse_date_part(std::string_view s, std::int64_t& days) noexcept
{
  int y = 0, mo = 0, d = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || static_cast<unsigned>(d) > days_in_month(y, mo))
    return false;
  days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return true;
}

} // namespace

std::optional<Micros> parse_rfc3339(std::string_view s) noexcept
{
  std::int64_t days = 0;
  if (!parse_date_part(s, days))
    return std::nullopt;
  if (s.size() < 19 || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
    return std::nullopt;
  int h = 0, mi = 0, sec = 0;
  if (!digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' ||
      !digits(s, 17, 2, sec))
    return std::nullopt;
  if (h > 23 || mi > 59 || sec > 60) // 60: a leap second, folded into the next
    return std::nullopt;
  std::size_t pos = 19;
  Micros frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    Micros scale = 100000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 6) {
        frac += (s[pos] - '0') * scale;
        scale /= 10;
      }
      ++pos;
      ++n;
    }
    if (n == 0)
      return std::nullopt;
  }
  if (pos >= s.size())
    return std::nullopt;
  Micros offset = 0;
  const char z = s[pos];
  if (z == 'Z' || z == 'z') {
    ++pos;
  } else if (z == '+' || z == '-') {
    int oh = 0, om = 0;
    if (!digits(s, pos + 1, 2, oh))
      return std::nullopt;
    pos += 3;
    if (pos < s.size()) {
      if (s[pos] == ':')
        ++pos;
      if (!digits(s, pos, 2, om))
        return std::nullopt;
      pos += 2;
    }
    if (oh > 23 || om > 59)
      return std::nullopt;
    offset = (oh * 60 + om) * micros_per_minute;
    if (z == '-')
      offset = -offset;
  } else {
    return std::nullopt;
  }
  if (pos != s.size())
    return std::nullopt;
  return days * micros_per_day + ((h * 60 + mi) * 60 + sec) * micros_per_second + frac - offset;
}

std::optional<Micros> parse_date_or_timestamp(std::string_view text) noexcept
{
  if (text.size() == 10) {
    std::int64_t days = 0;
    if (!parse_date_part(text, days))
      return std::nullopt;
    return days * micros_per_day;
  }
  return parse_rfc3339(text);
}

std::size_t format_pg_timestamp(Micros t, char* out) noexcept
{
  const Micros day_start = floor_to(t, micros_per_day);
  const CivilDate date = civil_from_days(day_start / micros_per_day);
  Micros rest = t - day_start;
  const auto frac = static_cast<int>(rest % micros_per_second);
  rest /= micros_per_second;
  const auto sec = static_cast<int>(rest % 60);
  const auto min = static_cast<int>((rest / 60) % 60);
  const auto hour = static_cast<int>(rest / 3600);
  if (date.year < 0 || date.year > 9999)
    return static_cast<std::size_t>(std::snprintf(out, 40, "%lld-%02u-%02u %02d:%02d:%02d.%06d+00",
                                                  static_cast<long long>(date.year), date.month,
                                                  date.day, hour, min, sec, frac));
  // Hand-rolled: this runs once per ingested row.
  char* p = out;
  auto put = [&p](unsigned v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += width;
  };
  put(static_cast<unsigned>(date.year), 4);
  *p++ = '-';
  put(date.month, 2);
  *p++ = '-';
  put(date.day, 2);
  *p++ = ' ';
  put(static_cast<unsigned>(hour), 2);
  *p++ = ':';
  put(static_cast<unsigned>(min), 2);
  *p++ = ':';
  put(static_cast<unsigned>(sec), 2);
  if (frac != 0) {
    *p++ = '.';
    put(static_cast<unsigned>(frac), 6);
  }
  *p++ = '+';
  *p++ = '0';
  *p++ = '0';
  *p = '\0';
  return static_cast<std::size_t>(p - out);
}

std::string format_rfc3339_utc(Micros t)
{
  char buf[48];
  std::size_t n = format_pg_timestamp(t, buf);
  // "YYYY-MM-DD HH:MM:SS[.ffffff]+00" -> "YYYY-MM-DDTHH:MM:SS[.ffffff]Z"
  std::string s(buf, n - 3);
  s[10] = 'T';
  s += 'Z';
  return s;
}

Micros now() noexcept
{
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace dm::util
