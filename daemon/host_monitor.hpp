#pragma once
// Samples this host (CPU, memory, disk of the state and report folders, load)
// every `dashboard.refresh.system_performance` seconds into dm.host_samples,
// so that the system dashboard shows load without any other agent. A thread
// of its own; database errors are logged once per outage and retried at the
// next sample.

#include "daemon/db_gate.hpp"

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dm::metrics {
struct DaemonMetrics;
}

namespace dm::daemon {

class HostMonitor {
public:
  HostMonitor(DbGate& gate, std::vector<std::filesystem::path> disk_paths, int interval_s,
              metrics::DaemonMetrics& metrics, std::function<void()> on_sample);
  ~HostMonitor();
  void stop();

private:
  void run();

  DbGate& gate_;
  std::vector<std::filesystem::path> disk_paths_;
  int interval_s_;
  metrics::DaemonMetrics& metrics_;
  std::function<void()> on_sample_;
  std::string host_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace dm::daemon
