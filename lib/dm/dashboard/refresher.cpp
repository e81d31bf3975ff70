#include "dm/dashboard/refresher.hpp"

#include "dm/dashboard/alerts.hpp"
#include "dm/dashboard/business_kpis.hpp"
#include "dm/dashboard/dashboards.hpp"
#include "dm/util/error.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace dm::dashboard {

namespace {

using Clock = std::chrono::steady_clock;

/// The earlier of two commit instants, 0 standing for none.
Micros earliest_change(Micros a, Micros b) noexcept
{
  if (a == 0)
    return b;
  if (b == 0)
    return a;
  return std::min(a, b);
}

} // namespace

bool is_connection_failure(const std::exception& e)
{
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
      dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr)
    return true;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    // Class 08: connection exception; 57P01..57P03: the server shuts down or
    // is starting (57014, a statement timeout, leaves the connection usable).
    const std::string& state = sql->sqlstate();
    if (state.starts_with("08") || state.starts_with("57P"))
      return true;
  }
  try {
    std::rethrow_if_nested(e);
  } catch (const std::exception& nested) {
    return is_connection_failure(nested);
  } catch (...) {
  }
  return false;
}

RefresherOptions refresher_options(const config::RefreshConfig& refresh)
{
  RefresherOptions o;
  o.system_performance_every = std::chrono::seconds(refresh.system_performance);
  o.business_kpis_every = std::chrono::seconds(refresh.business_kpis);
  return o;
}

Refresher::Refresher(const db::Database& database, SnapshotCache& cache, RefresherOptions options)
    : database_(database), cache_(cache), options_(std::move(options)), backoff_(options_.initial_backoff)
{
  // An interval below 1 ms would make the thread spin.
  const auto at_least_1ms = [](std::chrono::milliseconds d) { return std::max(d, std::chrono::milliseconds(1)); };
  options_.system_performance_every = at_least_1ms(options_.system_performance_every);
  options_.business_kpis_every = at_least_1ms(options_.business_kpis_every);
  options_.initial_backoff = at_least_1ms(options_.initial_backoff);
  options_.max_backoff = std::max(options_.max_backoff, options_.initial_backoff);
  backoff_ = options_.initial_backoff;

  // Highest priority first: when several are due, they run in this order.
  jobs_.push_back({system_performance_dashboard, options_.system_performance_every,
                   [this](pqxx::connection& conn, Micros now) {
                     return compute_system_performance(conn, now, options_.probes ? options_.probes()
                                                                                  : std::vector<ProbeStatusView>{});
                   }});
  jobs_.push_back({alerts_dashboard, options_.system_performance_every,
                   [](pqxx::connection& conn, Micros) { return compute_alerts(conn); }});
  jobs_.push_back({business_kpis_dashboard, options_.business_kpis_every,
                   [](pqxx::connection& conn, Micros now) { return compute_business_kpis(conn, now); }});
}

Refresher::~Refresher()
{
  stop();
}

