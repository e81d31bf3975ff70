#pragma once
// User progress answers kept for a short time (`dashboard.refresh.user_progress`
// seconds), so that a user reloading the dashboard, or many WebSocket
// subscribers of one user, cost one query per lifetime.

#include "dm/util/time.hpp"

#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace dm::dashboard {

using util::Micros;

/// Thread-safe: every method may be called from any thread. get_or_compute()
/// blocks while the answer is computed, so call it off the I/O threads.
class UserProgressCache {
public:
  /// `ttl`: how long an answer is served after it was computed (> 0);
  /// `max_entries`: answers kept at most (>= 1); the least recently used goes first.
  UserProgressCache(Micros ttl, std::size_t max_entries);
  UserProgressCache(const UserProgressCache&) = delete;
  UserProgressCache& operator=(const UserProgressCache&) = delete;

  /// The serialised answer for `user_id`: the cached one when it was computed
  /// less than ttl before `now`, else `compute()` serialised and cached.
  /// Concurrent calls for a user without a fresh answer compute once: the
  /// others wait for that result, or get its exception. Exceptions (such as
  /// dm::NotFound) are passed on and never cached.
  std::shared_ptr<const std::string> get_or_compute(std::int64_t user_id, Micros now,
                                                    const std::function<boost::json::object()>& compute);

  /// Forgets the answer for `user_id` (after an ingest touching that user);
  /// an answer being computed meanwhile is handed to its callers but not kept.
  void invalidate(std::int64_t user_id);
  /// Forgets every answer.
  void clear();
  /// Answers held (fresh or stale).
  std::size_t size() const;

private:
  struct Entry {
    std::shared_ptr<const std::string> body;
    Micros computed_at = 0;
    std::list<std::int64_t>::iterator recency; ///< position in lru_
  };
  using Result = std::shared_future<std::shared_ptr<const std::string>>;

  /// Stores a computed answer and evicts beyond max_entries_. Caller holds mutex_.
  void store(std::int64_t user_id, std::shared_ptr<const std::string> body, Micros computed_at);

  const Micros ttl_;
  const std::size_t max_entries_;
  mutable std::mutex mutex_; ///< guards the members below
  std::unordered_map<std::int64_t, Entry> entries_;
  /// Most recently used first.
  std::list<std::int64_t> lru_;
  /// Computations under way, which callers for the same user wait on.
  std::unordered_map<std::int64_t, Result> in_flight_;
  /// Bumped by invalidate() and clear(): a computation begun under an older
  /// generation is not stored.
  std::uint64_t generation_ = 0;
};

} // namespace dm::dashboard
