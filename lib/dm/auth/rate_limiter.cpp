#include "dm/auth/rate_limiter.hpp"

#include "dm/auth/limiter_table.hpp"
#include "dm/util/error.hpp"

#include <fmt/format.h>

#include <mutex>

namespace dm::auth {

namespace {

/// Sharding pays off for big tables shared by several I/O threads; a small
/// table keeps one shard so its eviction order is exact over all keys.
std::size_t shard_count_for(std::size_t max_keys) noexcept
{
  return max_keys >= 1024 ? 16 : 1;
}

struct Unit {};

} // namespace

struct RateLimiter::Shard {
  std::mutex mutex;
  LimiterTable<Unit> table;
};

RateLimiter::RateLimiter(double rps, double burst, std::size_t max_keys)
    : rps_(rps), burst_(burst), shard_count_(shard_count_for(max_keys)),
      shards_(std::make_unique<Shard[]>(shard_count_))
{
  if (max_keys == 0)
    throw UsageError("rate limiter: max_keys must be at least 1");
  if (rps > 0 && burst < 1)
    throw UsageError(fmt::format("rate limit burst {} must be at least 1", burst));
  // The shards' capacities add up to max_keys exactly.
  for (std::size_t i = 0; i < shard_count_; ++i)
    shards_[i].table.set_capacity(max_keys / shard_count_ + (i < max_keys % shard_count_ ? 1 : 0));
}

RateLimiter::~RateLimiter() = default;

RateLimiter::Shard& RateLimiter::shard_for(std::string_view key) const noexcept
{
  return shards_[TransparentHash{}(key) % shard_count_];
}

RateLimiter::Decision RateLimiter::take(std::string_view key, Clock::time_point now)
{
  if (unlimited())
    return {true, 0};
  Shard& shard = shard_for(key);
  const std::lock_guard lock(shard.mutex);
  auto* entry = shard.table.find(key);
  if (entry == nullptr)
    entry = shard.table.insert(key, burst_, now); // never null: nothing is pinned here
  double wait_s = 0;
  const bool allowed = entry->bucket.take(rps_, burst_, now, wait_s);
  shard.table.reorder(*entry, rps_, burst_);
  return {allowed, wait_s};
}

std::size_t RateLimiter::size() const
{
  std::size_t total = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    const std::lock_guard lock(shards_[i].mutex);
    total += shards_[i].table.size();
  }
  return total;
}

} // namespace dm::auth
