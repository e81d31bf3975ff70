#include "daemon/daemon.hpp"

#include "daemon/alert_evaluator.hpp"
#include "daemon/change_dispatch.hpp"
#include "daemon/change_listener.hpp"
#include "daemon/db_gate.hpp"
#include "daemon/host_monitor.hpp"
#include "daemon/http_server.hpp"
#include "daemon/readiness.hpp"
#include "daemon/scheduler.hpp"
#include "daemon/server_context.hpp"
#include "daemon/token_cache.hpp"
#include "daemon/user_progress_feed.hpp"
#include "daemon/web_page.hpp"
#include "daemon/worker_pool.hpp"
#include "daemon/ws_hub.hpp"

#include "dm/auth/connection_limiter.hpp"
#include "dm/auth/rate_limiter.hpp"
#include "dm/auth/secret_file.hpp"
#include "dm/auth/token_verifier.hpp"
#include "dm/dashboard/dashboards.hpp"
#include "dm/dashboard/refresher.hpp"
#include "dm/dashboard/snapshot_cache.hpp"
#include "dm/dashboard/user_progress_cache.hpp"
#include "dm/db/database.hpp"
#include "dm/db/migrator.hpp"
#include "dm/db/two_phase.hpp"
#include "dm/metrics/daemon_metrics.hpp"
#include "dm/metrics/health_prober.hpp"
#include "dm/metrics/registry.hpp"
#include "dm/util/time.hpp"
#include "dm/util/error.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <thread>

namespace dm::daemon {

namespace net = boost::asio;

bool is_loopback_listen(const std::string& listen)
{
  const auto endpoint = parse_endpoint(listen);
  return endpoint.address().is_loopback();
}

namespace {

std::string load_daemon_secret(const config::Config& config, const std::filesystem::path& state_dir,
                               const std::string& listen)
{
  const auto path = auth::secret_path(config, state_dir);
  if (!config.auth.jwt_secret_file.empty())
    return auth::load_secret(path);
  if (!is_loopback_listen(listen))
    throw UsageError(fmt::format("refusing to listen on {} without a configured secret: set auth.jwt_secret_file "
                                 "(a file of at least 32 random bytes) or listen on a loopback address",
                                 listen));
  return auth::load_or_create_secret(path);
}

} // namespace

struct Daemon::Impl {
  DaemonOptions options;
  const config::Config& config;
  std::string listen;
  std::unique_ptr<db::Database> database;
  std::unique_ptr<DbGate> gate;
  std::unique_ptr<Readiness> readiness;
  std::unique_ptr<WorkerPool> workers;
  std::unique_ptr<metrics::DaemonMetrics> metrics;
  std::unique_ptr<auth::TokenVerifier> verifier;
  std::unique_ptr<TokenCache> token_cache;
  std::unique_ptr<auth::RateLimiter> rate_limiter;
  std::unique_ptr<auth::ConnectionLimiter> connection_limiter;
  dashboard::SnapshotCache snapshots;
  std::unique_ptr<dashboard::UserProgressCache> progress;
  std::unique_ptr<dashboard::Refresher> refresher;
  std::unique_ptr<HostMonitor> host_monitor;
  std::unique_ptr<Scheduler> scheduler;
  // Before the io_context: WebSocket sessions still held by its handlers
  // when it is destroyed unregister from the hub.
  std::unique_ptr<WsHub> ws_hub;
  net::io_context ioc;
  std::unique_ptr<metrics::HealthProber> prober;
  std::unique_ptr<ServerContext> context;
  std::unique_ptr<HttpServer> server;
  std::optional<net::steady_timer> watchdog;
  std::atomic<bool> stopping{false};

  // Change signals (DESIGN 10). Declared last: destroyed first, before the
  // io_context, refresher and caches they use.
  std::unique_ptr<UserProgressFeed> progress_feed;
  std::unique_ptr<ChangeListener> change_listener;
  // Alert transitions of whichever daemon evaluates: the alerts dashboard.
  std::unique_ptr<ChangeListener> alert_listener;
  std::unique_ptr<AlertEvaluator> alert_evaluator;

