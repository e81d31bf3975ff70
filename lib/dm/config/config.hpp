#pragma once
// The configuration of both programs (DESIGN 12), parsed once from TOML into
// plain structs. Every key is optional: a default-constructed Config is the
// configuration of a machine without a config file. Units: durations in
// seconds, sizes in bytes, unless the key name says otherwise (`_ms`).
//
// The sample share/config/dmanalytics.toml and the man page
// dmanalytics.toml(5) list the same keys and defaults as this file.

#include "dm/config/config_error.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dm::config {

struct DaemonConfig {
  /// `host:port` or `[ipv6]:port` (see parse_listen_address()).
  std::string listen = "127.0.0.1:8470";
  /// I/O threads running the event loop; 0 = one per hardware thread.
  int threads = 2;
  int max_connections = 10000;
  /// Seconds between WebSocket pings.
  int heartbeat_interval = 30;
  /// Seconds without a pong (or any read) before a connection is closed.
  int connection_timeout = 60;
  /// Messages queued for one WebSocket subscriber before it is dropped.
  int ws_queue_max = 64;
  /// Seconds a WebSocket write may stay in flight before the client is dropped.
  int ws_write_timeout = 10;
  /// Largest accepted request body, in bytes.
  std::int64_t max_body = 8 * 1024 * 1024;

  bool operator==(const DaemonConfig&) const = default;
};

struct DatabaseConfig {
  /// libpq URL or key=value string; empty = the embedded cluster.
  std::string url;
  /// Where reports read from (a replica); empty = `url`.
  std::string read_url;
  int pool_size = 8;
  /// Seconds a statement may run; 0 = no limit.
  int statement_timeout = 30;

  bool operator==(const DatabaseConfig&) const = default;
};

struct StateConfig {
  /// Empty = default_state_dir().
  std::string dir;

  bool operator==(const StateConfig&) const = default;
};

struct AuthConfig {
  /// File holding the HS256 secret; empty = `<state>/jwt.secret`, created on demand.
  std::string jwt_secret_file;
  /// Required `iss` claim; empty = not checked.
  std::string issuer;
  /// Required `aud` claim; empty = not checked.
  std::string audience;
  /// Seconds of clock skew allowed on `exp`, `nbf` and `iat`.
  int leeway = 30;

  bool operator==(const AuthConfig&) const = default;
};

struct RateLimitConfig {
  /// Tokens added per second to each subject's (or IP's) bucket.
  double rps = 50;
  /// Bucket size: the most requests accepted at once after a quiet time.
  double burst = 100;

  bool operator==(const RateLimitConfig&) const = default;
};

/// Longest time in seconds between two updates of each dashboard.
struct RefreshConfig {
  int system_performance = 30;
  int business_kpis = 300;
  int user_progress = 60;

  bool operator==(const RefreshConfig&) const = default;
};

/// Defaults of alert rules created without an explicit threshold.
struct AlertThresholds {
  /// p95 response time above which an alert fires, in milliseconds.
  double response_time_ms = 1000;
  /// Share of requests with status >= 500, 0..1.
  double error_rate = 0.05;
  /// An alert fires when active users drop below this; 0 = off.
  double active_users = 0;
  /// Host load as a fraction of capacity (CPU share, load1 per core).
  double system_load = 0.9;

  bool operator==(const AlertThresholds&) const = default;
};

struct DashboardConfig {
  RefreshConfig refresh;
  AlertThresholds alert_thresholds;

  bool operator==(const DashboardConfig&) const = default;
};

/// Cron expressions of the default report schedules created on first start;
/// empty = no such schedule. Only their shape is checked here (five fields or
/// an @keyword); the cron parser checks the fields when it builds a schedule.
struct ReportingSchedule {
  std::string hourly;
  std::string daily = "0 6 * * *";
  std::string weekly = "0 7 * * MON";
  std::string monthly = "0 8 1 * *";

