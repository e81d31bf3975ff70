#include "dm/dashboard/user_progress_cache.hpp"

#include "dm/util/json_text.hpp"

#include <boost/json/serialize.hpp>

#include <stdexcept>

namespace dm::dashboard {

UserProgressCache::UserProgressCache(Micros ttl, std::size_t max_entries) : ttl_(ttl), max_entries_(max_entries)
{
  if (ttl <= 0)
    throw std::invalid_argument("user progress cache: the lifetime must be positive");
  if (max_entries == 0)
    throw std::invalid_argument("user progress cache: it must hold at least one entry");
}

std::shared_ptr<const std::string> UserProgressCache::get_or_compute(std::int64_t user_id, Micros now,
                                                                     const std::function<boost::json::object()>& compute)
{
  std::promise<std::shared_ptr<const std::string>> promise;
  std::uint64_t generation = 0;
  {
    std::unique_lock lock(mutex_);
    if (const auto it = entries_.find(user_id); it != entries_.end() && now - it->second.computed_at < ttl_) {
      lru_.splice(lru_.begin(), lru_, it->second.recency);
      return it->second.body;
    }
    if (const auto it = in_flight_.find(user_id); it != in_flight_.end()) {
      const Result pending = it->second;
      lock.unlock();
      return pending.get(); // rethrows the computing caller's exception
    }
    in_flight_.emplace(user_id, promise.get_future().share());
    generation = generation_;
  }

  // This caller computes; the lock is not held meanwhile.
  try {
    auto body = std::make_shared<const std::string>(util::json_text(compute()));
    {
      const std::lock_guard lock(mutex_);
      in_flight_.erase(user_id);
      // An answer begun before an invalidation may predate what caused it:
      // it goes to the callers waiting now but is not kept.
      if (generation == generation_)
        store(user_id, body, now);
    }
    promise.set_value(body);
    return body;
  } catch (...) {
    {
      const std::lock_guard lock(mutex_);
      in_flight_.erase(user_id);
    }
    promise.set_exception(std::current_exception());
    throw;
  }
}

void UserProgressCache::store(std::int64_t user_id, std::shared_ptr<const std::string> body, Micros computed_at)
{
  if (const auto it = entries_.find(user_id); it != entries_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.recency);
    it->second.body = std::move(body);
    it->second.computed_at = computed_at;
    return;
  }
  lru_.push_front(user_id);
  entries_.emplace(user_id, Entry{std::move(body), computed_at, lru_.begin()});
  while (entries_.size() > max_entries_) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
}

void UserProgressCache::invalidate(std::int64_t user_id)
{
  const std::lock_guard lock(mutex_);
  ++generation_;
  if (const auto it = entries_.find(user_id); it != entries_.end()) {
    lru_.erase(it->second.recency);
    entries_.erase(it);
  }
}

void UserProgressCache::clear()
{
  const std::lock_guard lock(mutex_);
  ++generation_;
  entries_.clear();
  lru_.clear();
}

std::size_t UserProgressCache::size() const
{
  const std::lock_guard lock(mutex_);
  return entries_.size();
}

} // namespace dm::dashboard
