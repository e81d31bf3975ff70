#include "daemon/scheduler.hpp"

#include "daemon/db_gate.hpp"

#include "dm/db/two_phase.hpp"
#include "dm/report/runner.hpp"
#include "dm/schedule/defaults.hpp"
#include "dm/util/error.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace dm::daemon {

namespace {

using Clock = std::chrono::steady_clock;

/// Back-off after a failed connection: 1 s, doubled, at most 30 s.
std::chrono::milliseconds next_backoff(std::chrono::milliseconds current)
{
  if (current.count() == 0)
    return std::chrono::seconds(1);
  return std::min<std::chrono::milliseconds>(current * 2, std::chrono::seconds(30));
}

} // namespace

Scheduler::Scheduler(const db::Database& database, const config::Config& config, SchedulerOptions options)
    : database_(database), config_(config), options_(std::move(options))
{
  options_.execute.config = &config_;
  options_.execute.wait = [this](std::chrono::milliseconds d) { return wait_for(d); };
}

Scheduler::~Scheduler()
{
  stop();
}

util::Micros Scheduler::now() const
{
  return options_.clock ? options_.clock() : util::now();
}

void Scheduler::start()
{
  const std::lock_guard lock(mutex_);
  if (started_ || stopping_)
    return;
  started_ = true;
  poller_ = std::thread([this] { poll_loop(); });
  for (int i = 0; i < std::max(1, options_.run_threads); ++i)
    runners_.emplace_back([this] { run_loop(); });
}

void Scheduler::stop()
{
  {
    const std::lock_guard lock(mutex_);
    if (stopping_ && !poller_.joinable() && runners_.empty())
      return;
    stopping_ = true;
  }
  wake_.notify_all();
  work_.notify_all();
  if (poller_.joinable())
    poller_.join();
  for (auto& t : runners_)
    if (t.joinable())
      t.join();
  runners_.clear();
}

bool Scheduler::wait_for(std::chrono::milliseconds d)
{
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, d, [this] { return stopping_; });
  return !stopping_;
}

void Scheduler::enqueue(std::vector<schedule::ClaimedRun> runs)
{
  {
    const std::lock_guard lock(mutex_);
    for (auto& r : runs) {
      running_ids_.insert(r.run_id);
      queue_.push_back(std::move(r));
    }
  }
  work_.notify_all();
}

schedule::ClaimedRun Scheduler::run_now(pqxx::connection_base& conn, std::int64_t id)
{
  {
    const std::lock_guard lock(mutex_);
    if (stopping_ || !started_)
      throw Unavailable("the scheduler of this daemon is not running");
  }
  auto run = schedule::claim_manual(conn, id, now());
  enqueue({run});
  return run;
}

std::vector<metrics::Sample> Scheduler::last_success_samples() const
{
  const std::lock_guard lock(mutex_);
  return last_success_;
}

std::size_t Scheduler::in_flight() const
{
  const std::lock_guard lock(mutex_);
  return running_ids_.size();
}

void Scheduler::housekeeping(pqxx::connection_base& conn, util::Micros at, bool retention)
{
  schedule::record_dead_runs(conn, options_.stale_after);
  // A CLI load cut short between its two commits (db/two_phase.hpp).
  db::resolve_prepared(conn);
  for (const auto& m : schedule::update_missed(conn, at))
    spdlog::warn("schedule_missed: schedule {} '{}' has not succeeded since {} (twice its interval; due since {})",
                 m.id, m.name, m.last_success ? util::format_rfc3339_utc(*m.last_success) : std::string("its creation"),
                 util::format_rfc3339_utc(m.since));
  std::vector<metrics::Sample> samples;
  for (const auto& [name, t] : schedule::last_successes(conn))
    samples.push_back(metrics::Sample{{name}, static_cast<double>(t) / 1e6});
  {
    const std::lock_guard lock(mutex_);
    last_success_ = std::move(samples);
  }
  if (retention) {
    if (const auto removed = schedule::apply_retention(conn, config_.reports.keep_days); removed > 0)
      spdlog::info("retention: removed {} report(s) (reports.keep_days = {} and each schedule's keep)", removed,
                   config_.reports.keep_days);
    if (!config_.reports.export_dir.empty())
      if (const auto files = report::prune_exports(conn, config_.reports.export_dir); files > 0)
        spdlog::info("retention: removed {} exported file(s) of deleted reports from {}", files,
                     config_.reports.export_dir);
  }
}

