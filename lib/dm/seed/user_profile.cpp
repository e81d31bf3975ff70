#include "dm/seed/user_profile.hpp"

#include "dm/seed/catalogue.hpp"
#include "dm/seed/random.hpp"
#include "dm/seed/rhythm.hpp"

#include <algorithm>
#include <cmath>

namespace dm::seed {

namespace {

using util::Micros;
using util::micros_per_day;
using util::micros_per_hour;

/// Sign-ups by weekday (Monday = 0): resolutions on Monday, fewer at weekends.
constexpr std::array<double, 7> signup_weekday{1.12, 1.05, 1.0, 0.97, 0.86, 0.82, 1.08};
/// Sign-ups per day grow by this share from the first to the last day.
constexpr double signup_growth = 0.35;

/// Engagement mix by channel: referred users are more often serious learners,
/// users from social media more often just curious.
constexpr std::array<std::array<double, 3>, 4> engagement_by_channel{{
    {40, 32, 28}, // organic
    {38, 33, 29}, // paid_search
    {52, 30, 18}, // social
    {30, 30, 40}, // referral
}};

/// How many of `users` sign up on each day: proportional to the day's weight,
/// rounded by largest remainder so the total is exact.
std::vector<int> signups_per_day(int users, const std::vector<double>& weights)
{
  double total = 0;
  for (const double w : weights)
    total += w;
  const auto n = weights.size();
  std::vector<int> counts(n);
  std::vector<std::pair<double, std::size_t>> remainders(n);
  int assigned = 0;
  for (std::size_t d = 0; d < n; ++d) {
    const double exact = users * weights[d] / total;
    counts[d] = static_cast<int>(exact);
    assigned += counts[d];
    remainders[d] = {exact - counts[d], d};
  }
  // Ties go to the earlier day, so the order is total and the result portable.
  std::sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (std::size_t i = 0; assigned < users; ++i, ++assigned)
    ++counts[remainders[i % n].second];
  return counts;
}

void draw_traits(UserProfile& p, std::uint64_t seed)
{
  static const WeightedIndex platform_index{platform_weights};
  static const WeightedIndex country_index{[] {
    std::vector<double> weights;
    for (const Country& c : countries)
      weights.push_back(c.weight);
    return weights;
  }()};
  static const WeightedIndex channel_index{channel_weights};

  static const std::array<WeightedIndex, 4> engagement_index{
      WeightedIndex{engagement_by_channel[0]}, WeightedIndex{engagement_by_channel[1]},
      WeightedIndex{engagement_by_channel[2]}, WeightedIndex{engagement_by_channel[3]}};

  Random random(seed, Stream::profile, static_cast<std::uint64_t>(p.user_id));
  p.platform = static_cast<ingest::Platform>(platform_index(random));
  p.country = static_cast<std::uint8_t>(country_index(random));
  p.channel = static_cast<ingest::Channel>(channel_index(random));
  p.engagement =
      static_cast<Engagement>(engagement_index[static_cast<std::size_t>(p.channel)](random));
  p.struggler = random.chance(0.06);
  if (p.struggler) {
    p.ability = -1.25 + 0.3 * random.normal();
    p.learning_gain = 0.12 + 0.05 * random.normal();
  } else {
    p.ability = 0.7 + 0.5 * random.normal();
    p.learning_gain = 0.45 + 0.1 * random.normal();
  }
  p.learning_gain = std::clamp(p.learning_gain, 0.05, 0.8);
  p.speed = random.lognormal(1.0, 0.25);
  switch (p.engagement) {
  case Engagement::tourist:
    p.diligence = random.uniform(0.3, 0.55);
    p.lifetime_days = static_cast<std::int32_t>(random.exponential(3.0));
    break;
  case Engagement::casual:
    p.diligence = random.uniform(0.25, 0.5);
    p.lifetime_days = 7 + static_cast<std::int32_t>(random.exponential(21.0));
    break;
  case Engagement::core:
    // Core learners book their test 3 to 11 weeks ahead and stop after it.
    p.diligence = random.uniform(0.55, 0.85);
    p.lifetime_days = static_cast<std::int32_t>(random.between(21, 77));
    break;
  }
}

} // namespace

std::vector<UserProfile> make_profiles(int users, int days, std::uint64_t seed, Micros begin)
{
  const std::int64_t first_day = begin / micros_per_day;
  std::vector<Random> day_random;
  std::vector<double> weights;
  day_random.reserve(static_cast<std::size_t>(days));
  weights.reserve(static_cast<std::size_t>(days));
  for (int d = 0; d < days; ++d) {
    Random& random = day_random.emplace_back(seed, Stream::signups, static_cast<std::uint64_t>(d));
    const double trend = 1 + signup_growth * d / days;
    const double noise = std::exp(0.12 * std::clamp(random.normal(), -3.0, 3.0));
    weights.push_back(trend * signup_weekday[static_cast<std::size_t>(weekday_of(first_day + d))] *
                      noise);
  }
  const std::vector<int> counts = signups_per_day(users, weights);

  std::vector<UserProfile> profiles;
  profiles.reserve(static_cast<std::size_t>(users));
  std::vector<Micros> instants;
  for (int d = 0; d < days; ++d) {
    Random& random = day_random[static_cast<std::size_t>(d)];
    const Micros day_start = begin + d * micros_per_day;
    const bool weekend = is_weekend(weekday_of(first_day + d));
    const WeightedIndex hour_index{learning_hour_weights(weekend)};
    const Micros offset = local_offset(1, day_start + 12 * micros_per_hour);
    instants.clear();
    for (int i = 0; i < counts[static_cast<std::size_t>(d)]; ++i) {
      const auto local_hour = static_cast<Micros>(hour_index(random));
      Micros within = local_hour * micros_per_hour - offset +
                      static_cast<Micros>(random.uniform() * static_cast<double>(micros_per_hour));
      // Local hours just after midnight belong to the end of this UTC day.
      within = within - util::floor_to(within, micros_per_day);
      instants.push_back(day_start + within);
    }
    std::sort(instants.begin(), instants.end());
    for (const Micros at : instants) {
      UserProfile& p = profiles.emplace_back();
      p.user_id = static_cast<std::int64_t>(profiles.size());
      p.signup_at = at;
      p.signup_day = d;
      draw_traits(p, seed);
    }
  }
  return profiles;
}

double activity_probability(const UserProfile& p, int k, int weekday) noexcept
{
  if (k > p.lifetime_days)
    return 0;
  double base = p.diligence;
  switch (p.engagement) {
  case Engagement::tourist:
    break;
  case Engagement::casual:
    base *= std::exp(-k / 35.0);
    break;
  case Engagement::core:
    // Cramming in the last two weeks before the test.
    if (p.lifetime_days - k < 14)
      base *= 1.3;
    break;
  }
  return std::min(0.97, base * weekday_activity(weekday));
}

} // namespace dm::seed
