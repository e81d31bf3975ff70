#pragma once
// The report scheduler of one daemon (DESIGN 6). A polling thread claims due
// schedules (schedule::claim_due: once per fire time across every daemon on
// the database), hands them to a few run threads with connections of their
// own, keeps their runs' heartbeats, and does the housekeeping: runs of dead
// processes recorded as failed, the schedule_missed condition, the last
// success of each schedule for /metrics, and retention. On first start it
// creates the [reporting_schedule] defaults.

#include "dm/config/config.hpp"
#include "dm/db/database.hpp"
#include "dm/metrics/registry.hpp"
#include "dm/schedule/runner.hpp"
#include "dm/util/time.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace dm::daemon {

struct SchedulerOptions {
  /// How often due schedules are looked for.
  std::chrono::milliseconds poll = std::chrono::seconds(1);
  /// A fire time further behind than this when it is claimed was missed
  /// (downtime): the schedule's catchup decides.
  std::chrono::milliseconds grace = std::chrono::seconds(60);
  /// Runs at the same time in this daemon (different schedules).
  int run_threads = 2;
  std::chrono::milliseconds housekeeping = std::chrono::seconds(15);
  std::chrono::milliseconds retention_every = std::chrono::hours(1);
  std::chrono::milliseconds heartbeat_every = std::chrono::seconds(10);
  /// A running run without a heartbeat for this long belongs to a dead daemon.
  std::chrono::seconds stale_after = std::chrono::seconds(120);
  /// Create the [reporting_schedule] defaults at start.
  bool create_defaults = true;
  /// The instant schedules are due against; empty = util::now().
  std::function<util::Micros()> clock;
  /// Delivery retries, hooks; `config` and `wait` are set by the scheduler.
  schedule::ExecuteOptions execute;
  /// Called for each run that finished (tests, logs); on a run thread.
  std::function<void(const schedule::RunRecord&)> on_run;
};

class Scheduler {
public:
  /// `database` and `config` must outlive the scheduler.
  Scheduler(const db::Database& database, const config::Config& config, SchedulerOptions options);
  /// Calls stop().
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void start();
  /// Stops polling, lets runs under way finish (a delivery back-off is cut
  /// short and recorded), records queued runs as failed, joins. Idempotent.
  void stop();

  /// Claims a manual run of schedule `id` on `conn` and queues it. Throws
  /// dm::NotFound, dm::Conflict (running), dm::Unavailable (stopping).
  schedule::ClaimedRun run_now(pqxx::connection_base& conn, std::int64_t id);

  /// schedule_last_success_timestamp_seconds samples, as last read.
  std::vector<metrics::Sample> last_success_samples() const;

  /// Runs queued or under way in this daemon.
  std::size_t in_flight() const;

private:
  util::Micros now() const;
  void poll_loop();
  void run_loop();
  void housekeeping(pqxx::connection_base& conn, util::Micros now, bool retention);
  /// Waits `d` unless stopping; false when stopping.
  bool wait_for(std::chrono::milliseconds d);
  void enqueue(std::vector<schedule::ClaimedRun> runs);

  const db::Database& database_;
  const config::Config& config_;
  SchedulerOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;      ///< the poll loop and waits
  std::condition_variable work_;      ///< the run threads
  std::deque<schedule::ClaimedRun> queue_;
  std::set<std::int64_t> running_ids_; ///< queued or executing run ids
  int busy_ = 0;
  bool stopping_ = false;
  bool started_ = false;
  std::vector<metrics::Sample> last_success_;

  std::thread poller_;
  std::vector<std::thread> runners_;
};

} // namespace dm::daemon
