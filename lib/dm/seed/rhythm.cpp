#include "dm/seed/rhythm.hpp"

namespace dm::seed {

namespace {

using util::Micros;
using util::micros_per_day;
using util::micros_per_hour;

// Relative share of learning per local hour, 0 to 23.
constexpr std::array<double, 24> weekday_hours{
    1.6, 0.8, 0.4, 0.25, 0.25, 0.5, 1.4, 3.2, 3.6, 3.0, 2.8, 3.2,  // night, commute, morning
    4.3, 4.2, 3.3, 3.4,  4.4,  5.8, 6.8, 8.2, 9.6, 9.0, 6.2, 3.4}; // lunch, afternoon, evening
constexpr std::array<double, 24> weekend_hours{
    2.6, 1.4, 0.7, 0.35, 0.25, 0.25, 0.5, 1.1, 2.4, 3.9, 5.0, 5.6,
    5.6, 5.2, 5.0, 5.0,  5.4,  5.9,  6.4, 7.0, 7.6, 7.0, 5.0, 3.4};
constexpr std::array<double, 7> weekday_factors{1.0, 1.02, 0.98, 0.95, 0.78, 0.84, 1.14};

/// Share of traffic that does not follow people (background jobs, crawlers).
constexpr double traffic_floor = 0.3;

constexpr bool is_leap(std::int64_t y) noexcept
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr unsigned days_in_month(std::int64_t y, unsigned m) noexcept
{
  constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29u : days[m - 1];
}

/// The day (from the epoch) of the last Sunday of a month.
constexpr std::int64_t last_sunday(std::int64_t year, unsigned month) noexcept
{
  const std::int64_t last = util::days_from_civil(year, month, days_in_month(year, month));
  return last - (weekday_of(last) + 1) % 7;
}

/// Learning intensity of one local hour, counted in hours from the epoch.
double hour_value(std::int64_t local_hour_index) noexcept
{
  const std::int64_t day = util::floor_to(local_hour_index, 24) / 24;
  const auto hour = static_cast<int>(local_hour_index - day * 24);
  const int weekday = weekday_of(day);
  return learning_hour_weight(hour, is_weekend(weekday)) * weekday_activity(weekday);
}

double weekly_mean() noexcept
{
  double sum = 0;
  for (int weekday = 0; weekday < 7; ++weekday)
    for (int hour = 0; hour < 24; ++hour)
      sum += learning_hour_weight(hour, is_weekend(weekday)) * weekday_activity(weekday);
  return sum / (7 * 24);
}

} // namespace

bool eu_summer_time(Micros t) noexcept
{
  const std::int64_t day = util::floor_to(t, micros_per_day) / micros_per_day;
  const std::int64_t year = util::civil_from_days(day).year;
  const Micros start = last_sunday(year, 3) * micros_per_day + micros_per_hour;
  const Micros stop = last_sunday(year, 10) * micros_per_day + micros_per_hour;
  return t >= start && t < stop;
}

Micros local_offset(int standard_offset_hours, Micros t) noexcept
{
  return (standard_offset_hours + (eu_summer_time(t) ? 1 : 0)) * micros_per_hour;
}

const std::array<double, 24>& learning_hour_weights(bool weekend) noexcept
{
  return weekend ? weekend_hours : weekday_hours;
}

double learning_hour_weight(int hour, bool weekend) noexcept
{
  return learning_hour_weights(weekend)[static_cast<std::size_t>(hour)];
}

double weekday_activity(int weekday) noexcept
{
  return weekday_factors[static_cast<std::size_t>(weekday)];
}

double traffic_shape(Micros t) noexcept
{
  static const double mean = weekly_mean();
  const Micros local = t + local_offset(1, t);
  // Each hour's weight sits at its middle; in between, interpolate linearly.
  const Micros shifted = local - micros_per_hour / 2;
  const std::int64_t hour_index = util::floor_to(shifted, micros_per_hour) / micros_per_hour;
  const double frac = static_cast<double>(shifted - hour_index * micros_per_hour) /
                      static_cast<double>(micros_per_hour);
  const double value = hour_value(hour_index) * (1 - frac) + hour_value(hour_index + 1) * frac;
  return traffic_floor + (1 - traffic_floor) * value / mean;
}

Micros add_months(Micros t, int months) noexcept
{
  const Micros midnight = util::floor_to(t, micros_per_day);
  const util::CivilDate date = util::civil_from_days(midnight / micros_per_day);
  const std::int64_t index = date.year * 12 + static_cast<std::int64_t>(date.month) - 1 + months;
  const std::int64_t year = util::floor_to(index, 12) / 12;
  const auto month = static_cast<unsigned>(index - year * 12 + 1);
  const unsigned day =
      date.day < days_in_month(year, month) ? date.day : days_in_month(year, month);
  return util::days_from_civil(year, month, day) * micros_per_day + (t - midnight);
}

} // namespace dm::seed
