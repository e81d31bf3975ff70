#pragma once
// Live user progress for WebSocket subscribers: the progress of every watched
// user is kept in the SnapshotCache under snapshot_key(id), recomputed when an
// ingest touches that user (users_changed) and at least every
// `dashboard.refresh.user_progress` seconds, on a thread of its own with a
// database connection of its own, so that no I/O thread waits for a query.

#include "dm/dashboard/snapshot_cache.hpp"
#include "dm/db/database.hpp"
#include "dm/util/time.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace dm::daemon {

using util::Micros;

struct UserProgressFeedOptions {
  /// Longest time between two snapshots of a watched user.
  std::chrono::milliseconds every = std::chrono::seconds(60);
  /// Wait after the first failed attempt while the database is unreachable,
  /// doubled after each further one up to max_backoff.
  std::chrono::milliseconds initial_backoff = std::chrono::seconds(1);
  std::chrono::milliseconds max_backoff = std::chrono::seconds(30);
  /// Called after each publish with the snapshot key and the seconds its
  /// computation took; on the feed's thread, must not throw.
  std::function<void(const std::string& key, double seconds)> on_update;
  /// The instant progress is computed for; empty = util::now().
  std::function<Micros()> clock;
};

/// Threading: every public method may be called from any thread (watch and
/// unwatch from I/O threads too: they never wait for the database). The
/// computing runs on the feed's own thread, which owns its connection.
///
/// Failures: while the database cannot be reached the last published
/// snapshots stay in the cache, the connection is made anew after 1 s, 2 s,
/// 4 s ... at most 30 s, and one warning is logged per outage. A user whose
/// query fails on a working connection keeps its snapshot and is retried at
/// the usual interval.
class UserProgressFeed {
public:
  /// "user_progress:<user_id>", the SnapshotCache key of that user's progress.
  static std::string snapshot_key(std::int64_t user_id);

  /// `database` and `cache` must outlive the feed.
  UserProgressFeed(const db::Database& database, dashboard::SnapshotCache& cache, UserProgressFeedOptions options);
  /// Calls stop().
  ~UserProgressFeed();
  UserProgressFeed(const UserProgressFeed&) = delete;
  UserProgressFeed& operator=(const UserProgressFeed&) = delete;

  /// Starts the thread. Calling it again does nothing.
  void start();
  /// Stops and joins the thread without waiting out any interval or back-off;
  /// a query under way finishes first. Idempotent.
  void stop();

  /// Counts one more watcher of `user_id`. The first watcher has the progress
  /// computed and published as soon as the thread is free (asynchronously: a
  /// subscriber gets it from the cache's publish); a user with no data yet gets
  /// the same shape with zero totals and no topics. Returns at once.
  void watch(std::int64_t user_id);
  /// Counts one watcher less; at zero the user is no longer recomputed and
  /// its snapshot leaves the cache (a later first watch starts again at seq
  /// 1). Unwatching a user not watched does nothing.
  void unwatch(std::int64_t user_id);

  /// An ingest committed at `committed_at` touched `users` (every user when
  /// `all`): the watched ones among them are recomputed once on the next wake,
  /// however many calls came meanwhile, and published with changed_at = the
  /// earliest pending committed_at. Returns at once.
  void users_changed(const std::vector<std::int64_t>& users, bool all, Micros committed_at);

  /// Users with at least one watcher.
  std::size_t watched() const;

private:
  struct Watch {
    std::uint64_t watchers = 0;
    /// When the timer next asks for a recompute.
    std::chrono::steady_clock::time_point due{};
    /// Earliest commit instant not yet reflected in a publish; 0 = none.
    Micros changed_at = 0;
    bool pending = false; ///< in pending_
    bool failing = false; ///< the latest attempt failed on a working connection
  };
  enum class Outcome { ok, failed, connection_lost };

  void run();
  /// Computes and publishes one user; on the thread without the lock.
  Outcome refresh(std::int64_t user_id, Micros changed_at, std::string& error);
  /// Queues `user_id` for a recompute reflecting `changed_at`. Caller holds mutex_.
  void mark_pending(std::int64_t user_id, Watch& watch, Micros changed_at);
  /// Records the outcome of one recompute. Caller holds mutex_.
  void settle(std::int64_t user_id, Micros changed_at, Outcome outcome, const std::string& error,
              std::chrono::steady_clock::time_point started);

  const db::Database& database_;
  dashboard::SnapshotCache& cache_;
  UserProgressFeedOptions options_;
  std::unique_ptr<pqxx::connection> conn_; ///< the thread's only

  mutable std::mutex mutex_; ///< guards the members below
  std::condition_variable wake_;
  std::unordered_map<std::int64_t, Watch> watches_;
  /// Watched users to recompute, first come first served.
  std::deque<std::int64_t> pending_;
  bool stopping_ = false;
  bool started_ = false;
  bool woken_ = false;
  bool in_outage_ = false;
  std::uint64_t failed_attempts_ = 0; ///< of the current outage
  std::chrono::milliseconds backoff_;
  std::chrono::steady_clock::time_point retry_at_{};

  std::mutex join_mutex_; ///< serialises stop()'s join
  std::thread thread_;
};

} // namespace dm::daemon