  bool operator==(const ReportingSchedule&) const = default;
};

struct AlertsConfig {
  /// Seconds between two evaluations of the alert rules.
  int interval = 15;
  /// Seconds a condition must stay clear before its alert resolves.
  int resolve_for = 300;

  bool operator==(const AlertsConfig&) const = default;
};

struct ReportsConfig {
  /// Days a stored report is kept; 0 = forever.
  int keep_days = 90;
  /// Folder that also receives every artifact as a file; empty = none.
  std::string export_dir;
  /// Topics with a lower accuracy are listed as struggling; 0 < x < 1.
  double struggling_accuracy = 0.70;

  bool operator==(const ReportsConfig&) const = default;
};

struct SmtpConfig {
  /// `smtp://host:port` (STARTTLS when offered) or `smtps://host:port`; empty = no e-mail.
  std::string url;
  /// Envelope and header sender; required when `url` is set.
  std::string from;
  std::string username;
  /// File holding the SMTP password; empty = no authentication.
  std::string password_file;

  bool operator==(const SmtpConfig&) const = default;
};

/// One `[[health.probe]]`: a service whose health endpoint is polled.
struct HealthProbe {
  /// Unique, non-empty; the `service` label on the dashboard.
  std::string name;
  /// `http://` or `https://` URL; up when it answers 2xx.
  std::string url;
  /// Seconds between two polls.
  int interval = 30;

  bool operator==(const HealthProbe&) const = default;
};

struct LogConfig {
  /// trace|debug|info|warn|error|off
  std::string level = "info";
  /// text|json
  std::string format = "text";

  bool operator==(const LogConfig&) const = default;
};

struct Config {
  DaemonConfig daemon;
  DatabaseConfig database;
  StateConfig state;
  AuthConfig auth;
  RateLimitConfig rate_limit;
  DashboardConfig dashboard;
  ReportingSchedule reporting_schedule;
  AlertsConfig alerts;
  ReportsConfig reports;
  SmtpConfig smtp;
  /// In file order.
  std::vector<HealthProbe> health_probes;
  LogConfig log;
  /// The file this was loaded from; empty = built-in defaults.
  std::string source;

  bool operator==(const Config&) const = default;
};

/// Parses and validates a whole config. `source_name` names the text in
/// messages and is stored in Config::source. Throws ConfigError listing every
/// syntax error, unknown key, wrong type and bad value found.
Config parse_config(std::string_view toml_text, std::string_view source_name);

/// Reads and parses one file. Throws ConfigError naming the file when it
/// cannot be read (missing, a folder, no permission) or is invalid.
Config load_config_file(const std::filesystem::path& file);

/// The files searched, in order, when no config is named:
/// `$XDG_CONFIG_HOME/dmanalytics/dmanalytics.toml` (`~/.config` when
/// XDG_CONFIG_HOME is unset, empty or relative; left out when no home folder
/// is known), then `/etc/dmanalytics/dmanalytics.toml`.
std::vector<std::filesystem::path> config_search_path();

/// The config of DESIGN 12: `explicit_path` (from --config or
/// DMANALYTICS_CONFIG, resolved by the caller) when given, and then it must
/// exist; else the first file of config_search_path() that exists; else the
/// defaults. A file that exists but cannot be read is an error, not skipped.
Config load_config(const std::optional<std::filesystem::path>& explicit_path);

/// The default state folder: `$XDG_STATE_HOME/dmanalytics` when
/// XDG_STATE_HOME is set (absolute); else `/var/lib/dmanalytics` for root;
/// else `~/.local/state/dmanalytics`. Throws dm::UsageError when there is no
/// home folder to put it in. Does not create the folder.
std::filesystem::path default_state_dir();

/// Every key a config may hold, dotted (`daemon.threads`,
/// `health.probe.name`), in the order of DESIGN 12.
const std::vector<std::string>& config_keys();

} // namespace dm::config
