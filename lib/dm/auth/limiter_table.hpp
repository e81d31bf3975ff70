#pragma once
// The bounded key -> state table under both limiters: entries in a hash
// table, plus an order by the instant each entry's bucket is full again, so
// that making room drops full buckets first and otherwise the one nearest to
// full. Entries may be pinned (held out of that order) while in use.
// Not thread-safe: one table per shard, guarded by the shard's mutex.

#include "dm/auth/token_bucket.hpp"

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dm::auth {

struct TransparentHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

template <typename State> class LimiterTable {
public:
  using Clock = TokenBucket::Clock;

  struct Entry {
    TokenBucket bucket;
    State state{};
    /// The key, held by the table's node (which never moves).
    const std::string* key = nullptr;
    /// Position in the eviction order; nullopt while pinned.
    std::optional<typename std::multimap<Clock::time_point, Entry*>::iterator> order;
  };

  explicit LimiterTable(std::size_t capacity = 1) : capacity_(capacity) {}

  void set_capacity(std::size_t capacity) noexcept { capacity_ = capacity; }
  std::size_t size() const noexcept { return entries_.size(); }

  /// The entry of `key`, or nullptr.
  Entry* find(std::string_view key)
  {
    const auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
  }

  /// A new entry with a full bucket, or nullptr when the table is full and
  /// every entry is pinned. Call only when find() gave nullptr.
  Entry* insert(std::string_view key, double burst, Clock::time_point now)
  {
    if (entries_.size() >= capacity_ && !make_room(now))
      return nullptr;
    const auto it = entries_.try_emplace(std::string(key)).first;
    Entry& entry = it->second;
    entry.bucket = TokenBucket::full(burst, now);
    entry.key = &it->first;
    return &entry;
  }

  /// Places an unpinned entry in the eviction order after its bucket changed.
  void reorder(Entry& entry, double rate, double burst)
  {
    const auto when = entry.bucket.full_at(rate, burst);
    if (entry.order) {
      auto node = order_.extract(*entry.order);
      node.key() = when;
      entry.order = order_.insert(std::move(node));
    } else {
      entry.order = order_.emplace(when, &entry);
    }
  }

  /// Holds an entry out of the eviction order (it has live users).
  void pin(Entry& entry)
  {
    if (entry.order) {
      order_.erase(*entry.order);
      entry.order.reset();
    }
  }

private:
  bool make_room(Clock::time_point now)
  {
    // Full buckets cost nothing to forget: drop all of them.
    while (!order_.empty() && order_.begin()->first <= now)
      erase_first();
    if (entries_.size() < capacity_)
      return true;
    if (order_.empty())
      return false;
    erase_first();
    return true;
  }

  void erase_first()
  {
    const Entry* entry = order_.begin()->second;
    order_.erase(order_.begin());
    entries_.erase(entries_.find(std::string_view(*entry->key)));
  }

  std::size_t capacity_;
  std::unordered_map<std::string, Entry, TransparentHash, std::equal_to<>> entries_;
  std::multimap<Clock::time_point, Entry*> order_;
};

} // namespace dm::auth