  explicit Impl(DaemonOptions o)
      : options(std::move(o)), config(options.config), listen(options.listen.empty() ? config.daemon.listen : options.listen)
  {
    const std::string secret = load_daemon_secret(config, options.state_dir, listen);
    verifier = std::make_unique<auth::TokenVerifier>(secret, config.auth.issuer, config.auth.audience, config.auth.leeway);
    token_cache = std::make_unique<TokenCache>(config.auth.leeway);

    database = std::make_unique<db::Database>(db::Database::Options{.url = config.database.url,
                                                                    .state_dir = options.state_dir,
                                                                    .stop_when_unused = true,
                                                                    .unsafe_fast = false,
                                                                    .statement_timeout_s = config.database.statement_timeout});
    {
      auto conn = database->connect();
      // Before migrating: a load cut short holds locks a migration may need.
      db::resolve_prepared(*conn);
      const int applied = db::migrate(*conn);
      spdlog::info("database {} ({} migration(s) applied)", db::redact_url(database->url()), applied);
    }
    gate = std::make_unique<DbGate>(*database);
    readiness = std::make_unique<Readiness>(*database);
    const int pool_size = std::max(1, config.database.pool_size);
    workers = std::make_unique<WorkerPool>(*gate, pool_size, static_cast<std::size_t>(pool_size) * 64);

    metrics = std::make_unique<metrics::DaemonMetrics>();
    metrics->db_pool_in_use.set_value_function([this] { return static_cast<double>(workers->busy()); });
    rate_limiter = std::make_unique<auth::RateLimiter>(config.rate_limit.rps, config.rate_limit.burst);
    const auto max_connections = static_cast<std::size_t>(std::max(1, config.daemon.max_connections));
    // One client may hold up to half the slots, so it cannot take all of them,
    // and open new connections at 100/s after a burst of 500.
    connection_limiter = std::make_unique<auth::ConnectionLimiter>(std::max<std::size_t>(1, max_connections / 2), 100.0,
                                                                   500.0, 100000);

    prober = std::make_unique<metrics::HealthProber>(ioc.get_executor(), config.health_probes, metrics.get());
    progress = std::make_unique<dashboard::UserProgressCache>(
        static_cast<util::Micros>(std::max(1, config.dashboard.refresh.user_progress)) * util::micros_per_second, 10000);
    dashboard::RefresherOptions refresh = dashboard::refresher_options(config.dashboard.refresh);
    refresh.probes = [this] {
      std::vector<dashboard::ProbeStatusView> out;
      for (const auto& s : prober->status()) {
        dashboard::ProbeStatusView v;
        v.name = s.name;
        v.url = s.url;
        v.up = s.up;
        if (s.status_code != 0)
          v.status_code = s.status_code;
        if (s.checked && s.status_code != 0)
          v.latency_ms = s.latency_ms;
        if (s.checked)
          v.checked_at = s.checked_at_us;
        v.error = s.error;
        out.push_back(std::move(v));
      }
      return out;
    };
    refresh.on_update = [this](std::string_view dashboard, double) {
      metrics->dashboard_updates.labels({std::string(dashboard)}).inc();
    };
    refresher = std::make_unique<dashboard::Refresher>(*database, snapshots, std::move(refresh));

    // Change signals: an ingest through any daemon or the CLI refreshes what it
    // made stale here; watched users' progress is kept live for the hub.
    UserProgressFeedOptions feed_options;
    feed_options.every = std::chrono::seconds(std::max(1, config.dashboard.refresh.user_progress));
    feed_options.on_update = [this](const std::string&, double) {
      metrics->dashboard_updates.labels({std::string(dashboard::user_progress_dashboard)}).inc();
    };
    progress_feed = std::make_unique<UserProgressFeed>(*database, snapshots, std::move(feed_options));
    change_listener = std::make_unique<ChangeListener>(ioc.get_executor(), *database,
                                                       ChangeDispatch(*refresher, *progress, *progress_feed));

    ChangeListenerOptions alert_signals;
    alert_signals.channel = "dm_alerts";
    alert_signals.parse_payloads = false;
    alert_listener = std::make_unique<ChangeListener>(
        ioc.get_executor(), *database,
        [this](const ChangeSignal&) { refresher->refresh_now(dashboard::alerts_dashboard); }, alert_signals);
    if (options.run_alert_evaluator) {
      AlertEvaluatorOptions evaluating = options.alert_evaluator ? *options.alert_evaluator : AlertEvaluatorOptions{};
      if (!options.alert_evaluator)
        evaluating.interval = std::chrono::seconds(std::max(1, config.alerts.interval));
      alert_evaluator = std::make_unique<AlertEvaluator>(*database, config, metrics.get(), std::move(evaluating));
    }

    std::vector<std::filesystem::path> disks{options.state_dir};
    if (!config.reports.export_dir.empty())
      disks.emplace_back(config.reports.export_dir);
    host_monitor = std::make_unique<HostMonitor>(*gate, disks, config.dashboard.refresh.system_performance, *metrics,
                                                 [this] { refresher->refresh_now("system_performance"); });

    ws_hub = std::make_unique<WsHub>(snapshots, *metrics, ws_hub_options());

    if (options.run_scheduler) {
      SchedulerOptions scheduling = options.scheduler ? *options.scheduler : SchedulerOptions{};
      auto on_report = scheduling.execute.on_report;
      scheduling.execute.on_report = [this, on_report](const std::string& type, double seconds) {
        metrics->reports_generated.labels({type}).inc();
        metrics->report_generation_duration.observe(seconds);
        if (on_report)
          on_report(type, seconds);
      };
      scheduler = std::make_unique<Scheduler>(*database, config, std::move(scheduling));
      metrics->schedule_last_success.set_collector([this] { return scheduler->last_success_samples(); });
    }

    context = std::make_unique<ServerContext>(ServerContext{
        .config = config,
        .state_dir = options.state_dir,
        .version = DM_VERSION,
        .started = std::chrono::system_clock::now(),
        .read_timeout = options.read_timeout.value_or(std::chrono::milliseconds(30000)),
        .drain_timeout = options.drain_timeout.value_or(std::chrono::milliseconds(10000)),
        .db_gate = *gate,
        .workers = *workers,
        .readiness = *readiness,
        .verifier = *verifier,
        .token_cache = *token_cache,
        .rate_limiter = *rate_limiter,
        .connection_limiter = *connection_limiter,
        .metrics = *metrics,
        .snapshots = snapshots,
        .progress = *progress,
        .refresher = *refresher,
        .ws_hub = *ws_hub,
        .scheduler = scheduler.get(),
        .alert_evaluator = alert_evaluator.get(),
        .web_page = std::string(web_page()),
    });
    server = std::make_unique<HttpServer>(ioc, listen, *context);
  }

