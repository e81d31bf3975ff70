#pragma once
// Recomputes the cached dashboards (system_performance, business_kpis,
// alerts) on a thread of its own with a database connection of its own, and
// publishes them into a SnapshotCache, so that no request ever waits for a
// dashboard query.

#include "dm/config/config.hpp"
#include "dm/dashboard/snapshot_cache.hpp"
#include "dm/dashboard/system_performance.hpp"
#include "dm/db/database.hpp"

#include <boost/json/object.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace dm::dashboard {

struct RefresherOptions {
  /// Longest time between two snapshots of system_performance (and alerts).
  std::chrono::milliseconds system_performance_every = std::chrono::seconds(30);
  /// Longest time between two snapshots of business_kpis.
  std::chrono::milliseconds business_kpis_every = std::chrono::seconds(300);
  /// Wait after the first failed attempt while the database is unreachable,
  /// doubled after each further one up to max_backoff.
  std::chrono::milliseconds initial_backoff = std::chrono::seconds(1);
  std::chrono::milliseconds max_backoff = std::chrono::seconds(30);
  /// The health-probe statuses for system_performance; empty = no probes.
  std::function<std::vector<ProbeStatusView>()> probes;
  /// Called after each publish with the dashboard and the seconds its
  /// computation took (for metrics); on the refresher's thread, must not throw.
  std::function<void(std::string_view dashboard, double seconds)> on_update;
  /// The instant dashboards are computed for; empty = util::now().
  std::function<Micros()> clock;
};

/// Whether a failure means the connection is gone (so it must be dropped and
/// made anew) rather than one query having failed on a working connection.
/// Looks through nested exceptions.
bool is_connection_failure(const std::exception& e);

/// The intervals of `[dashboard.refresh]` (seconds), other options at their defaults.
RefresherOptions refresher_options(const config::RefreshConfig& refresh);

/// Threading: start(), stop(), refresh_now(), healthy() and last_error() may
/// be called from any thread; the work runs on the refresher's own thread,
/// which owns its connection.
///
/// Failures: while the database cannot be reached (the connection fails or
/// breaks) the last good snapshots stay in the cache, the connection is
/// dropped and made anew after 1 s, 2 s, 4 s ... at most 30 s, and one warning
/// is logged per outage (and one line when it ends), not one per attempt. A
/// dashboard whose query fails on a working connection keeps its snapshot, is
/// retried at its usual interval and logs one warning until it succeeds again.
class Refresher {
public:
  /// `database` and `cache` must outlive the Refresher.
  Refresher(const db::Database& database, SnapshotCache& cache, RefresherOptions options);
  /// Calls stop().
  ~Refresher();
  Refresher(const Refresher&) = delete;
  Refresher& operator=(const Refresher&) = delete;

  /// Starts the thread; every dashboard is computed at once, then on its
  /// interval. Calling it again does nothing.
  void start();
  /// Stops and joins the thread without waiting out any interval or back-off;
  /// a query under way finishes first (bounded by database.statement_timeout).
  /// Idempotent.
  void stop();

  /// Recomputes `dashboard` as soon as the thread is free (and the back-off,
  /// during an outage, allows). Calls arriving before that recompute starts
  /// coalesce into it. `changed_at`: the commit instant of the ingest that
  /// asks for it (0 = none); the publish carries the earliest one pending
  /// (Snapshot::changed_at), also when an attempt fails and a later one
  /// publishes. Returns false for a dashboard the refresher does not keep
  /// (see cached_dashboards).
  bool refresh_now(std::string_view dashboard, Micros changed_at = 0);

  /// Whether the database answered the latest attempt and the latest refresh
  /// of every dashboard succeeded. False before the first refresh.
  bool healthy() const;
  /// Why not healthy ("" when healthy).
  std::string last_error() const;

private:
  using Compute = std::function<boost::json::object(pqxx::connection&, Micros now)>;
  struct Job {
    std::string_view dashboard;
    std::chrono::milliseconds every;
    Compute compute;
    // Guarded by mutex_:
    std::chrono::steady_clock::time_point due{};
    bool forced = false;
    /// Earliest commit instant a forced refresh is pending for; 0 = none.
    Micros changed_at = 0;
    bool refreshed = false; ///< published at least once
    bool failing = false;   ///< the latest attempt failed on a working connection
  };
  enum class Outcome { ok, job_failed, connection_lost };

  void run();
  /// Computes and publishes one dashboard; called on the thread without the lock.
  Outcome refresh(const Job& job, Micros changed_at, std::string& error);
  /// Records the outcome of one job (under the lock).
  void settle(Job& job, Outcome outcome, const std::string& error, std::chrono::steady_clock::time_point started);
  void update_health();

  const db::Database& database_;
  SnapshotCache& cache_;
  RefresherOptions options_;
  std::unique_ptr<pqxx::connection> conn_; ///< the thread's only

  mutable std::mutex mutex_; ///< guards the members below and Job's guarded fields
  std::condition_variable wake_;
  std::vector<Job> jobs_;
  bool stopping_ = false;
  bool woken_ = false;
  bool started_ = false;
  bool healthy_ = false;
  std::string last_error_ = "not refreshed yet";
  bool in_outage_ = false;
  std::uint64_t failed_attempts_ = 0; ///< of the current outage
  std::chrono::milliseconds backoff_;
  std::chrono::steady_clock::time_point retry_at_{};

  std::mutex join_mutex_; ///< serialises stop()'s join
  std::thread thread_;
};

} // namespace dm::dashboard
