#include "daemon/change_dispatch.hpp"

#include "daemon/user_progress_feed.hpp"

#include "dm/dashboard/dashboards.hpp"
#include "dm/dashboard/refresher.hpp"
#include "dm/dashboard/user_progress_cache.hpp"

#include <array>

namespace dm::daemon {

namespace {

using ingest::Kind;

struct KindReaders {
  Kind kind;
  std::span<const std::string_view> dashboards;
  bool user_progress;
};

constexpr std::array<std::string_view, 1> system_performance{dashboard::system_performance_dashboard};
constexpr std::array<std::string_view, 1> business_kpis{dashboard::business_kpis_dashboard};

/// system_performance reads request_rollup_1m and host_samples; business_kpis
/// reads payments, users and the learning rollups (active users for ARPU);
/// user progress reads user_topic_totals and user_active_days, written by
/// learning ingests. Alerts read no ingested table yet.
constexpr std::array<KindReaders, 5> readers{{
    {Kind::users, business_kpis, false},
    {Kind::learning, business_kpis, true},
    {Kind::payments, business_kpis, false},
    {Kind::requests, system_performance, false},
    {Kind::host, system_performance, false},
}};

const KindReaders* readers_of(Kind kind) noexcept
{
  for (const KindReaders& r : readers)
    if (r.kind == kind)
      return &r;
  return nullptr;
}

} // namespace

std::span<const std::string_view> dashboards_reading(Kind kind) noexcept
{
  const KindReaders* r = readers_of(kind);
  return r != nullptr ? r->dashboards : std::span<const std::string_view>{};
}

bool user_progress_reads(Kind kind) noexcept
{
  const KindReaders* r = readers_of(kind);
  return r != nullptr && r->user_progress;
}

void ChangeDispatch::operator()(const ChangeSignal& signal) const
{
  bool progress = false;
  for (const std::string_view d : dashboard::cached_dashboards) {
    bool stale = false;
    for (const Kind kind : signal.kinds) {
      for (const std::string_view reader : dashboards_reading(kind))
        stale = stale || reader == d;
    }
    if (stale)
      refresher_->refresh_now(d, signal.committed_at);
  }
  for (const Kind kind : signal.kinds)
    progress = progress || user_progress_reads(kind);
  if (!progress)
    return;
  if (signal.all_users)
    rest_cache_->clear();
  else
    for (const std::int64_t user : signal.users)
      rest_cache_->invalidate(user);
  feed_->users_changed(signal.users, signal.all_users, signal.committed_at);
}

} // namespace dm::daemon
