#pragma once
// Host monitoring: CPU, memory, disk and load of the machine the daemon runs
// on, read from /proc and statvfs, stored in dm.host_samples (DESIGN 4) and
// exported as the host_* gauges.

#include "dm/util/time.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pqxx {
class connection_base;
class transaction_base;
} // namespace pqxx

namespace dm::metrics {

/// Used share of one file system.
struct DiskUsage {
  std::filesystem::path path;
  double used = 0; ///< 0..1
};

/// One measurement. cpu, mem and disk are fractions 0..1 (the CHECK
/// constraints of dm.host_samples), load1 the 1-minute load average.
struct HostSample {
  double cpu = 0;  ///< busy share of all CPUs since the previous sample
  double mem = 0;  ///< 1 - MemAvailable / MemTotal
  double disk = 0; ///< the largest used share among `disks`; NaN when none could be measured
  double load1 = 0;
  /// Each path that could be measured, in the sampler's order.
  std::vector<DiskUsage> disks;
};

/// Jiffies from the aggregate `cpu` line of /proc/stat.
struct CpuTimes {
  /// user + nice + system + idle + iowait + irq + softirq + steal (guest time
  /// is already inside user and nice).
  std::uint64_t total = 0;
  /// idle + iowait.
  std::uint64_t idle = 0;

  bool operator==(const CpuTimes&) const = default;
};

/// Parses the `cpu` line of /proc/stat. Throws std::runtime_error when the line
/// is missing or has fewer than the four fields every kernel writes.
CpuTimes parse_proc_stat(std::string_view text);

/// Busy share between two readings; nullopt when no time passed between them
/// (or the counters went back, as after a CPU went offline).
std::optional<double> cpu_busy_fraction(const CpuTimes& before, const CpuTimes& after) noexcept;

/// 1 - MemAvailable / MemTotal from /proc/meminfo, clamped to 0..1. Kernels
/// older than 3.14 have no MemAvailable; MemFree + Buffers + Cached stands in.
/// Throws std::runtime_error when MemTotal is missing or zero.
double parse_meminfo(std::string_view text);

/// The 1-minute load average, the first field of /proc/loadavg. Throws
/// std::runtime_error when it is not a non-negative number.
double parse_loadavg(std::string_view text);

/// Used share of the file system holding `path` as `df` computes it (used /
/// (used + available to unprivileged users)); nullopt when the path does not
/// exist, cannot be queried, or its file system has no blocks (/proc).
std::optional<double> disk_used_fraction(const std::filesystem::path& path) noexcept;

/// Samples this machine. The first sample's cpu is the average since boot (so
/// that sampling never sleeps); each later one covers the time since the
/// previous sample (or repeats the previous value when no clock tick passed).
///
/// Not thread-safe: it keeps the previous CPU reading. sample() reads /proc
/// and calls statvfs, which can block on a hung network file system: call it
/// from a worker thread, never from an I/O thread.
class HostSampler {
public:
  /// `disk_paths`: file systems to watch (the state folder, /); paths that
  /// do not exist are skipped at each sample.
  explicit HostSampler(std::vector<std::filesystem::path> disk_paths);

  /// Throws std::system_error or std::runtime_error when /proc cannot be read
  /// or parsed.
  HostSample sample();

private:
  std::vector<std::filesystem::path> disk_paths_;
  std::optional<CpuTimes> previous_;
  double previous_cpu_ = 0;
};

/// Inserts one row into dm.host_samples at `ts` through a prepared statement
/// (prepared on the connection on first use). NaN values are stored as NULL;
/// throws std::invalid_argument for a fraction outside 0..1 or a negative
/// load, naming the field. The overload on a connection commits its own
/// transaction; the one on a transaction leaves committing to the caller.
void store_host_sample(pqxx::connection_base& conn, const std::string& host, const HostSample& sample,
                       util::Micros ts);
void store_host_sample(pqxx::transaction_base& txn, const std::string& host, const HostSample& sample,
                       util::Micros ts);

} // namespace dm::metrics