void Refresher::start()
{
  const std::lock_guard lock(mutex_);
  if (started_ || stopping_)
    return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void Refresher::stop()
{
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  const std::lock_guard joining(join_mutex_);
  if (thread_.joinable())
    thread_.join();
}

bool Refresher::refresh_now(std::string_view dashboard, Micros changed_at)
{
  {
    const std::lock_guard lock(mutex_);
    const auto it = std::find_if(jobs_.begin(), jobs_.end(), [&](const Job& j) { return j.dashboard == dashboard; });
    if (it == jobs_.end())
      return false;
    it->forced = true;
    it->changed_at = earliest_change(it->changed_at, changed_at);
    woken_ = true;
  }
  wake_.notify_all();
  return true;
}

bool Refresher::healthy() const
{
  const std::lock_guard lock(mutex_);
  return healthy_;
}

std::string Refresher::last_error() const
{
  const std::lock_guard lock(mutex_);
  return last_error_;
}

void Refresher::run()
{
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto now = Clock::now();
    Job* next = nullptr;
    auto wake_at = Clock::time_point::max();
    for (Job& job : jobs_) {
      if (job.forced || now >= job.due) {
        if (next == nullptr)
          next = &job;
      } else {
        wake_at = std::min(wake_at, job.due);
      }
    }
    if (next != nullptr && now < retry_at_) {
      wake_at = std::min(wake_at, retry_at_);
      next = nullptr;
    }
    if (next == nullptr) {
      wake_.wait_until(lock, wake_at, [this] { return stopping_ || woken_; });
      woken_ = false;
      continue;
    }
    // Cleared before the work, so a refresh_now() arriving meanwhile asks for
    // another run (its data may be newer than this one's snapshot).
    next->forced = false;
    const Micros changed_at = std::exchange(next->changed_at, 0);
    lock.unlock();
    std::string error;
    const auto started = Clock::now();
    const Outcome outcome = refresh(*next, changed_at, error);
    lock.lock();
    // A failed attempt published nothing: the change is still unreflected.
    if (outcome != Outcome::ok)
      next->changed_at = earliest_change(next->changed_at, changed_at);
    settle(*next, outcome, error, started);
  }
}

Refresher::Outcome Refresher::refresh(const Job& job, Micros changed_at, std::string& error)
{
  try {
    if (!conn_)
      conn_ = database_.connect();
  } catch (const std::exception& e) {
    error = full_message(e);
    return Outcome::connection_lost;
  }
  try {
    const Micros now = options_.clock ? options_.clock() : util::now();
    const auto started = Clock::now();
    cache_.publish(job.dashboard, job.compute(*conn_, now), now, changed_at);
    const std::chrono::duration<double> took = Clock::now() - started;
    if (options_.on_update)
      options_.on_update(job.dashboard, took.count());
    return Outcome::ok;
  } catch (const std::exception& e) {
    error = full_message(e);
    if (!conn_->is_open() || is_connection_failure(e)) {
      conn_.reset();
      return Outcome::connection_lost;
    }
    return Outcome::job_failed;
  }
}

void Refresher::settle(Job& job, Outcome outcome, const std::string& error, Clock::time_point started)
{
  if (outcome == Outcome::connection_lost) {
    // Still due: retried with the others once the back-off has passed.
    job.forced = true;
    ++failed_attempts_;
    last_error_ = fmt::format("{}: {}", job.dashboard, error);
    if (!in_outage_) {
      in_outage_ = true;
      spdlog::warn("dashboards: the database is unreachable, keeping the last snapshots and retrying: {}", error);
    } else {
      spdlog::debug("dashboards: still unreachable (attempt {}): {}", failed_attempts_, error);
    }
    retry_at_ = Clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
    update_health();
    return;
  }

  // The database answered.
  if (in_outage_) {
    in_outage_ = false;
    spdlog::info("dashboards: the database is reachable again after {} failed attempts", failed_attempts_);
  }
  failed_attempts_ = 0;
  backoff_ = options_.initial_backoff;
  retry_at_ = {};
  job.due = started + job.every;
  if (outcome == Outcome::ok) {
    job.refreshed = true;
    if (job.failing) {
      job.failing = false;
      spdlog::info("dashboards: {} refreshes again", job.dashboard);
    }
  } else {
    last_error_ = fmt::format("{}: {}", job.dashboard, error);
    if (!job.failing) {
      job.failing = true;
      spdlog::warn("dashboards: refreshing {} failed, keeping its last snapshot: {}", job.dashboard, error);
    }
  }
  update_health();
}

void Refresher::update_health()
{
  bool healthy = !in_outage_;
  for (const Job& job : jobs_)
    healthy = healthy && job.refreshed && !job.failing;
  healthy_ = healthy;
  if (healthy)
    last_error_.clear();
  else if (last_error_.empty())
    last_error_ = "not refreshed yet";
}

} // namespace dm::dashboard
