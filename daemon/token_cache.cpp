#include "daemon/token_cache.hpp"

#include <functional>

namespace dm::daemon {

TokenCache::TokenCache(std::int64_t leeway_s, std::size_t max_entries)
    : leeway_s_(leeway_s), max_per_shard_(std::max<std::size_t>(1, max_entries / 16))
{
}

TokenCache::Shard& TokenCache::shard_for(std::string_view token) const
{
  return shards_[std::hash<std::string_view>{}(token) % shards_.size()];
}

std::optional<auth::Claims> TokenCache::find(std::string_view token, std::int64_t now_unix) const
{
  Shard& shard = shard_for(token);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.entries.find(std::string(token));
  if (it == shard.entries.end())
    return std::nullopt;
  const auth::Claims& c = it->second;
  // Outside its validity the token goes through the full check again, which
  // gives the precise error.
  if (now_unix > c.exp + leeway_s_ || (c.nbf && now_unix < *c.nbf - leeway_s_))
    return std::nullopt;
  return c;
}

void TokenCache::insert(std::string_view token, const auth::Claims& claims)
{
  Shard& shard = shard_for(token);
  std::lock_guard lock(shard.mutex);
  if (shard.entries.size() >= max_per_shard_)
    shard.entries.clear();
  shard.entries.emplace(std::string(token), claims);
}

} // namespace dm::daemon
