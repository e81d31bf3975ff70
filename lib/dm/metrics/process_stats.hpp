#pragma once
// This process's standard Prometheus metrics (process_start_time_seconds,
// process_resident_memory_bytes, process_cpu_seconds_total), read from
// /proc/self/stat as the official clients do.

#include <cstdint>
#include <string_view>

namespace dm::metrics {

/// The fields of /proc/self/stat this file needs, in the kernel's units.
struct ProcSelfStat {
  std::uint64_t utime_ticks = 0;  ///< field 14
  std::uint64_t stime_ticks = 0;  ///< field 15
  std::uint64_t start_ticks = 0;  ///< field 22: clock ticks after boot
  std::uint64_t rss_pages = 0;    ///< field 24
};

/// Parses /proc/<pid>/stat. The command name (field 2) is skipped up to its
/// last `)`, since it may hold spaces and parentheses. Throws
/// std::runtime_error when fields are missing or not numbers.
ProcSelfStat parse_proc_self_stat(std::string_view text);

/// The boot time (`btime`, seconds since the epoch) from /proc/stat. Throws
/// std::runtime_error when there is none.
std::uint64_t parse_boot_time(std::string_view proc_stat);

/// When this process started, in seconds since the epoch (boot time plus the
/// start tick). Throws std::system_error or std::runtime_error when /proc
/// cannot be read.
double process_start_time_seconds();

struct ProcessUsage {
  double resident_memory_bytes = 0;
  double cpu_seconds = 0; ///< user + system
};

/// This process's memory and CPU time, from /proc/self/stat alone (read at
/// each scrape). Throws as process_start_time_seconds().
ProcessUsage read_process_usage();

} // namespace dm::metrics
