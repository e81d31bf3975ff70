#pragma once
// Everything a request handler may use, owned by the Daemon and alive for
// the server's whole life. Members are thread-safe unless noted.

#include "dm/config/config.hpp"

#include <chrono>
#include <filesystem>
#include <string>

namespace dm::auth {
class TokenVerifier;
class RateLimiter;
class ConnectionLimiter;
} // namespace dm::auth
namespace dm::metrics {
class Registry;
struct DaemonMetrics;
class HealthProber;
} // namespace dm::metrics
namespace dm::dashboard {
class SnapshotCache;
class UserProgressCache;
class Refresher;
} // namespace dm::dashboard

namespace dm::daemon {

class DbGate;
class TokenCache;
class WorkerPool;
class Readiness;
class WsHub;
class Scheduler;
class AlertEvaluator;

struct ServerContext {
  const config::Config& config;
  std::filesystem::path state_dir;
  std::string version;
  std::chrono::system_clock::time_point started;
  /// The read deadline of every request (DESIGN 8: 30 s).
  std::chrono::milliseconds read_timeout{30000};
  /// How long in-flight requests may take to finish after SIGTERM.
  std::chrono::milliseconds drain_timeout{10000};

  DbGate& db_gate;
  WorkerPool& workers;
  const Readiness& readiness;
  const auth::TokenVerifier& verifier;
  TokenCache& token_cache;
  auth::RateLimiter& rate_limiter;
  auth::ConnectionLimiter& connection_limiter;
  metrics::DaemonMetrics& metrics;
  dashboard::SnapshotCache& snapshots;
  dashboard::UserProgressCache& progress;
  dashboard::Refresher& refresher;
  WsHub& ws_hub;
  /// Null when the daemon runs without a scheduler (DaemonOptions).
  Scheduler* scheduler = nullptr;
  /// Null when the daemon never evaluates alerts (DaemonOptions).
  AlertEvaluator* alert_evaluator = nullptr;
  /// The dashboard page served at `/` (share/web/index.html).
  std::string web_page;
};

} // namespace dm::daemon
