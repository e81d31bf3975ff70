#include "daemon/ws_hub.hpp"

#include "daemon/ws_session.hpp"

#include "dm/auth/role.hpp"
#include "dm/metrics/daemon_metrics.hpp"
#include "dm/util/time.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <vector>

#include <unistd.h>

namespace dm::daemon {

namespace {

std::size_t index_of(WsDashboard dashboard)
{
  return static_cast<std::size_t>(dashboard);
}

} // namespace

WsHub::WsHub(dashboard::SnapshotCache& cache, metrics::DaemonMetrics& metrics, WsHubOptions options)
    : cache_(cache), metrics_(metrics), options_(std::move(options))
{
  if (!options_.progress_key)
    options_.progress_key = [](std::int64_t user_id) { return fmt::format("user_progress:{}", user_id); };
  cache_token_ = cache_.subscribe([this](std::shared_ptr<const dashboard::Snapshot> snapshot) { on_publish(snapshot); });
}

WsHub::~WsHub()
{
  detach();
}

void WsHub::detach()
{
  {
    const std::lock_guard lock(watch_mutex_);
    detached_ = true;
  }
  const std::lock_guard lock(mutex_);
  if (cache_token_) {
    cache_.unsubscribe(*cache_token_);
    cache_token_.reset();
  }
}

std::string WsHub::cache_key(const WsTopic& topic) const
{
  if (topic.dashboard == WsDashboard::user_progress)
    return options_.progress_key(topic.user_id);
  return std::string(to_string(topic.dashboard));
}

std::string WsHub::refusal(const auth::Claims& claims, const WsTopic& topic)
{
  const auth::Role role = claims.role;
  switch (topic.dashboard) {
  case WsDashboard::user_progress:
    if (auth::role_allows(role, auth::Role::viewer) || claims.sub == std::to_string(topic.user_id))
      return {};
    return fmt::format("role {} may only follow its own progress (user {}), not user {}", auth::to_string(role),
                       claims.sub, topic.user_id);
  case WsDashboard::system_performance:
  case WsDashboard::alerts:
    if (auth::role_allows(role, auth::Role::viewer))
      return {};
    return fmt::format("role {} may not follow {}; viewer or better required", auth::to_string(role),
                       to_string(topic.dashboard));
  case WsDashboard::business_kpis:
    if (auth::role_allows(role, auth::Role::admin))
      return {};
    return fmt::format("role {} may not follow business_kpis; admin required", auth::to_string(role));
  }
  return "unknown dashboard";
}

void WsHub::accept(boost::asio::ip::tcp::socket socket, Request upgrade, auth::Claims claims,
                   std::optional<std::int64_t> progress_user, std::shared_ptr<ConnectionSlot> slot)
{
  const int shard = rehome(socket);
  auto session = std::make_shared<WsSession>(*this, std::move(socket), std::move(claims), progress_user,
                                             std::move(slot), shard);
  add(session);
  if (shard < 0)
    return session->run(std::move(upgrade));
  // The session's strand is now its shard's: start there.
  auto executor = session->executor();
  boost::asio::post(executor, [session = std::move(session), upgrade = std::move(upgrade)]() mutable {
    session->run(std::move(upgrade));
  });
}

int WsHub::rehome(boost::asio::ip::tcp::socket& socket)
{
  namespace net = boost::asio;
  net::io_context* context = nullptr;
  const auto executor = socket.get_executor();
  if (const auto* strand = executor.target<Shard>())
    context = &strand->get_inner_executor().context();
  else if (const auto* plain = executor.target<net::io_context::executor_type>())
    context = &plain->context();
  if (context == nullptr)
    return -1;
  std::optional<Shard> shard;
  int index = -1;
  {
    const std::lock_guard lock(mutex_);
    if (shard_context_ == nullptr) {
      shard_context_ = context;
      shards_.reserve(shard_count);
      for (std::size_t i = 0; i < shard_count; ++i)
        shards_.push_back(net::make_strand(*context));
    }
    if (shard_context_ != context)
      return -1;
    index = static_cast<int>(next_shard_++ % shards_.size());
    shard = shards_[static_cast<std::size_t>(index)];
  }
  boost::system::error_code ec;
  const auto protocol = socket.local_endpoint(ec).protocol();
  if (ec)
    return -1;
  const auto handle = socket.release(ec);
  if (ec)
    return -1;
  boost::asio::ip::tcp::socket moved(*shard);
  moved.assign(protocol, handle, ec);
  if (ec) {
    spdlog::warn("WebSocket connection lost while moving it to its shard: {}", ec.message());
    ::close(handle);
    return -1;
  }
  socket = std::move(moved);
  return index;
}

void WsHub::shutdown()
{
  std::vector<std::shared_ptr<WsSession>> open;
  {
    const std::lock_guard lock(mutex_);
    shutting_down_ = true;
    open.reserve(sessions_.size());
    for (auto& [raw, weak] : sessions_)
      if (auto session = weak.lock())
        open.push_back(std::move(session));
  }
  if (!open.empty())
    spdlog::info("closing {} WebSocket connection(s)", open.size());
  for (auto& session : open)
    session->close(WsSession::close_code::going_away, "server shutting down");
}

bool WsHub::shutting_down() const
{
  const std::lock_guard lock(mutex_);
  return shutting_down_;
}

WsStats WsHub::stats() const
{
  WsStats s;
  {
    const std::lock_guard lock(mutex_);
    s.connections = sessions_.size();
    s.subscribers = subscribers_;
  }
  s.sent = sent_.load(std::memory_order_relaxed);
  s.conflated = conflated_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  return s;
}

void WsHub::add(const std::shared_ptr<WsSession>& session)
{
  {
    const std::lock_guard lock(mutex_);
    sessions_.emplace(session.get(), session);
  }
  metrics_.websocket_connections.inc();
}

void WsHub::remove(WsSession& session, const std::vector<WsTopic>& topics)
{
  for (const auto& topic : topics)
    unsubscribe(session, topic);
  bool removed = false;
  {
    const std::lock_guard lock(mutex_);
    removed = sessions_.erase(&session) > 0;
  }
  if (removed)
    metrics_.websocket_connections.dec();
}

std::shared_ptr<const WsFrame> WsHub::subscribe(const std::shared_ptr<WsSession>& session, const WsTopic& topic)
{
  const std::string key = cache_key(topic);
  bool added = false;
  {
    const std::lock_guard lock(mutex_);
    auto& entry = topics_[key];
    entry.topic = topic;
    added = entry.sessions.emplace(session.get(), session).second;
    if (added)
      update_subscriber_gauge(topic.dashboard, ++subscribers_[index_of(topic.dashboard)]);
  }
  if (added && topic.dashboard == WsDashboard::user_progress)
    watch(topic);
  // Registered before reading the cache: a publish after this read reaches
  // the session as an update, one before it is the snapshot returned here
  // (the session drops whichever arrives second with the same seq).
  const auto current = cache_.get(key);
  return current ? snapshot_frame(current, topic) : nullptr;
}

void WsHub::unsubscribe(WsSession& session, const WsTopic& topic)
{
  const std::string key = cache_key(topic);
  bool removed = false;
  {
    const std::lock_guard lock(mutex_);
    const auto it = topics_.find(key);
    if (it == topics_.end())
      return;
    removed = it->second.sessions.erase(&session) > 0;
    if (it->second.sessions.empty())
      topics_.erase(it);
    if (removed)
      update_subscriber_gauge(topic.dashboard, --subscribers_[index_of(topic.dashboard)]);
  }
  if (removed && topic.dashboard == WsDashboard::user_progress)
    unwatch(topic);
}

void WsHub::update_subscriber_gauge(WsDashboard dashboard, std::size_t count)
{
  metrics_.dashboard_active_subscribers.labels({std::string(to_string(dashboard))}).set(static_cast<double>(count));
}

void WsHub::watch(const WsTopic& topic)
{
  const std::lock_guard lock(watch_mutex_);
  if (detached_)
    return;
  if (++watchers_[topic.user_id] == 1 && options_.watch_user)
    options_.watch_user(topic.user_id);
}

void WsHub::unwatch(const WsTopic& topic)
{
  const std::lock_guard lock(watch_mutex_);
  if (detached_)
    return;
  const auto it = watchers_.find(topic.user_id);
  if (it == watchers_.end())
    return;
  if (--it->second == 0) {
    watchers_.erase(it);
    if (options_.unwatch_user)
      options_.unwatch_user(topic.user_id);
  }
}

std::shared_ptr<const WsFrame> WsHub::snapshot_frame(const std::shared_ptr<const dashboard::Snapshot>& snapshot,
                                                     const WsTopic& topic)
{
  {
    const std::lock_guard lock(mutex_);
    const auto it = topics_.find(snapshot->dashboard);
    if (it != topics_.end() && it->second.snapshot_frame && it->second.snapshot_frame->snapshot == snapshot)
      return it->second.snapshot_frame;
  }
  // Built outside the lock: a large snapshot takes a while to copy. Two
  // sessions racing here build it twice, which is harmless.
  auto frame = make_data_frame(snapshot, topic, true);
  const std::lock_guard lock(mutex_);
  const auto it = topics_.find(snapshot->dashboard);
  if (it != topics_.end())
    it->second.snapshot_frame = frame;
  return frame;
}

void WsHub::on_publish(const std::shared_ptr<const dashboard::Snapshot>& snapshot)
{
  using Batch = std::vector<std::shared_ptr<WsSession>>;
  std::vector<Batch> batches;
  std::vector<Shard> shards;
  Batch others; // sessions on an executor of their own
  std::size_t count = 0;
  WsTopic topic;
  {
    const std::lock_guard lock(mutex_);
    const auto it = topics_.find(snapshot->dashboard);
    if (it == topics_.end())
      return;
    topic = it->second.topic;
    shards = shards_;
    batches.resize(shards.size());
    const std::size_t per_shard = it->second.sessions.size() / std::max<std::size_t>(1, shards.size()) + 1;
    for (auto& batch : batches)
      batch.reserve(per_shard);
    for (auto& [raw, weak] : it->second.sessions) {
      auto session = weak.lock();
      if (!session)
        continue;
      ++count;
      if (raw->shard_ >= 0)
        batches[static_cast<std::size_t>(raw->shard_)].push_back(std::move(session));
      else
        others.push_back(std::move(session));
    }
  }
  if (count == 0)
    return;
  const auto frame = make_data_frame(snapshot, topic, false);
  for (std::size_t i = 0; i < batches.size(); ++i) {
    if (batches[i].empty())
      continue;
    boost::asio::post(shards[i], [frame, batch = std::move(batches[i])] {
      for (const auto& session : batch)
        session->enqueue_data(frame, false);
    });
  }
  for (auto& session : others)
    session->deliver(frame);
}

void WsHub::count_sent(const WsFrame& frame)
{
  sent_.fetch_add(1, std::memory_order_relaxed);
  if (frame.snapshot && frame.snapshot->changed_at > 0) {
    const util::Micros waited = util::now() - frame.snapshot->changed_at;
    metrics_.dashboard_update_latency.observe(static_cast<double>(std::max<util::Micros>(0, waited)) /
                                              static_cast<double>(util::micros_per_second));
  }
}

void WsHub::count_conflated()
{
  conflated_.fetch_add(1, std::memory_order_relaxed);
  metrics_.websocket_messages_conflated.inc();
}

void WsHub::count_dropped(std::size_t frames)
{
  dropped_.fetch_add(frames, std::memory_order_relaxed);
  metrics_.websocket_messages_dropped.inc(static_cast<double>(frames));
}

} // namespace dm::daemon
