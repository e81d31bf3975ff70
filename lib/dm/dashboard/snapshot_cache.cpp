#include "dm/dashboard/snapshot_cache.hpp"

#include "dm/util/json_text.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace dm::dashboard {

std::shared_ptr<const Snapshot> SnapshotCache::get(std::string_view dashboard) const
{
  const std::lock_guard lock(mutex_);
  const auto it = latest_.find(dashboard);
  return it == latest_.end() ? nullptr : it->second;
}

std::shared_ptr<const Snapshot> SnapshotCache::publish(std::string_view dashboard, boost::json::object data, Micros ts,
                                                       Micros changed_at)
{
  // Serialise before taking any lock: it is the expensive part.
  auto body = std::make_shared<const std::string>(util::json_text(data));
  const std::lock_guard publishing(publish_mutex_);
  std::shared_ptr<const Snapshot> snapshot;
  std::shared_ptr<const SubscriberList> subscribers;
  {
    const std::lock_guard lock(mutex_);
    auto it = latest_.find(dashboard);
    const std::uint64_t seq = it == latest_.end() ? 1 : it->second->seq + 1;
    snapshot = std::make_shared<const Snapshot>(Snapshot{std::string(dashboard), seq, ts, std::move(body), changed_at});
    if (it == latest_.end())
      latest_.emplace(std::string(dashboard), snapshot);
    else
      it->second = snapshot;
    subscribers = subscribers_;
  }
  for (const auto& [token, subscriber] : *subscribers)
    (*subscriber)(snapshot);
  return snapshot;
}

void SnapshotCache::erase(std::string_view dashboard)
{
  const std::lock_guard lock(mutex_);
  const auto it = latest_.find(dashboard);
  if (it != latest_.end())
    latest_.erase(it);
}

SnapshotCache::Token SnapshotCache::subscribe(Subscriber subscriber)
{
  const std::lock_guard lock(mutex_);
  auto list = std::make_shared<SubscriberList>(*subscribers_);
  const Token token = next_token_++;
  list->emplace_back(token, std::make_shared<const Subscriber>(std::move(subscriber)));
  subscribers_ = std::move(list);
  return token;
}

void SnapshotCache::unsubscribe(Token token)
{
  const std::lock_guard lock(mutex_);
  auto list = std::make_shared<SubscriberList>(*subscribers_);
  const auto removed = std::remove_if(list->begin(), list->end(), [token](const auto& s) { return s.first == token; });
  if (removed == list->end())
    return;
  list->erase(removed, list->end());
  subscribers_ = std::move(list);
}

} // namespace dm::dashboard
