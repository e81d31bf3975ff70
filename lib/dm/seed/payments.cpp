// Generator::payments: each user's subscription history.

#include "dm/seed/catalogue.hpp"
#include "dm/seed/generator.hpp"
#include "dm/seed/random.hpp"
#include "dm/seed/rhythm.hpp"

#include <algorithm>
#include <limits>

namespace dm::seed {

namespace {

using ingest::PaymentKind;
using ingest::Plan;
using util::Micros;
using util::micros_per_day;
using util::micros_per_hour;
using util::micros_per_minute;

struct Payment {
  Micros ts;
  std::int64_t user_id;
  std::int32_t seq; ///< position in the user's history: orders equal instants
  PaymentKind kind;
  Plan plan;
};

/// Base probability of ever buying, before channel, engagement and platform.
constexpr double base_conversion = 0.085;
constexpr std::array<double, 3> engagement_conversion{0.12, 0.8, 2.0}; // tourist, casual, core
constexpr std::array<double, 3> platform_conversion{1.2, 0.9, 1.0};    // ios, android, web
constexpr double refund_probability = 0.04;

/// Plan mix: core learners, who know they need months, buy longer plans.
constexpr std::array<double, 3> plans_core{45, 35, 20};
constexpr std::array<double, 3> plans_other{62, 23, 15};

/// Chance of cancelling within one paid period, by engagement.
constexpr std::array<double, 3> cancel_per_period{0.5, 0.35, 0.12};
/// Share of core learners who cancel within a week after their test.
constexpr double cancel_after_test = 0.7;

/// A daytime instant on the given day in the user's local time.
Micros daytime(const UserProfile& p, Random& random, Micros day_start)
{
  const Micros offset =
      local_offset(countries[p.country].utc_offset_hours, day_start + 12 * micros_per_hour);
  return day_start - offset + random.between(8 * 60, 22 * 60) * micros_per_minute +
         random.between(0, 59) * util::micros_per_second;
}

} // namespace

void Generator::payments(ingest::RecordSink& sink) const
{
  static const WeightedIndex core_plan{plans_core};
  static const WeightedIndex other_plan{plans_other};
  std::vector<Payment> history;

  for (const UserProfile& p : profiles_) {
    Random random(options_.seed, Stream::payments, static_cast<std::uint64_t>(p.user_id));
    const auto engagement = static_cast<std::size_t>(p.engagement);
    const double conversion = base_conversion *
                              channel_conversion[static_cast<std::size_t>(p.channel)] *
                              engagement_conversion[engagement] *
                              platform_conversion[static_cast<std::size_t>(p.platform)];
    if (!random.chance(conversion))
      continue;

    // Most buy in the first days, while the app is new to them; never after they stopped learning.
    const double mean_delay = p.engagement == Engagement::core ? 6 : 3;
    const auto delay = std::min(static_cast<std::int32_t>(random.exponential(mean_delay)),
                                std::max(p.lifetime_days, 0));
    const Micros signup_day_start = begin_ + p.signup_day * micros_per_day;
    Micros at = delay == 0 ? p.signup_at + random.between(5, 180) * micros_per_minute
                           : daytime(p, random, signup_day_start + delay * micros_per_day);
    if (at >= end_)
      continue;

    const auto plan =
        static_cast<Plan>((p.engagement == Engagement::core ? core_plan : other_plan)(random));
    std::int32_t seq = 0;
    const auto add = [&](Micros ts, PaymentKind kind) {
      if (ts < end_)
        history.push_back(Payment{ts, p.user_id, seq++, kind, plan});
    };
    add(at, PaymentKind::subscribe);

    if (random.chance(refund_probability)) {
      // Withdrawal within the 14-day cooling-off period; access ends with it.
      const Micros refund_at =
          at + micros_per_hour +
          static_cast<Micros>(random.uniform() * static_cast<double>(10 * micros_per_day));
      add(refund_at, PaymentKind::refund);
      add(refund_at + util::micros_per_second, PaymentKind::cancel);
      continue;
    }
    const int months = plan_months[static_cast<std::size_t>(plan)];
    if (months == 0)
      continue;

    Micros cancel_at = std::numeric_limits<Micros>::max();
    if (p.engagement == Engagement::core && random.chance(cancel_after_test))
      cancel_at = std::max(
          at + micros_per_hour,
          daytime(p, random,
                  signup_day_start + (p.lifetime_days + random.between(0, 6)) * micros_per_day));
    // Renewals are charged at the subscription's time of day, a few minutes
    // late, each whole calendar period after the subscription.
    const double cancel_chance = cancel_per_period[engagement] * (months == 3 ? 0.9 : 1.0);
    Micros period_start = at;
    for (int period = 1;; ++period) {
      const Micros renew_at =
          add_months(at, months * period) + random.between(0, 20) * micros_per_minute;
      if (random.chance(cancel_chance))
        cancel_at = std::min(cancel_at,
                             period_start +
                                 static_cast<Micros>(random.uniform() *
                                                     static_cast<double>(renew_at - period_start)));
      if (cancel_at < renew_at) {
        add(cancel_at, PaymentKind::cancel);
        break;
      }
      if (renew_at >= end_)
        break;
      add(renew_at, PaymentKind::renew);
      period_start = renew_at;
    }
  }

  std::sort(history.begin(), history.end(), [](const Payment& a, const Payment& b) {
    if (a.ts != b.ts)
      return a.ts < b.ts;
    return a.user_id != b.user_id ? a.user_id < b.user_id : a.seq < b.seq;
  });
  ingest::PaymentRecord row;
  for (const Payment& e : history) {
    row.ts = e.ts;
    row.user_id = e.user_id;
    row.kind = e.kind;
    row.plan = e.plan;
    if (e.kind == PaymentKind::cancel) {
      row.amount_cents.reset();
      row.currency.reset();
    } else {
      row.amount_cents = plan_price_cents[static_cast<std::size_t>(e.plan)];
      if (!row.currency)
        row.currency.emplace("EUR");
    }
    sink.add(row);
  }
}

} // namespace dm::seed
