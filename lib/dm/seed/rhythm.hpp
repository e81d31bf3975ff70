#pragma once
// Calendar and daily rhythm of the synthetic platform: when people learn,
// sign up and pay (local time in Europe), and how traffic follows them.

#include "dm/util/time.hpp"

#include <array>
#include <cstdint>

namespace dm::seed {

/// Day of the week of a day counted from the epoch: Monday = 0 … Sunday = 6.
constexpr int weekday_of(std::int64_t epoch_day) noexcept
{
  return static_cast<int>(((epoch_day + 3) % 7 + 7) % 7);
}

constexpr bool is_weekend(int weekday) noexcept
{
  return weekday >= 5;
}

/// True when `t` falls in EU summer time: from 01:00 UTC on the last Sunday of
/// March to 01:00 UTC on the last Sunday of October.
bool eu_summer_time(util::Micros t) noexcept;

/// The UTC offset at `t` of a European zone with the given standard offset.
util::Micros local_offset(int standard_offset_hours, util::Micros t) noexcept;

/// Relative intensity of learning at a local hour (0..23): an evening peak on
/// weekdays with smaller bumps on the way to work and at lunch; later and
/// flatter at weekends.
double learning_hour_weight(int hour, bool weekend) noexcept;

/// The 24 weights of learning_hour_weight for one kind of day.
const std::array<double, 24>& learning_hour_weights(bool weekend) noexcept;

/// Relative number of people learning on a weekday (Monday = 0), Sunday highest:
/// the week's plans are made on Sunday evening, Friday evening is for going out.
double weekday_activity(int weekday) noexcept;

/// Traffic of the platform at `t` relative to its weekly mean (about 1): the
/// learning rhythm in Central European time on top of a constant floor of
/// background traffic (token refreshes, webhooks, crawlers), interpolated
/// between hours so it has no steps.
double traffic_shape(util::Micros t) noexcept;

/// `t` moved by whole calendar months, keeping the time of day; a day of the
/// month that does not exist in the target month becomes its last day.
util::Micros add_months(util::Micros t, int months) noexcept;

} // namespace dm::seed