  WsHubOptions ws_hub_options()
  {
    using std::chrono::seconds;
    const auto& d = config.daemon;
    WsHubOptions o;
    o.queue_max = static_cast<std::size_t>(std::max(1, d.ws_queue_max));
    o.write_timeout = options.ws_write_timeout.value_or(seconds(std::max(1, d.ws_write_timeout)));
    o.heartbeat_interval = options.heartbeat_interval.value_or(seconds(std::max(1, d.heartbeat_interval)));
    o.connection_timeout = options.connection_timeout.value_or(seconds(std::max(1, d.connection_timeout)));
    o.close_timeout = options.ws_close_timeout.value_or(seconds(2));
    o.token_leeway_s = config.auth.leeway;
    o.watch_user = [this](std::int64_t user_id) { progress_feed->watch(user_id); };
    o.unwatch_user = [this](std::int64_t user_id) { progress_feed->unwatch(user_id); };
    o.progress_key = [](std::int64_t user_id) { return UserProgressFeed::snapshot_key(user_id); };
    return o;
  }

  void start_watchdog()
  {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
      return;
    watchdog.emplace(ioc);
    const auto interval = std::chrono::microseconds(usec / 2);
    auto tick = std::make_shared<std::function<void()>>();
    *tick = [this, interval, tick] {
      if (stopping.load())
        return;
      sd_notify(0, "WATCHDOG=1");
      watchdog->expires_after(interval);
      watchdog->async_wait([tick](boost::system::error_code ec) {
        if (!ec)
          (*tick)();
      });
    };
    net::post(ioc, [tick] { (*tick)(); });
  }
};

Daemon::Daemon(DaemonOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Daemon::~Daemon()
{
  if (!impl_)
    return;
  // First: the feed and the cache's publishers stop below, and sessions
  // released with the io_context must not call them.
  impl_->ws_hub->detach();
  impl_->host_monitor->stop();
  if (impl_->scheduler) {
    impl_->metrics->schedule_last_success.set_collector({});
    impl_->scheduler->stop();
  }
  if (impl_->alert_evaluator)
    impl_->alert_evaluator->stop();
  impl_->alert_listener->stop();
  impl_->change_listener->stop();
  impl_->progress_feed->stop();
  impl_->refresher->stop();
  impl_->workers->stop();
}

boost::asio::ip::tcp::endpoint Daemon::endpoint() const
{
  return impl_->server->local_endpoint();
}

ServerContext& Daemon::context()
{
  return *impl_->context;
}

void Daemon::run()
{
  Impl& d = *impl_;
  d.server->start();
  d.prober->start();
  d.refresher->start();
  d.progress_feed->start();
  d.change_listener->start();
  d.alert_listener->start();
  if (d.alert_evaluator)
    d.alert_evaluator->start();
  if (d.scheduler)
    d.scheduler->start();
  d.start_watchdog();
  sd_notify(0, "READY=1");
  const int threads = d.config.daemon.threads > 0 ? d.config.daemon.threads
                                                  : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i)
    pool.emplace_back([&d] { d.ioc.run(); });
  d.ioc.run();
  for (auto& t : pool)
    t.join();
}

void Daemon::stop()
{
  Impl& d = *impl_;
  if (d.stopping.exchange(true))
    return;
  sd_notify(0, "STOPPING=1");
  net::post(d.ioc, [&d] {
    d.prober->stop();
    if (d.watchdog)
      d.watchdog->cancel();
    // Every WebSocket gets close 1001; the drain below waits for them as for
    // any connection (at most the close timeout each).
    d.ws_hub->shutdown();
    d.server->shutdown([&d] { d.ioc.stop(); });
  });
}

} // namespace dm::daemon
