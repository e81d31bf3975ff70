#pragma once
// Health probes of other services ([[health.probe]], DESIGN 12-13): each is
// polled with an HTTP/1.1 GET at its own interval; up means a 2xx answer.
// The results feed the system_performance dashboard and the health_probe_*
// gauges.

#include "dm/config/config.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dm::metrics {

struct DaemonMetrics;

/// The last result of one probe.
struct ProbeStatus {
  std::string name;
  std::string url;          ///< as configured, any password replaced by ***
  bool up = false;          ///< answered 2xx within the timeout
  int status_code = 0;      ///< HTTP status of the answer, 0 when none came
  double latency_ms = 0;    ///< from the start of the probe to the answer's header (or the failure)
  std::int64_t checked_at_us = 0; ///< when it finished, microseconds since the epoch
  std::string error;        ///< why it is down ("" when up)
  bool checked = false;     ///< false until the first result
};

struct HealthProberOptions {
  /// Deadline of one probe, covering name resolution, connect, TLS handshake,
  /// request and response header. Zero: min(interval, 5 s) for each probe.
  std::chrono::milliseconds timeout{0};
  /// PEM certificates trusted besides the system store (a private CA).
  std::string extra_ca_pem;
};

/// Polls every probe on `executor` without ever blocking it: resolve,
/// connect, TLS handshake (SNI, peer verified against the system store and
/// the host name), write and read are asynchronous under one deadline per
/// probe, and only the response header is read. A refused connection, a
/// timeout, a TLS failure, a bad URL or a non-2xx answer is down, with the
/// reason in ProbeStatus::error. The first poll of each probe starts right
/// after start(); the next one `interval` seconds after the previous one
/// started (or as soon as it ended, when it took longer).
///
/// Thread-safe: status() and stop() may be called from any thread; all the
/// network work runs on one strand of `executor`. Handlers keep the shared
/// state alive, so the object may be destroyed at any time after stop()
/// (the destructor calls it); the executor's context must outlive it until
/// the posted cancellations have run. After stop() returns, the metrics are
/// no longer touched.
class HealthProber {
public:
  /// Throws std::system_error when the TLS context cannot be set up (a bad
  /// extra_ca_pem). Probes with bad URLs are accepted and reported down.
  HealthProber(boost::asio::any_io_executor executor, std::vector<config::HealthProbe> probes,
               DaemonMetrics* metrics = nullptr, HealthProberOptions options = {});
  ~HealthProber();
  HealthProber(const HealthProber&) = delete;
  HealthProber& operator=(const HealthProber&) = delete;

  /// Starts polling. Later calls, and calls after stop(), do nothing.
  void start();
  /// Cancels the timers and the probes in flight. Idempotent.
  void stop();
  /// A copy of every probe's last result, in configuration order.
  std::vector<ProbeStatus> status() const;

private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace dm::metrics
