// The Refresher's changed_at: forced refreshes that coalesce publish the
// earliest commit instant pending, timer refreshes publish 0, and a change
// whose refresh failed is still carried by the publish that follows.

#include "dashboard_fixtures.hpp"

#include "dm/dashboard/dashboards.hpp"
#include "dm/dashboard/refresher.hpp"

#include <fmt/format.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

using dm::dashboard::alerts_dashboard;
using dm::dashboard::business_kpis_dashboard;
using dm::dashboard::ProbeStatusView;
using dm::dashboard::Refresher;
using dm::dashboard::RefresherOptions;
using dm::dashboard::SnapshotCache;
using dm::dashboard::system_performance_dashboard;
using dm::util::Micros;
using namespace dm::test::dashboard;
using namespace std::chrono_literals;

namespace {

template <typename F>
bool wait_for(F done, std::chrono::milliseconds limit = 10s)
{
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

dm::db::Database::Options url_options(const dm::test::TestDatabase& db)
{
  dm::db::Database::Options o;
  o.url = db.url();
  return o;
}

RefresherOptions slow_options()
{
  RefresherOptions o;
  o.system_performance_every = 1h;
  o.business_kpis_every = 1h;
  o.initial_backoff = 20ms;
  o.max_backoff = 100ms;
  o.clock = [] { return at("2026-11-02T10:00:00Z"); };
  return o;
}

std::uint64_t seq(const SnapshotCache& cache, std::string_view dashboard)
{
  const auto s = cache.get(dashboard);
  return s ? s->seq : 0;
}

Micros changed_at(const SnapshotCache& cache, std::string_view dashboard)
{
  const auto s = cache.get(dashboard);
  REQUIRE(s);
  return s->changed_at;
}

/// Holds the refresher's thread inside system_performance's computation
/// (through the probes hook) until released.
class Gate {
public:
  std::vector<ProbeStatusView> pass()
  {
    std::unique_lock lock(mutex_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    return {};
  }
  void close()
  {
    const std::lock_guard lock(mutex_);
    open_ = false;
    entered_ = false;
  }
  bool wait_entered()
  {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, 10s, [this] { return entered_; });
  }
  void open()
  {
    {
      const std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = true;
  bool entered_ = false;
};

} // namespace

TEST_CASE("refresher: coalesced refresh_now calls publish the earliest changed_at", "[dashboard]")
{
  dm::test::TestDatabase db;
  const dm::db::Database database(url_options(db));
  SnapshotCache cache;
  Gate gate;
  RefresherOptions options = slow_options();
  options.probes = [&gate] { return gate.pass(); };
  Refresher refresher(database, cache, options);

  // Before start: all three coalesce into the first computation.
  CHECK(refresher.refresh_now(business_kpis_dashboard, 300));
  CHECK(refresher.refresh_now(business_kpis_dashboard, 100));
  CHECK(refresher.refresh_now(business_kpis_dashboard, 0));
  CHECK(refresher.refresh_now(business_kpis_dashboard, 200));
  refresher.start();
  REQUIRE(wait_for([&] { return refresher.healthy(); }));
  CHECK(seq(cache, business_kpis_dashboard) == 1);
  CHECK(changed_at(cache, business_kpis_dashboard) == 100);
  CHECK(changed_at(cache, system_performance_dashboard) == 0); // a timer refresh
  CHECK(changed_at(cache, alerts_dashboard) == 0);

  // While the thread is busy (held in system_performance), a burst for
  // business_kpis becomes one recompute carrying its earliest instant.
  gate.close();
  CHECK(refresher.refresh_now(system_performance_dashboard, 0));
  REQUIRE(gate.wait_entered());
  CHECK(refresher.refresh_now(business_kpis_dashboard, 500));
  CHECK(refresher.refresh_now(business_kpis_dashboard, 400));
  CHECK(refresher.refresh_now(business_kpis_dashboard, 450));
  gate.open();
  REQUIRE(wait_for([&] { return seq(cache, business_kpis_dashboard) == 2; }));
  CHECK(changed_at(cache, business_kpis_dashboard) == 400);
  std::this_thread::sleep_for(200ms);
  CHECK(seq(cache, business_kpis_dashboard) == 2); // one recompute for the burst
  CHECK(seq(cache, system_performance_dashboard) == 2);

  // A forced refresh without a change instant publishes 0, not the old one.
  CHECK(refresher.refresh_now(business_kpis_dashboard));
  REQUIRE(wait_for([&] { return seq(cache, business_kpis_dashboard) == 3; }));
  CHECK(changed_at(cache, business_kpis_dashboard) == 0);
}

TEST_CASE("refresher: a change whose refresh failed is carried by the next publish", "[dashboard]")
{
  dm::test::TestDatabase db;
  const dm::db::Database database(url_options(db));
  SnapshotCache cache;
  Refresher refresher(database, cache, slow_options());
  refresher.start();
  REQUIRE(wait_for([&] { return refresher.healthy(); }));
  REQUIRE(seq(cache, business_kpis_dashboard) == 1);

  {
    pqxx::connection admin{dm::test::TestDatabase::cluster().cluster()->connection_string("postgres")};
    pqxx::nontransaction txn{admin};
    txn.exec0(fmt::format("ALTER DATABASE {} ALLOW_CONNECTIONS false", db.name()));
    txn.exec_params("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", db.name());
  }
  CHECK(refresher.refresh_now(business_kpis_dashboard, 700));
  REQUIRE(wait_for([&] { return !refresher.healthy(); }));
  std::this_thread::sleep_for(150ms); // a few failed attempts
  CHECK(refresher.refresh_now(business_kpis_dashboard, 900));
  {
    pqxx::connection admin{dm::test::TestDatabase::cluster().cluster()->connection_string("postgres")};
    pqxx::nontransaction txn{admin};
    txn.exec0(fmt::format("ALTER DATABASE {} ALLOW_CONNECTIONS true", db.name()));
  }
  REQUIRE(wait_for([&] { return seq(cache, business_kpis_dashboard) == 2; }));
  CHECK(changed_at(cache, business_kpis_dashboard) == 700);
}
