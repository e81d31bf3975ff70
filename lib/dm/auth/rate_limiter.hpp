#pragma once
// Request rate limiting of the daemon (DESIGN 8): one token bucket per key
// (a token's subject, or the client address without a token).

#include "dm/auth/token_bucket.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

namespace dm::auth {

/// Token buckets by key: `rps` tokens per second, at most `burst`, one per
/// request; a key seen for the first time starts with a full bucket.
///
/// Thread-safe: the keys are spread over mutex-guarded shards (one shard
/// below 1024 keys), so I/O threads rarely wait for each other.
///
/// Memory is bounded: at most `max_keys` buckets are kept. To make room for
/// a new key, the buckets that have refilled to full are dropped (a new
/// bucket starts full, so nothing is lost); when none has, the one that will
/// be full soonest, which forgives the fewest tokens. Each take() costs
/// O(log n) for this order.
class RateLimiter {
public:
  using Clock = std::chrono::steady_clock;

  /// rps <= 0 means unlimited (every take() is allowed and nothing is kept).
  /// Throws dm::UsageError when limited and burst < 1, or max_keys is 0.
  RateLimiter(double rps, double burst, std::size_t max_keys = 100000);
  ~RateLimiter();

  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  struct Decision {
    bool allowed;
    /// Seconds until the key has a token again; 0 when allowed.
    double retry_after_s;
  };

  /// Takes one token from `key`'s bucket at `now`.
  Decision take(std::string_view key, Clock::time_point now);

  /// Buckets currently kept.
  std::size_t size() const;

  bool unlimited() const noexcept { return rps_ <= 0; }

private:
  struct Shard;
  Shard& shard_for(std::string_view key) const noexcept;

  double rps_;
  double burst_;
  std::size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

} // namespace dm::auth
