#include "daemon/host_monitor.hpp"

#include "dm/metrics/daemon_metrics.hpp"
#include "dm/metrics/host_sampler.hpp"
#include "dm/util/error.hpp"
#include "dm/util/time.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

namespace dm::daemon {

namespace {

std::string host_name()
{
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0')
    return "localhost";
  return buf;
}

} // namespace

HostMonitor::HostMonitor(DbGate& gate, std::vector<std::filesystem::path> disk_paths, int interval_s,
                         metrics::DaemonMetrics& metrics, std::function<void()> on_sample)
    : gate_(gate), disk_paths_(std::move(disk_paths)), interval_s_(std::max(1, interval_s)), metrics_(metrics),
      on_sample_(std::move(on_sample)), host_(host_name())
{
  thread_ = std::thread([this] { run(); });
}

HostMonitor::~HostMonitor()
{
  stop();
}

void HostMonitor::stop()
{
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void HostMonitor::run()
{
  metrics::HostSampler sampler(disk_paths_);
  std::unique_ptr<pqxx::connection> conn;
  bool failing = false;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      const auto sample = sampler.sample();
      metrics_.observe_host(sample);
      if (!conn || !conn->is_open())
        conn = gate_.connect();
      metrics::store_host_sample(*conn, host_, sample, util::now());
      if (failing)
        spdlog::info("host samples: stored again");
      failing = false;
      if (on_sample_)
        on_sample_();
    } catch (const std::exception& e) {
      if (!failing)
        spdlog::warn("host samples: {}", full_message(e));
      failing = true;
      conn.reset();
    }
    lock.lock();
    wake_.wait_for(lock, std::chrono::seconds(interval_s_), [this] { return stopping_; });
  }
}

} // namespace dm::daemon
