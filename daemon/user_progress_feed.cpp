#include "daemon/user_progress_feed.hpp"

#include "dm/dashboard/refresher.hpp"
#include "dm/dashboard/user_progress.hpp"
#include "dm/util/error.hpp"

#include <boost/json/array.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace dm::daemon {

namespace {

using Clock = std::chrono::steady_clock;

Micros earliest_change(Micros a, Micros b) noexcept
{
  if (a == 0)
    return b;
  if (b == 0)
    return a;
  return std::min(a, b);
}

/// compute_user_progress()'s shape for a user with no data yet.
boost::json::object empty_progress(std::int64_t user_id, Micros now)
{
  boost::json::object out;
  out["user_id"] = user_id;
  out["as_of"] = util::format_rfc3339_utc(now);
  out["topics"] = boost::json::array{};
  out["totals"] = {{"answered", 0}, {"correct", 0}, {"accuracy", 0.0}, {"mock_tests", 0}, {"mock_passes", 0}};
  out["streak_days"] = 0;
  out["longest_streak_days"] = 0;
  out["active_days_last_30"] = 0;
  out["last_activity"] = nullptr;
  return out;
}

} // namespace

std::string UserProgressFeed::snapshot_key(std::int64_t user_id)
{
  return fmt::format("user_progress:{}", user_id);
}

UserProgressFeed::UserProgressFeed(const db::Database& database, dashboard::SnapshotCache& cache,
                                   UserProgressFeedOptions options)
    : database_(database), cache_(cache), options_(std::move(options))
{
  const auto at_least_1ms = [](std::chrono::milliseconds d) { return std::max(d, std::chrono::milliseconds(1)); };
  options_.every = at_least_1ms(options_.every);
  options_.initial_backoff = at_least_1ms(options_.initial_backoff);
  options_.max_backoff = std::max(options_.max_backoff, options_.initial_backoff);
  backoff_ = options_.initial_backoff;
}

UserProgressFeed::~UserProgressFeed()
{
  stop();
}

void UserProgressFeed::start()
{
  const std::lock_guard lock(mutex_);
  if (started_ || stopping_)
    return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void UserProgressFeed::stop()
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

void UserProgressFeed::mark_pending(std::int64_t user_id, Watch& watch, Micros changed_at)
{
  watch.changed_at = earliest_change(watch.changed_at, changed_at);
  if (watch.pending)
    return;
  watch.pending = true;
  pending_.push_back(user_id);
  woken_ = true;
}

void UserProgressFeed::watch(std::int64_t user_id)
{
  {
    const std::lock_guard lock(mutex_);
    Watch& w = watches_[user_id];
    if (w.watchers++ > 0)
      return;
    mark_pending(user_id, w, 0);
  }
  wake_.notify_all();
}

void UserProgressFeed::unwatch(std::int64_t user_id)
{
  const std::lock_guard lock(mutex_);
  const auto it = watches_.find(user_id);
  if (it == watches_.end() || --it->second.watchers > 0)
    return;
  if (it->second.pending)
    pending_.erase(std::find(pending_.begin(), pending_.end(), user_id));
  watches_.erase(it);
  cache_.erase(snapshot_key(user_id));
}

void UserProgressFeed::users_changed(const std::vector<std::int64_t>& users, bool all, Micros committed_at)
{
  {
    const std::lock_guard lock(mutex_);
    bool any = false;
    if (all) {
      for (auto& [id, w] : watches_)
        mark_pending(id, w, committed_at);
      any = !watches_.empty();
    } else {
      for (const std::int64_t id : users) {
        const auto it = watches_.find(id);
        if (it == watches_.end())
          continue;
        mark_pending(id, it->second, committed_at);
        any = true;
      }
    }
    if (!any)
      return;
  }
  wake_.notify_all();
}

std::size_t UserProgressFeed::watched() const
{
  const std::lock_guard lock(mutex_);
  return watches_.size();
}

void UserProgressFeed::run()
{
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto now = Clock::now();
    auto wake_at = Clock::time_point::max();
    for (auto& [id, w] : watches_) {
      if (w.pending)
        continue;
      if (now >= w.due)
        mark_pending(id, w, 0);
      else
        wake_at = std::min(wake_at, w.due);
    }
    if (pending_.empty() || now < retry_at_) {
      if (!pending_.empty())
        wake_at = std::min(wake_at, retry_at_);
      // Only calls from other threads while this one waits count as a wake.
      woken_ = false;
      wake_.wait_until(lock, wake_at, [this] { return stopping_ || woken_; });
      woken_ = false;
      continue;
    }
    const std::int64_t user_id = pending_.front();
    pending_.pop_front();
    Watch& w = watches_.at(user_id);
    w.pending = false;
    // Taken before the work: a change arriving meanwhile queues another run.
    const Micros changed_at = std::exchange(w.changed_at, 0);
    lock.unlock();
    std::string error;
    const auto started = Clock::now();
    const Outcome outcome = refresh(user_id, changed_at, error);
    lock.lock();
    settle(user_id, changed_at, outcome, error, started);
  }
}

