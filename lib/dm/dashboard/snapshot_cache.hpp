#pragma once
// The latest snapshot of each dashboard, so that a GET costs no query and a
// WebSocket broadcast serialises once (DESIGN 1 and 9).

#include "dm/util/time.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace dm::dashboard {

using util::Micros;

/// One published state of a dashboard. Immutable once published: readers on
/// any thread share it by shared_ptr.
struct Snapshot {
  std::string dashboard;
  /// 1 for a dashboard's first snapshot, then +1 per publish of that dashboard.
  std::uint64_t seq = 0;
  /// When the data was computed (the `now` it was computed for).
  Micros ts = 0;
  /// The serialised JSON data object, served as is by REST and wrapped by the
  /// WebSocket hub.
  std::shared_ptr<const std::string> body;
  /// The earliest ingest commit instant whose change this snapshot is the
  /// first to reflect; 0 when it was not made for a change (a timer refresh),
  /// or when the commit instant is unknown.
  Micros changed_at = 0;
};

/// Thread-safe: every method may be called from any thread.
class SnapshotCache {
public:
  using Subscriber = std::function<void(std::shared_ptr<const Snapshot>)>;
  using Token = std::uint64_t;

  SnapshotCache() = default;
  SnapshotCache(const SnapshotCache&) = delete;
  SnapshotCache& operator=(const SnapshotCache&) = delete;

  /// The latest snapshot of `dashboard`; nullptr before its first publish.
  std::shared_ptr<const Snapshot> get(std::string_view dashboard) const;

  /// Serialises `data` once, stores it as the latest snapshot of `dashboard`
  /// with the next seq, then calls every subscriber with it, outside the
  /// cache's lock, on the calling thread. Publishes are delivered one at a
  /// time in seq order: a concurrent publish waits until the subscribers of
  /// this one have returned. Returns the new snapshot. An exception from a
  /// subscriber is not caught here: subscribers must not throw.
  /// `changed_at`: see Snapshot::changed_at.
  std::shared_ptr<const Snapshot> publish(std::string_view dashboard, boost::json::object data, Micros ts,
                                          Micros changed_at = 0);

  /// Forgets the snapshot of `dashboard` (a key no one watches any more); the
  /// next publish of it starts again at seq 1. Subscribers are not called.
  void erase(std::string_view dashboard);

  /// Registers a callback for every later publish (of every dashboard).
  /// Subscribers may call get(), subscribe() and unsubscribe(), but not
  /// publish() (that would deadlock).
  Token subscribe(Subscriber subscriber);
  /// Removes a subscriber; unknown tokens are ignored. A call already under
  /// way on another thread may still finish after this returns.
  void unsubscribe(Token token);

private:
  using SubscriberList = std::vector<std::pair<Token, std::shared_ptr<const Subscriber>>>;

  mutable std::mutex mutex_; ///< guards the members below
  std::map<std::string, std::shared_ptr<const Snapshot>, std::less<>> latest_;
  /// Copy on write, so that publish() iterates a list no one changes.
  std::shared_ptr<const SubscriberList> subscribers_ = std::make_shared<SubscriberList>();
  Token next_token_ = 1;

  /// Held by publish() while it stores and delivers, so deliveries keep seq order.
  std::mutex publish_mutex_;
};

} // namespace dm::dashboard
