// The Refresher against a real database: snapshots appear at start, on their
// interval and on refresh_now(); stop() is prompt; an outage keeps the last
// snapshots, logs once and recovers.

#include "dashboard_fixtures.hpp"
#include "temp_file.hpp"

#include "dm/dashboard/dashboards.hpp"
#include "dm/dashboard/refresher.hpp"
#include "dm/ingest/ingest.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <set>
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

const Micros fixed_now = at("2026-11-02T10:00:00Z");

/// Polls `done` every 10 ms until it holds or `limit` has passed.
template <typename F>
bool wait_for(F done, std::chrono::milliseconds limit = 10s)
{
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

/// `rows` request samples (ts,service,endpoint,status,duration_ms) loaded by ingest.
void ingest_requests(dm::test::TestDatabase& db, const std::string& rows)
{
  dm::db::PgConnection raw(db.url());
  dm::test::TempFile file("ts,service,endpoint,status,duration_ms\n" + rows);
  dm::ingest::IngestOptions o;
  o.kind = dm::ingest::Kind::requests;
  dm::ingest::ingest_file(raw, file.path(), o);
}

boost::json::value body_of(const SnapshotCache& cache, std::string_view dashboard)
{
  const auto s = cache.get(dashboard);
  REQUIRE(s);
  return boost::json::parse(*s->body);
}

/// Makes the default logger a ring buffer for the test's life.
class LogCapture {
public:
  LogCapture() : previous_(spdlog::default_logger())
  {
    auto logger = std::make_shared<spdlog::logger>("dashboard-test", sink_);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  /// Messages of `level` containing `part`.
  int count(spdlog::level::level_enum level, std::string_view part = {}) const
  {
    int n = 0;
    for (const auto& m : sink_->last_raw())
      if (m.level == level && std::string_view(m.payload.data(), m.payload.size()).find(part) != std::string_view::npos)
        ++n;
    return n;
  }

private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
  std::shared_ptr<spdlog::logger> previous_;
};

/// Refuses every connection to a test database while alive (the server keeps
/// running for every other database of the cluster).
class DatabaseOutage {
public:
  explicit DatabaseOutage(std::string name) : name_(std::move(name))
  {
    pqxx::connection admin{dm::test::TestDatabase::cluster().cluster()->connection_string("postgres")};
    pqxx::nontransaction txn{admin};
    txn.exec0(fmt::format("ALTER DATABASE {} ALLOW_CONNECTIONS false", name_));
    txn.exec_params("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name_);
  }
  ~DatabaseOutage()
  {
    pqxx::connection admin{dm::test::TestDatabase::cluster().cluster()->connection_string("postgres")};
    pqxx::nontransaction txn{admin};
    txn.exec0(fmt::format("ALTER DATABASE {} ALLOW_CONNECTIONS true", name_));
  }
  DatabaseOutage(const DatabaseOutage&) = delete;
  DatabaseOutage& operator=(const DatabaseOutage&) = delete;

private:
  std::string name_;
};

/// A Database over the test's own database (not the embedded cluster's default).
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
  o.clock = [] { return fixed_now; };
  return o;
}

std::int64_t sql_requests_last_hour(dm::test::TestDatabase& db)
{
  auto conn = db.connect();
  pqxx::nontransaction txn{*conn};
  return txn
      .exec_params1("SELECT count(*) FROM dm.request_metrics WHERE ts >= $1 AND ts < $2",
                    dm::util::format_rfc3339_utc(fixed_now - dm::util::micros_per_hour),
                    dm::util::format_rfc3339_utc(fixed_now))[0]
      .as<std::int64_t>();
}

} // namespace

TEST_CASE("refresher: every dashboard is published at start, with the hooks' data", "[dashboard]")
{
  dm::test::TestDatabase db;
  ingest_requests(db, "2026-11-02T09:10:00Z,api,/a,200,12\n"
                      "2026-11-02T09:20:00Z,api,/a,500,40\n"
                      "2026-11-02T08:20:00Z,api,/a,200,40\n");
  const dm::db::Database database(url_options(db));
  SnapshotCache cache;
  RefresherOptions o = slow_options();
  o.probes = [] {
    ProbeStatusView p;
    p.name = "api";
    p.url = "http://127.0.0.1:9/healthz";
    p.up = true;
    p.status_code = 200;
    return std::vector<ProbeStatusView>{p};
  };
  std::mutex m;
  std::multiset<std::string> updated;
  o.on_update = [&](std::string_view dashboard, double seconds) {
    CHECK(seconds >= 0);
    const std::lock_guard lock(m);
    updated.emplace(dashboard);
  };
  Refresher refresher(database, cache, o);
  CHECK_FALSE(refresher.healthy());
  CHECK(refresher.last_error() == "not refreshed yet");
  CHECK(cache.get(system_performance_dashboard) == nullptr);
  refresher.start();

  REQUIRE(wait_for([&] { return refresher.healthy(); }));
  CHECK(refresher.last_error().empty());
  for (const auto name : dm::dashboard::cached_dashboards) {
    INFO(std::string(name));
    const auto s = cache.get(name);
    REQUIRE(s);
    CHECK(s->seq == 1);
    CHECK(s->ts == fixed_now);
    CHECK(s->dashboard == name);
  }
  const auto sp = body_of(cache, system_performance_dashboard);
  CHECK(integer(sp.at("overall").at("requests")) == sql_requests_last_hour(db));
  CHECK(integer(sp.at("overall").at("requests")) == 2);
  CHECK(text(sp.at("probes").at(0).at("name")) == "api");
  CHECK(boost::json::serialize(body_of(cache, alerts_dashboard)) ==
        R"({"alerts":[],"firing":{"low":0,"medium":0,"high":0,"critical":0},"pending":0})");
  CHECK(body_of(cache, business_kpis_dashboard).at("kpis").as_object().contains("revenue_cents"));
  CHECK(text(body_of(cache, business_kpis_dashboard).at("period").at("from")) == "2026-11-01T00:00:00Z");
  const std::lock_guard lock(m);
  CHECK(updated == std::multiset<std::string>{"alerts", "business_kpis", "system_performance"});
}

TEST_CASE("refresher: refresh_now recomputes one dashboard at once", "[dashboard]")
{
  dm::test::TestDatabase db;
  ingest_requests(db, "2026-11-02T09:10:00Z,api,/a,200,12\n");
  const dm::db::Database database(url_options(db));
  SnapshotCache cache;
  Refresher refresher(database, cache, slow_options());
  refresher.start();
  REQUIRE(wait_for([&] { return refresher.healthy(); }));

  ingest_requests(db, "2026-11-02T09:30:00Z,auth,/login,200,5\n"
                      "2026-11-02T09:31:00Z,auth,/login,503,7\n");
  std::this_thread::sleep_for(300ms);
  CHECK(cache.get(system_performance_dashboard)->seq == 1); // the interval is an hour: nothing by itself

  CHECK(refresher.refresh_now(system_performance_dashboard));
  REQUIRE(wait_for([&] { return cache.get(system_performance_dashboard)->seq == 2; }, 5s));
  const auto sp = body_of(cache, system_performance_dashboard);
  CHECK(integer(sp.at("overall").at("requests")) == 3);
  CHECK(integer(sp.at("overall").at("requests")) == sql_requests_last_hour(db));
  CHECK(sp.at("services").as_array().size() == 2);
  CHECK(cache.get(business_kpis_dashboard)->seq == 1);
  CHECK(cache.get(alerts_dashboard)->seq == 1);

  CHECK(refresher.refresh_now(business_kpis_dashboard));
  REQUIRE(wait_for([&] { return cache.get(business_kpis_dashboard)->seq == 2; }, 5s));
  CHECK_FALSE(refresher.refresh_now("user_progress"));
  CHECK_FALSE(refresher.refresh_now("nonsense"));
}

TEST_CASE("refresher: dashboards refresh on their own intervals", "[dashboard]")
{
  dm::test::TestDatabase db;
  const dm::db::Database database(url_options(db));
  SnapshotCache cache;
  RefresherOptions o = slow_options();
  o.system_performance_every = 100ms;
  Refresher refresher(database, cache, o);
  const auto started = std::chrono::steady_clock::now();
  refresher.start();
  REQUIRE(wait_for([&] {
    const auto sp = cache.get(system_performance_dashboard);
    const auto al = cache.get(alerts_dashboard);
    return sp && al && sp->seq >= 4 && al->seq >= 4;
  }));
  // Four snapshots take at least three intervals.
  CHECK(std::chrono::steady_clock::now() - started >= 300ms);
  CHECK(cache.get(business_kpis_dashboard)->seq == 1);
}

TEST_CASE("refresher: stop() is prompt and idempotent", "[dashboard]")
{
  dm::test::TestDatabase db;
  const dm::db::Database database(url_options(db));
  SnapshotCache cache;
  {
    Refresher never_started(database, cache, slow_options());
    never_started.stop(); // nothing to join
  }
  Refresher refresher(database, cache, slow_options());
  refresher.start();
  REQUIRE(wait_for([&] { return refresher.healthy(); }));
  const auto before = std::chrono::steady_clock::now();
  refresher.stop();
  CHECK(std::chrono::steady_clock::now() - before < 500ms);
  refresher.stop();
  refresher.start(); // after stop: stays stopped
  CHECK_FALSE(refresher.refresh_now("nonsense"));
  std::this_thread::sleep_for(100ms);
  CHECK(cache.get(system_performance_dashboard)->seq == 1);
}

TEST_CASE("refresher: an outage keeps the last snapshots, warns once, backs off and recovers", "[dashboard]")
{
  dm::test::TestDatabase db;
  ingest_requests(db, "2026-11-02T09:10:00Z,api,/a,200,12\n");
  const dm::db::Database database(url_options(db));
  SnapshotCache cache;
  LogCapture logs;
  RefresherOptions o = slow_options();
  o.initial_backoff = 50ms;
  o.max_backoff = 200ms;
  Refresher refresher(database, cache, o);
  refresher.start();
  REQUIRE(wait_for([&] { return refresher.healthy(); }));
  const auto good = cache.get(system_performance_dashboard);
  REQUIRE(good);

  for (int outage = 1; outage <= 2; ++outage) {
    INFO("outage " << outage);
    {
      const DatabaseOutage down(db.name());
      CHECK(refresher.refresh_now(system_performance_dashboard));
      REQUIRE(wait_for([&] { return !refresher.healthy(); }, 5s));
      // Attempts 50, 100, 200, 200, ... ms apart: several within a second.
      std::this_thread::sleep_for(1s);
      CHECK_FALSE(refresher.healthy());
      CHECK(refresher.last_error().find("system_performance") != std::string::npos);
      CHECK(cache.get(system_performance_dashboard)->seq == static_cast<std::uint64_t>(outage));
      CHECK(logs.count(spdlog::level::warn) == outage);
      const int retries = logs.count(spdlog::level::debug, "still unreachable");
      CHECK(retries >= 3);
      CHECK(retries <= 20); // backed off, not spinning
    }
    REQUIRE(wait_for([&] { return refresher.healthy(); }, 5s));
    CHECK(refresher.last_error().empty());
    CHECK(cache.get(system_performance_dashboard)->seq == static_cast<std::uint64_t>(outage + 1));
    CHECK(logs.count(spdlog::level::info, "reachable again") == outage);
  }
  CHECK(integer(body_of(cache, system_performance_dashboard).at("overall").at("requests")) == 1);
  // The first snapshot was served unchanged all along.
  CHECK(*good->body == *cache.get(system_performance_dashboard)->body);
  refresher.stop();
  CHECK(logs.count(spdlog::level::warn) == 2);
}
