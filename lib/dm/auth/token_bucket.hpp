#pragma once
// One token bucket: `rate` tokens per second up to `burst`, one token per
// event. Not thread-safe; the limiters guard their buckets.

#include <algorithm>
#include <chrono>

namespace dm::auth {

struct TokenBucket {
  using Clock = std::chrono::steady_clock;

  double tokens = 0;
  Clock::time_point last{};

  /// A bucket that has been idle long enough to be full.
  static TokenBucket full(double burst, Clock::time_point now) noexcept { return TokenBucket{burst, now}; }

  /// Adds what accrued since `last`. A `now` earlier than `last` (callers on
  /// several threads read the clock before taking the lock) adds nothing and
  /// does not move `last` back.
  void refill(double rate, double burst, Clock::time_point now) noexcept
  {
    if (now <= last)
      return;
    const double elapsed = std::chrono::duration<double>(now - last).count();
    tokens = std::min(burst, tokens + elapsed * rate);
    last = now;
  }

  /// Takes one token when there is one. Otherwise returns false and sets
  /// `wait_s` to the seconds until one will be there.
  bool take(double rate, double burst, Clock::time_point now, double& wait_s) noexcept
  {
    refill(rate, burst, now);
    if (tokens >= 1) {
      tokens -= 1;
      wait_s = 0;
      return true;
    }
    wait_s = (1 - tokens) / rate;
    return false;
  }

  /// When the bucket will be full again if nobody takes from it. Forgetting
  /// the bucket from then on loses nothing, since a new bucket starts full;
  /// before, it forgives the missing tokens.
  Clock::time_point full_at(double rate, double burst) const noexcept
  {
    if (tokens >= burst || rate <= 0)
      return last;
    // Capped at ten years: the conversion to nanoseconds must not overflow.
    const auto wait = std::chrono::duration<double>(std::min((burst - tokens) / rate, 10 * 365.25 * 86400));
    return last + std::chrono::ceil<Clock::duration>(wait);
  }
};

} // namespace dm::auth
