#pragma once
// Deterministic synthetic DriveMaster data for demos, tests and benchmarks,
// handed as typed rows to an ingest::RecordSink (normally the real loader).
//
// The world it simulates:
// - `users` people sign up inside the period (none before it, so activity
//   ramps up over the first weeks), with slight growth, a weekly rhythm and
//   Central European hours. user_id runs 1..users in sign-up order.
// - Learners are tourists (about 40 %: a few days), casual (about 32 %: a few
//   weeks, fading) or core (about 28 %: daily until their test 3 to 11 weeks
//   after signing up); about 6 % struggle whatever they do. Sessions hold
//   10 to 40 questions (mock tests: 30) over ten theory topics of different
//   difficulty, and accuracy rises with practice per topic.
// - About 8 % buy a plan (monthly 999, quarterly 2499, lifetime 4999 euro
//   cents), more often from paid search and referrals; plans renew each
//   calendar period until cancelled, and about 4 % are refunded.
// - Request samples across five services follow the learners' rhythm (about
//   15 a minute on average per 2000 users), with latency spikes and error
//   bursts at times drawn from the seed; one of each falls in the last 7 days.
//   The database host saturates during that latency spike.
// - Four hosts report one sample a minute.
//
// Scale with SeedOptions{} (2000 users, 90 days), measured:
//   users      2 000
//   learning   ~0.71 M (~25 000 sessions of ~28 rows; ~4 rows per user and
//              day of the period; ~260 learners a day by the end)
//   payments   ~250 (~160 subscriptions, their renewals, cancellations, refunds)
//   requests   ~1.96 M (~11 samples per user and day of the period)
//   host       518 400 (4 hosts x 1440 minutes x 90 days)
// about 3.2 M rows in all, generated in about 1 s on one core with a sink
// that only counts. Learning, payments and requests grow linearly with users
// (and with days); host rows with days only.

#include "dm/ingest/records.hpp"
#include "dm/seed/user_profile.hpp"
#include "dm/util/time.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dm::seed {

struct SeedOptions {
  /// Users who sign up within the period; none signed up before it. 1..10 000 000.
  int users = 2000;
  /// Length of the period in days, 1..3660.
  int days = 90;
  std::uint64_t seed = 1;
  /// Exclusive end of the period; floored to a UTC midnight. 0 = start of today (UTC).
  util::Micros end = 0;
};

/// A latency spike or an error burst on one service, on whole minutes.
struct Incident {
  enum class Type { latency, errors };
  Type type = Type::latency;
  std::size_t service = 0; ///< index into `services`
  util::Micros begin = 0;
  util::Micros end = 0;
  /// latency: multiplier of request durations; errors: extra share of 5xx answers.
  double severity = 0;
};

/// Generates one data set, kind by kind. Every method is const and touches no
/// shared mutable state, so a Generator may be used from several threads at
/// once; each method gives exactly the same rows in the same order for the
/// same options, whatever was called before.
class Generator {
public:
  /// Throws std::invalid_argument when users or days are out of range.
  explicit Generator(SeedOptions options);

  /// The period [begin, end): both UTC midnights, `days` apart.
  util::Micros begin() const noexcept { return begin_; }
  util::Micros end() const noexcept { return end_; }
  const SeedOptions& options() const noexcept { return options_; }
  /// The incidents request samples and host samples show, ordered by begin.
  const std::vector<Incident>& incidents() const noexcept { return incidents_; }

  /// One row per user, in user_id order (which is sign-up order).
  void users(ingest::RecordSink& sink) const;
  /// Sessions of learning events, ordered by ts (ties in no particular order);
  /// session_id runs from 1 in the order sessions are simulated.
  void learning(ingest::RecordSink& sink) const;
  /// Subscriptions, renewals, cancellations and refunds, ordered by ts.
  void payments(ingest::RecordSink& sink) const;
  /// Request samples, ordered by ts.
  void requests(ingest::RecordSink& sink) const;
  /// One sample per host per minute, ordered by ts, hosts in a fixed order.
  void host(ingest::RecordSink& sink) const;

  /// Rough row counts per kind, for progress bars (within a few percent for
  /// the default options, never exact except for users and host).
  std::uint64_t estimated_rows(ingest::Kind kind) const noexcept;

private:
  /// Expected request samples in the minute that holds `t`.
  double requests_per_minute(util::Micros t) const noexcept;
  void plan_incidents();

  SeedOptions options_;
  util::Micros begin_ = 0;
  util::Micros end_ = 0;
  std::vector<UserProfile> profiles_;
  /// Expected learners per day of the period, relative to their mean.
  std::vector<double> activity_ratio_;
  double expected_sessions_ = 0;
  double requests_per_minute_mean_ = 0;
  std::vector<Incident> incidents_;
  /// When the database host saturates: the first latency spike in the last week.
  util::Micros saturation_begin_ = 0;
  util::Micros saturation_end_ = 0;
};

} // namespace dm::seed
