#include "dm/metrics/process_stats.hpp"

#include "dm/metrics/proc_file.hpp"

#include <fmt/format.h>

#include <charconv>
#include <stdexcept>
#include <unistd.h>

namespace dm::metrics {

namespace {

std::uint64_t field_u64(const std::vector<std::string_view>& fields, std::size_t number)
{
  // `fields` starts at field 3 (state), the first after the command name.
  const std::size_t index = number - 3;
  if (index >= fields.size())
    throw std::runtime_error(fmt::format("/proc/self/stat: field {} is missing", number));
  const std::string_view f = fields[index];
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
  if (ec != std::errc{} || end != f.data() + f.size())
    throw std::runtime_error(fmt::format("/proc/self/stat: field {} is not a number: {:?}", number, f));
  return v;
}

double ticks_per_second() noexcept
{
  return static_cast<double>(sysconf(_SC_CLK_TCK));
}

} // namespace

ProcSelfStat parse_proc_self_stat(std::string_view text)
{
  const std::size_t close = text.rfind(')');
  if (close == std::string_view::npos)
    throw std::runtime_error("/proc/self/stat: no command name");
  const auto fields = split_fields(text.substr(close + 1));
  ProcSelfStat s;
  s.utime_ticks = field_u64(fields, 14);
  s.stime_ticks = field_u64(fields, 15);
  s.start_ticks = field_u64(fields, 22);
  s.rss_pages = field_u64(fields, 24);
  return s;
}

std::uint64_t parse_boot_time(std::string_view proc_stat)
{
  const auto fields = split_fields(find_line(proc_stat, "btime"));
  std::uint64_t v = 0;
  if (fields.size() >= 2) {
    const std::string_view f = fields[1];
    const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
    if (ec == std::errc{} && end == f.data() + f.size())
      return v;
  }
  throw std::runtime_error("/proc/stat: no btime line");
}

double process_start_time_seconds()
{
  const ProcSelfStat self = parse_proc_self_stat(read_proc_file("/proc/self/stat"));
  const std::uint64_t boot = parse_boot_time(read_proc_file("/proc/stat"));
  return static_cast<double>(boot) + static_cast<double>(self.start_ticks) / ticks_per_second();
}

ProcessUsage read_process_usage()
{
  const ProcSelfStat self = parse_proc_self_stat(read_proc_file("/proc/self/stat"));
  ProcessUsage u;
  u.resident_memory_bytes = static_cast<double>(self.rss_pages) * static_cast<double>(sysconf(_SC_PAGESIZE));
  u.cpu_seconds = static_cast<double>(self.utime_ticks + self.stime_ticks) / ticks_per_second();
  return u;
}

} // namespace dm::metrics