UserProgressFeed::Outcome UserProgressFeed::refresh(std::int64_t user_id, Micros changed_at, std::string& error)
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
    boost::json::object data;
    try {
      data = dashboard::compute_user_progress(*conn_, user_id, now);
    } catch (const NotFound&) {
      data = empty_progress(user_id, now);
    }
    const std::string key = snapshot_key(user_id);
    cache_.publish(key, std::move(data), now, changed_at);
    const std::chrono::duration<double> took = Clock::now() - started;
    if (options_.on_update)
      options_.on_update(key, took.count());
    return Outcome::ok;
  } catch (const std::exception& e) {
    error = full_message(e);
    if (!conn_->is_open() || dashboard::is_connection_failure(e)) {
      conn_.reset();
      return Outcome::connection_lost;
    }
    return Outcome::failed;
  }
}

void UserProgressFeed::settle(std::int64_t user_id, Micros changed_at, Outcome outcome, const std::string& error,
                              Clock::time_point started)
{
  const auto it = watches_.find(user_id);
  if (it == watches_.end()) {
    // Unwatched while it was computed: the publish must not linger.
    if (outcome == Outcome::ok)
      cache_.erase(snapshot_key(user_id));
  }

  if (outcome == Outcome::connection_lost) {
    ++failed_attempts_;
    if (!in_outage_) {
      in_outage_ = true;
      spdlog::warn("user progress feed: the database is unreachable, keeping the last snapshots and retrying: {}",
                   error);
    } else {
      spdlog::debug("user progress feed: still unreachable (attempt {}): {}", failed_attempts_, error);
    }
    retry_at_ = Clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
    if (it != watches_.end())
      mark_pending(user_id, it->second, changed_at); // retried with the others after the back-off
    return;
  }

  if (in_outage_) {
    in_outage_ = false;
    spdlog::info("user progress feed: the database is reachable again after {} failed attempts", failed_attempts_);
  }
  failed_attempts_ = 0;
  backoff_ = options_.initial_backoff;
  retry_at_ = {};
  if (it == watches_.end())
    return;
  Watch& w = it->second;
  w.due = started + options_.every;
  if (outcome == Outcome::ok) {
    if (w.failing) {
      w.failing = false;
      spdlog::info("user progress feed: user {} refreshes again", user_id);
    }
    return;
  }
  // Not published: the change stays unreflected until a later attempt succeeds.
  w.changed_at = earliest_change(w.changed_at, changed_at);
  if (!w.failing) {
    w.failing = true;
    spdlog::warn("user progress feed: refreshing user {} failed, keeping its last snapshot: {}", user_id, error);
  }
}

} // namespace dm::daemon
