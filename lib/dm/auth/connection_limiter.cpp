#include "dm/auth/connection_limiter.hpp"

#include "dm/auth/limiter_table.hpp"
#include "dm/util/error.hpp"

#include <fmt/format.h>

#include <mutex>

namespace dm::auth {

namespace {

std::size_t shard_count_for(std::size_t max_keys) noexcept
{
  return max_keys >= 1024 ? 16 : 1;
}

struct OpenConnections {
  std::size_t open = 0;
};

} // namespace

struct ConnectionLimiter::Shard {
  std::mutex mutex;
  /// Addresses with open connections are pinned: never dropped.
  LimiterTable<OpenConnections> table;
};

ConnectionLimiter::ConnectionLimiter(std::size_t max_per_ip, double new_per_second, double new_burst,
                                     std::size_t max_keys)
    : max_per_ip_(max_per_ip), rate_(new_per_second), burst_(new_burst), shard_count_(shard_count_for(max_keys)),
      shards_(std::make_unique<Shard[]>(shard_count_))
{
  if (max_keys == 0)
    throw UsageError("connection limiter: max_keys must be at least 1");
  if (new_per_second > 0 && new_burst < 1)
    throw UsageError(fmt::format("connection burst {} must be at least 1", new_burst));
  for (std::size_t i = 0; i < shard_count_; ++i)
    shards_[i].table.set_capacity(max_keys / shard_count_ + (i < max_keys % shard_count_ ? 1 : 0));
}

ConnectionLimiter::~ConnectionLimiter() = default;

ConnectionLimiter::Shard& ConnectionLimiter::shard_for(std::string_view ip) const noexcept
{
  return shards_[TransparentHash{}(ip) % shard_count_];
}

bool ConnectionLimiter::try_acquire(std::string_view ip, Clock::time_point now)
{
  Shard& shard = shard_for(ip);
  const std::lock_guard lock(shard.mutex);
  auto* entry = shard.table.find(ip);
  if (entry == nullptr) {
    entry = shard.table.insert(ip, burst_, now);
    if (entry == nullptr)
      return false; // every kept address has open connections
  }
  if (max_per_ip_ > 0 && entry->state.open >= max_per_ip_)
    return false;
  double wait_s = 0;
  bool allowed = true;
  if (rate_ > 0)
    allowed = entry->bucket.take(rate_, burst_, now, wait_s);
  else
    entry->bucket.last = std::max(entry->bucket.last, now);
  if (!allowed) {
    if (entry->state.open == 0)
      shard.table.reorder(*entry, rate_, burst_);
    return false;
  }
  if (entry->state.open++ == 0)
    shard.table.pin(*entry);
  return true;
}

void ConnectionLimiter::release(std::string_view ip)
{
  Shard& shard = shard_for(ip);
  const std::lock_guard lock(shard.mutex);
  auto* entry = shard.table.find(ip);
  if (entry == nullptr || entry->state.open == 0)
    return;
  if (--entry->state.open == 0)
    shard.table.reorder(*entry, rate_, burst_);
}

std::size_t ConnectionLimiter::open(std::string_view ip) const
{
  Shard& shard = shard_for(ip);
  const std::lock_guard lock(shard.mutex);
  const auto* entry = shard.table.find(ip);
  return entry == nullptr ? 0 : entry->state.open;
}

std::size_t ConnectionLimiter::size() const
{
  std::size_t total = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    const std::lock_guard lock(shards_[i].mutex);
    total += shards_[i].table.size();
  }
  return total;
}

} // namespace dm::auth