void Scheduler::poll_loop()
{
  std::unique_ptr<pqxx::connection> conn;
  std::chrono::milliseconds backoff{0};
  bool outage_logged = false;
  bool defaults_done = !options_.create_defaults;
  auto next_housekeeping = Clock::now();
  auto next_retention = Clock::now();
  auto next_heartbeat = Clock::now() + options_.heartbeat_every;
  for (;;) {
    {
      const std::lock_guard lock(mutex_);
      if (stopping_)
        break;
    }
    std::chrono::milliseconds wait = options_.poll;
    try {
      if (!conn) {
        conn = database_.connect();
        if (outage_logged)
          spdlog::info("scheduler: database reachable again");
        outage_logged = false;
        backoff = std::chrono::milliseconds(0);
      }
      if (!defaults_done) {
        const auto r = schedule::ensure_default_schedules(*conn, config_.reporting_schedule, now());
        if (r.created + r.updated + r.disabled > 0)
          spdlog::info("default schedules ([reporting_schedule]): {} created, {} updated, {} disabled", r.created,
                       r.updated, r.disabled);
        defaults_done = true;
      }
      const auto t = Clock::now();
      if (t >= next_housekeeping) {
        const bool retention = t >= next_retention;
        housekeeping(*conn, now(), retention);
        next_housekeeping = t + options_.housekeeping;
        if (retention)
          next_retention = t + options_.retention_every;
      }
      if (t >= next_heartbeat) {
        std::vector<std::int64_t> ids;
        {
          const std::lock_guard lock(mutex_);
          ids.assign(running_ids_.begin(), running_ids_.end());
        }
        schedule::heartbeat(*conn, ids);
        next_heartbeat = t + options_.heartbeat_every;
      }
      int free = 0;
      {
        const std::lock_guard lock(mutex_);
        free = std::max(1, options_.run_threads) - busy_ - static_cast<int>(queue_.size());
      }
      if (free > 0)
        enqueue(schedule::claim_due(*conn, now(), options_.grace, free));
    } catch (const FieldError& e) {
      // A bad [reporting_schedule] expression: said once, the rest runs on.
      spdlog::error("default schedules not created: {}", e.what());
      defaults_done = true;
    } catch (const std::exception& e) {
      if (is_connection_error(e) || !conn || !conn->is_open()) {
        conn.reset();
        backoff = next_backoff(backoff);
        wait = backoff;
        if (!outage_logged)
          spdlog::warn("scheduler: database unreachable ({}); retrying with back-off", full_message(e));
        outage_logged = true;
      } else {
        spdlog::error("scheduler: {}", full_message(e));
      }
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, wait, [this] { return stopping_; });
  }
}

void Scheduler::run_loop()
{
  std::unique_ptr<pqxx::connection> conn;
  for (;;) {
    schedule::ClaimedRun run;
    bool abandon = false;
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return; // stopping, nothing left
      run = std::move(queue_.front());
      queue_.pop_front();
      abandon = stopping_;
      ++busy_;
    }
    std::string failure;
    try {
      if (!conn || !conn->is_open())
        conn = database_.connect();
      if (abandon) {
        pqxx::work txn{*conn};
        txn.exec_params("UPDATE dm.schedule_runs SET status = 'failed', finished_at = now(), error = $2 "
                        "WHERE id = $1 AND status = 'running'",
                        run.run_id, "the daemon stopped before the run began");
        txn.commit();
      } else {
        const auto record = schedule::execute(*conn, run, options_.execute);
        if (options_.on_run)
          options_.on_run(record);
      }
    } catch (const std::exception& e) {
      failure = full_message(e);
    }
    if (!failure.empty()) {
      // The connection went away during the run: record it on a new one; if
      // that fails too, the run's missing heartbeat ends it later.
      spdlog::error("schedule '{}' run {}: {}", run.schedule.spec.name, run.run_id, failure);
      try {
        conn = database_.connect();
        pqxx::work txn{*conn};
        txn.exec_params("UPDATE dm.schedule_runs SET status = 'failed', finished_at = now(), error = $2 "
                        "WHERE id = $1 AND status = 'running'",
                        run.run_id, fmt::format("the run was interrupted: {}", failure));
        txn.commit();
      } catch (const std::exception&) {
        conn.reset();
      }
    }
    {
      const std::lock_guard lock(mutex_);
      --busy_;
      running_ids_.erase(run.run_id);
    }
    wake_.notify_all(); // a free slot for the poll loop
  }
}

} // namespace dm::daemon
