#pragma once
// Who the synthetic users are. A profile is drawn once per user from the
// user's own random stream; every kind of row (users, learning, payments)
// reads the same profile, so they agree with each other whichever is
// generated first.

#include "dm/ingest/records.hpp"
#include "dm/util/time.hpp"

#include <cstdint>
#include <vector>

namespace dm::seed {

/// How long a user stays. Tourists try the app for a few days; casual
/// learners drift away within weeks; core learners study until their test.
enum class Engagement : std::uint8_t { tourist, casual, core };

struct UserProfile {
  std::int64_t user_id = 0;
  util::Micros signup_at = 0;
  std::int32_t signup_day = 0; ///< day of the period (0-based) that holds signup_at
  ingest::Platform platform = ingest::Platform::android;
  ingest::Channel channel = ingest::Channel::organic;
  std::uint8_t country = 0; ///< index into `countries`
  Engagement engagement = Engagement::tourist;
  bool struggler = false;         ///< low ability and slow progress
  double ability = 0;             ///< log-odds of a correct answer before practice, topic aside
  double learning_gain = 0;       ///< log-odds gained per unit of log(1 + practice / 5)
  double diligence = 0;           ///< base probability of learning on a given day
  double speed = 1;               ///< multiplier of thinking time
  std::int32_t lifetime_days = 0; ///< last day, counted from the sign-up day, with any learning
};

/// Probability of a first session within minutes of signing up.
inline constexpr double first_session_probability = 0.9;

/// The profiles of user ids 1..users, in id order, which is also sign-up
/// order. Sign-ups spread over the `days` days from `begin` (a UTC midnight)
/// with slight growth, a weekly rhythm, day-to-day noise and the hours of the
/// day people sign up in Central Europe; the count per day is exact (largest
/// remainder), so every user signs up inside the period.
std::vector<UserProfile> make_profiles(int users, int days, std::uint64_t seed, util::Micros begin);

/// Probability that the user learns on the day `k` >= 1 days after their
/// sign-up day, which is a `weekday` (Monday = 0); 0 after lifetime_days.
double activity_probability(const UserProfile& profile, int k, int weekday) noexcept;

} // namespace dm::seed
