#pragma once
// The whole daemon as one object: database (embedded or configured, migrated),
// worker pool, caches and refresher, host monitor, health probes, metrics,
// auth and the HTTP server. main.cpp wires signals to it; the integration
// tests run it in-process on an ephemeral port.

#include "dm/config/config.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace dm::daemon {

struct ServerContext;
struct SchedulerOptions;
struct AlertEvaluatorOptions;

struct DaemonOptions {
  config::Config config;
  std::filesystem::path state_dir;
  /// Overrides daemon.listen when not empty ("127.0.0.1:0" picks a free port).
  std::string listen;
  /// Overrides the 30 s read deadline (tests of slow clients).
  std::optional<std::chrono::milliseconds> read_timeout;
  /// Overrides the 10 s drain time after stop().
  std::optional<std::chrono::milliseconds> drain_timeout;
  /// Override daemon.heartbeat_interval, daemon.connection_timeout and
  /// daemon.ws_write_timeout (whole seconds there), and the 2 s a WebSocket
  /// close handshake may take (tests of dead and slow clients).
  std::optional<std::chrono::milliseconds> heartbeat_interval;
  std::optional<std::chrono::milliseconds> connection_timeout;
  std::optional<std::chrono::milliseconds> ws_write_timeout;
  std::optional<std::chrono::milliseconds> ws_close_timeout;
  /// The report scheduler's settings (poll interval, clock, hooks); null =
  /// the defaults. `run_scheduler = false` runs none (no schedule fires).
  std::shared_ptr<const SchedulerOptions> scheduler;
  bool run_scheduler = true;
  /// The alert evaluator's settings (interval, clock); null = alerts.interval.
  /// `run_alert_evaluator = false`: this daemon never evaluates.
  std::shared_ptr<const AlertEvaluatorOptions> alert_evaluator;
  bool run_alert_evaluator = true;
};

class Daemon {
public:
  /// Opens and migrates the database, loads the secret, binds the socket.
  /// Throws (UsageError for a bad configuration, e.g. a public address
  /// without a configured secret) before anything is served.
  explicit Daemon(DaemonOptions options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  boost::asio::ip::tcp::endpoint endpoint() const;
  ServerContext& context();

  /// Serves on daemon.threads threads until stop() has drained; then returns.
  /// Tells systemd READY=1 and pings its watchdog when run under it.
  void run();
  /// From any thread or a signal handler's completion: stop accepting,
  /// finish requests in flight (bounded), then make run() return.
  void stop();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The path of the HS256 secret the daemon uses, and whether it was configured.
bool is_loopback_listen(const std::string& listen);

} // namespace dm::daemon
