#include "dm/seed/generator.hpp"

#include "dm/seed/catalogue.hpp"
#include "dm/seed/learning_model.hpp"
#include "dm/seed/random.hpp"
#include "dm/seed/rhythm.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace dm::seed {

namespace {

using util::Micros;
using util::micros_per_day;
using util::micros_per_hour;
using util::micros_per_minute;

constexpr int max_users = 10'000'000;
constexpr int max_days = 3660;

/// Request samples per minute per user, averaged over the period.
constexpr double requests_per_user_minute = 15.0 / 2000;

/// Payment rows per user: about 8 % subscribe, and renewals and cancellations
/// add up with the length of the period (fitted to measured data sets).
double payment_rows_per_user(int days) noexcept
{
  return 0.06 + 0.07 * std::min(days, 365) / 90.0;
}

/// Relative chance that a latency spike / an error burst hits each service:
/// slow queries hurt the busy read paths; deployments break anything.
constexpr std::array<double, services.size()> latency_targets{0.5, 0, 0.25, 0, 0.25};
constexpr std::array<double, services.size()> error_targets{0.35, 0.2, 0.15, 0.15, 0.15};

} // namespace

Generator::Generator(SeedOptions options) : options_(options)
{
  if (options_.users < 1 || options_.users > max_users)
    throw std::invalid_argument("seed: users must be between 1 and " + std::to_string(max_users) +
                                ", not " + std::to_string(options_.users));
  if (options_.days < 1 || options_.days > max_days)
    throw std::invalid_argument("seed: days must be between 1 and " + std::to_string(max_days) +
                                ", not " + std::to_string(options_.days));
  end_ = util::floor_to(options_.end == 0 ? util::now() : options_.end, micros_per_day);
  begin_ = end_ - options_.days * micros_per_day;
  profiles_ = make_profiles(options_.users, options_.days, options_.seed, begin_);

  // Expected learners per day, from the same probabilities the simulation draws with.
  const auto days = static_cast<std::size_t>(options_.days);
  std::vector<double> active(days, 0.0);
  const std::int64_t first_day = begin_ / micros_per_day;
  for (const UserProfile& p : profiles_) {
    active[static_cast<std::size_t>(p.signup_day)] += first_session_probability;
    expected_sessions_ += first_session_probability;
    const int last = std::min(p.lifetime_days, options_.days - 1 - p.signup_day);
    for (int k = 1; k <= last; ++k) {
      const int d = p.signup_day + k;
      const double q = activity_probability(p, k, weekday_of(first_day + d));
      active[static_cast<std::size_t>(d)] += q;
      expected_sessions_ += q * sessions_per_active_day;
    }
  }
  double mean = 0;
  for (const double a : active)
    mean += a / static_cast<double>(days);
  activity_ratio_.resize(days);
  for (std::size_t d = 0; d < days; ++d)
    activity_ratio_[d] = mean > 0 ? active[d] / mean : 1.0;

  double sum = 0;
  for (Micros t = begin_ + micros_per_minute * 15 / 2; t < end_; t += 15 * micros_per_minute)
    sum += requests_per_minute(t);
  requests_per_minute_mean_ = sum / (options_.days * 24 * 4);

  plan_incidents();
}

void Generator::plan_incidents()
{
  Random random(options_.seed, Stream::incidents, 0);
  const WeightedIndex latency_service{latency_targets};
  const WeightedIndex error_service{error_targets};
  const int recent_days = std::min(options_.days, 7);
  const auto plan = [&](Incident::Type type, int count) {
    for (int i = 0; i < count; ++i) {
      Incident incident;
      incident.type = type;
      // The first of each type falls in the last week, where a default report looks.
      const std::int64_t day = i == 0 ? options_.days - 1 - random.between(0, recent_days - 1)
                                      : random.between(0, options_.days - 1);
      const Micros day_start = begin_ + day * micros_per_day;
      const std::int64_t minute = random.between(9 * 60, 20 * 60);
      incident.begin = day_start + minute * micros_per_minute -
                       local_offset(1, day_start + 12 * micros_per_hour);
      if (type == Incident::Type::latency) {
        // The first spike is the database's fault, which the api feels first.
        incident.service = i == 0 ? 0 : latency_service(random);
        incident.end = incident.begin + random.between(45, 90) * micros_per_minute;
        incident.severity = random.uniform(6, 11);
      } else {
        incident.service = error_service(random);
        incident.end = incident.begin + random.between(15, 30) * micros_per_minute;
        incident.severity = random.uniform(0.2, 0.45);
      }
      incidents_.push_back(incident);
    }
  };
  const auto per = [&](double days_each) {
    return std::max(1, static_cast<int>(std::lround(options_.days / days_each)));
  };
  plan(Incident::Type::latency, per(20));
  plan(Incident::Type::errors, per(15));
  // The first incident planned is the latency spike in the last week; the
  // database starts to struggle a little before the api shows it.
  saturation_begin_ = incidents_.front().begin - 10 * micros_per_minute;
  saturation_end_ = incidents_.front().end;
  // Stable, so incidents that start together keep the planned order on every standard library.
  std::stable_sort(incidents_.begin(), incidents_.end(),
                   [](const Incident& a, const Incident& b) { return a.begin < b.begin; });
}

double Generator::requests_per_minute(Micros t) const noexcept
{
  const auto day = static_cast<std::size_t>((t - begin_) / micros_per_day);
  const double people = activity_ratio_[std::min(day, activity_ratio_.size() - 1)];
  return requests_per_user_minute * options_.users * (0.3 + 0.7 * people) * traffic_shape(t);
}

void Generator::users(ingest::RecordSink& sink) const
{
  ingest::UserRecord row;
  for (const UserProfile& p : profiles_) {
    row.user_id = p.user_id;
    row.signup_at = p.signup_at;
    row.country = std::string(countries[p.country].code);
    row.platform = p.platform;
    row.channel = p.channel;
    sink.add(row);
  }
}

std::uint64_t Generator::estimated_rows(ingest::Kind kind) const noexcept
{
  const double minutes = options_.days * 24.0 * 60.0;
  double rows = 0;
  switch (kind) {
  case ingest::Kind::users:
    rows = static_cast<double>(profiles_.size());
    break;
  case ingest::Kind::learning:
    rows = expected_sessions_ * rows_per_session;
    break;
  case ingest::Kind::payments:
    rows = payment_rows_per_user(options_.days) * options_.users;
    break;
  case ingest::Kind::requests:
    rows = requests_per_minute_mean_ * minutes;
    break;
  case ingest::Kind::host:
    rows = static_cast<double>(hosts.size()) * minutes;
    break;
  }
  return static_cast<std::uint64_t>(std::llround(rows));
}

} // namespace dm::seed
