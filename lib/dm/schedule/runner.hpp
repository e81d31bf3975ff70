#pragma once
// Running report schedules (DESIGN 6), the part every daemon and `schedule
// run` share:
//
//   claim_due      one transaction: the due schedules that are not running,
//                  locked FOR UPDATE SKIP LOCKED, each gets a 'running' row in
//                  schedule_runs and its next fire time; so a fire time runs
//                  once however many daemons poll, and never while the same
//                  schedule still runs (a unique index allows one running row).
//                  Fire times that passed while nothing ran are caught up as
//                  the schedule's `catchup` says.
//   execute        generates the report, keeps the schedule's newest `keep`,
//                  e-mails the artifacts with bounded retries, and records the
//                  outcome on the run.
//   record_dead_runs, update_missed, apply_retention: housekeeping.
//
// Every function works on the connection it is given, from one thread.

#include "dm/config/config.hpp"
#include "dm/schedule/store.hpp"
#include "dm/util/time.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace dm::schedule {

/// A run this process has claimed and must execute.
struct ClaimedRun {
  std::int64_t run_id = 0;
  StoredSchedule schedule;
  util::Micros fire_time = 0;
  std::string trigger; ///< cron | catchup | manual
  int skipped = 0;     ///< earlier fire times a catch-up run stands for
};

/// A row of schedule_runs.
struct RunRecord {
  std::int64_t id = 0;
  std::int64_t schedule_id = 0;
  util::Micros fire_time = 0;
  std::optional<util::Micros> started_at, finished_at;
  std::string status;  ///< running | succeeded | failed | missed
  std::string trigger; ///< cron | catchup | manual
  int skipped = 0;
  std::string error;
  std::vector<std::int64_t> report_ids;
  std::string delivery_status; ///< none | pending | sent | failed, empty before delivery
  std::string delivery_error;
  int attempts = 0;
  std::string runner;
};

struct ExecuteOptions {
  /// Report thresholds, reports.keep_days, [smtp].
  const config::Config* config = nullptr;
  /// Delivery attempts (the first included) and the waits between them; the
  /// last wait repeats when there are more attempts than waits.
  int delivery_attempts = 4;
  std::vector<std::chrono::milliseconds> delivery_backoff{std::chrono::seconds(2), std::chrono::seconds(10),
                                                          std::chrono::seconds(30)};
  /// Waits `d` unless the process is stopping; returns false when it is
  /// (the delivery is then given up and recorded as failed).
  std::function<bool(std::chrono::milliseconds d)> wait = [](std::chrono::milliseconds d) {
    std::this_thread::sleep_for(d);
    return true;
  };
  /// Called before the report is generated (tests make runs slow with it).
  std::function<void(const ClaimedRun&)> before_generate;
  /// Called after a report was stored: its type and the seconds it took.
  std::function<void(const std::string& type, double seconds)> on_report;
};

/// "host:pid" of this process, as stored in schedule_runs.runner.
std::string this_runner();

/// Claims up to `limit` due schedules at `now` (see above). A fire time later
/// than `grace` behind `now` counts as missed: with catchup = last the
/// latest missed fire time runs once (trigger 'catchup', `skipped` the
/// others); with none they are recorded as one 'missed' row and only a fire
/// time within `grace` runs.
std::vector<ClaimedRun> claim_due(pqxx::connection_base& conn, util::Micros now, std::chrono::milliseconds grace,
                                  int limit);

/// Claims a run of schedule `id` now, outside its cron times (trigger
/// 'manual'; the next fire time is unchanged). Throws dm::NotFound, or
/// dm::Conflict while the schedule runs.
ClaimedRun claim_manual(pqxx::connection_base& conn, std::int64_t id, util::Micros now);

/// Executes a claimed run and records its outcome (succeeded, or failed with
/// the error: the report's, or the delivery's after its last attempt).
/// Throws only when the database connection is lost; the run is then left
/// running and record_dead_runs ends it.
RunRecord execute(pqxx::connection_base& conn, const ClaimedRun& run, const ExecuteOptions& options);

/// Marks alive the running runs of this process.
void heartbeat(pqxx::connection_base& conn, const std::vector<std::int64_t>& run_ids);

/// Marks failed the running runs whose process ended: on this host a process
/// that no longer exists, on any host no heartbeat for `stale_after`.
/// Returns how many.
std::int64_t record_dead_runs(pqxx::connection_base& conn, std::chrono::seconds stale_after);

/// A schedule that has not succeeded within twice its interval.
struct MissedSchedule {
  std::int64_t id = 0;
  std::string name;
  util::Micros since = 0; ///< when the condition began
  std::optional<util::Micros> last_success;
};

/// Updates the schedule_missed condition of every enabled schedule at `now`:
/// sets missed_since when a schedule's last success (or its creation) is more
/// than twice its interval ago, clears it otherwise. Returns the schedules
/// that entered the condition in this call.
std::vector<MissedSchedule> update_missed(pqxx::connection_base& conn, util::Micros now);

/// Schedules in the schedule_missed condition now.
std::vector<MissedSchedule> missed_schedules(pqxx::connection_base& conn);

/// Name and time of the last success of every schedule that has one.
std::vector<std::pair<std::string, util::Micros>> last_successes(pqxx::connection_base& conn);

/// Retention: each schedule's reports beyond its newest `keep`, and every
/// finished report older than `keep_days` (0 = none by age). Only rows of
/// dm.reports are deleted; a running report is never touched. Returns how
/// many reports were removed.
std::int64_t apply_retention(pqxx::connection_base& conn, int keep_days);

/// The newest `limit` runs of a schedule.
std::vector<RunRecord> runs_of(pqxx::connection_base& conn, std::int64_t schedule_id, int limit = 20);
/// One run; throws dm::NotFound.
RunRecord get_run(pqxx::connection_base& conn, std::int64_t run_id);

} // namespace dm::schedule
