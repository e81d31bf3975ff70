#pragma once
// Which cached views a change signal makes stale, and telling their owners:
// the Refresher's dashboards, the REST user progress cache and the live user
// progress feed.

#include "daemon/change_listener.hpp"

#include <span>
#include <string_view>

namespace dm::dashboard {
class Refresher;
class UserProgressCache;
} // namespace dm::dashboard

namespace dm::daemon {

class UserProgressFeed;

/// The Refresher's dashboards that read the tables of `kind` (raw rows or
/// their rollups); empty for none.
std::span<const std::string_view> dashboards_reading(ingest::Kind kind) noexcept;
/// Whether user progress reads the tables of `kind`.
bool user_progress_reads(ingest::Kind kind) noexcept;

/// A ChangeListener handler. Never blocks: it only marks work for the
/// threads that do it. The referenced objects must outlive it.
class ChangeDispatch {
public:
  ChangeDispatch(dashboard::Refresher& refresher, dashboard::UserProgressCache& rest_cache, UserProgressFeed& feed)
      : refresher_(&refresher), rest_cache_(&rest_cache), feed_(&feed)
  {
  }

  void operator()(const ChangeSignal& signal) const;

private:
  dashboard::Refresher* refresher_;
  dashboard::UserProgressCache* rest_cache_;
  UserProgressFeed* feed_;
};

} // namespace dm::daemon
