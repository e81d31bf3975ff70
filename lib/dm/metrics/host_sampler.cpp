#include "dm/metrics/host_sampler.hpp"

#include "dm/metrics/proc_file.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <sys/statvfs.h>

namespace dm::metrics {

namespace {

std::optional<std::uint64_t> to_u64(std::string_view field) noexcept
{
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (ec != std::errc{} || end != field.data() + field.size())
    return std::nullopt;
  return v;
}

std::optional<double> to_double(std::string_view field) noexcept
{
  double v = 0;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (ec != std::errc{} || end != field.data() + field.size())
    return std::nullopt;
  return v;
}

/// The kB value of a /proc/meminfo line ("MemTotal:   16318412 kB").
std::optional<std::uint64_t> meminfo_value(std::string_view text, std::string_view key)
{
  const std::string_view line = find_line(text, key);
  if (line.empty())
    return std::nullopt;
  const auto fields = split_fields(line);
  if (fields.size() < 2)
    return std::nullopt;
  return to_u64(fields[1]);
}

std::optional<double> non_nan(double v) noexcept
{
  if (std::isnan(v))
    return std::nullopt;
  return v;
}

void check_fraction(double v, std::string_view field)
{
  if (!std::isnan(v) && !(v >= 0 && v <= 1))
    throw std::invalid_argument(fmt::format("host sample: {} = {} is not a fraction between 0 and 1", field, v));
}

constexpr const char* insert_statement = "dm_metrics_insert_host_sample";
constexpr const char* insert_sql =
    "INSERT INTO dm.host_samples (ts, host, cpu, mem, disk, load1) "
    "VALUES ($1::timestamptz, $2, $3::real, $4::real, $5::real, $6::real)";

} // namespace

CpuTimes parse_proc_stat(std::string_view text)
{
  const std::string_view line = find_line(text, "cpu");
  const auto fields = split_fields(line);
  // fields[0] is "cpu"; user nice system idle [iowait irq softirq steal guest guest_nice]
  if (fields.size() < 5)
    throw std::runtime_error("/proc/stat: no aggregate cpu line with user, nice, system and idle");
  std::uint64_t values[8] = {};
  const std::size_t n = std::min<std::size_t>(fields.size() - 1, 8);
  for (std::size_t i = 0; i < n; ++i) {
    const auto v = to_u64(fields[i + 1]);
    if (!v)
      throw std::runtime_error(fmt::format("/proc/stat: cpu field {} is not a number: {:?}", i + 1, fields[i + 1]));
    values[i] = *v;
  }
  CpuTimes t;
  for (const std::uint64_t v : values)
    t.total += v;
  t.idle = values[3] + values[4];
  return t;
}

std::optional<double> cpu_busy_fraction(const CpuTimes& before, const CpuTimes& after) noexcept
{
  if (after.total <= before.total || after.idle < before.idle)
    return std::nullopt;
  const auto total = static_cast<double>(after.total - before.total);
  const auto idle = static_cast<double>(after.idle - before.idle);
  return std::clamp(1.0 - idle / total, 0.0, 1.0);
}

double parse_meminfo(std::string_view text)
{
  const auto total = meminfo_value(text, "MemTotal:");
  if (!total || *total == 0)
    throw std::runtime_error("/proc/meminfo: no MemTotal");
  std::uint64_t available = 0;
  if (const auto a = meminfo_value(text, "MemAvailable:")) {
    available = *a;
  } else {
    available = meminfo_value(text, "MemFree:").value_or(0) + meminfo_value(text, "Buffers:").value_or(0) +
                meminfo_value(text, "Cached:").value_or(0);
  }
  return std::clamp(1.0 - static_cast<double>(available) / static_cast<double>(*total), 0.0, 1.0);
}

double parse_loadavg(std::string_view text)
{
  const auto fields = split_fields(text.substr(0, text.find('\n')));
  const auto load = fields.empty() ? std::nullopt : to_double(fields[0]);
  if (!load || !(*load >= 0) || !std::isfinite(*load))
    throw std::runtime_error(fmt::format("/proc/loadavg: no load average in {:?}", text.substr(0, 64)));
  return *load;
}

std::optional<double> disk_used_fraction(const std::filesystem::path& path) noexcept
{
  struct statvfs st = {};
  if (::statvfs(path.c_str(), &st) != 0)
    return std::nullopt;
  if (st.f_blocks == 0 || st.f_bfree > st.f_blocks)
    return std::nullopt;
  const auto used = static_cast<double>(st.f_blocks - st.f_bfree);
  const double usable = used + static_cast<double>(st.f_bavail);
  if (usable <= 0)
    return std::nullopt;
  return std::clamp(used / usable, 0.0, 1.0);
}

HostSampler::HostSampler(std::vector<std::filesystem::path> disk_paths) : disk_paths_(std::move(disk_paths)) {}

HostSample HostSampler::sample()
{
  HostSample s;
  const CpuTimes now = parse_proc_stat(read_proc_file("/proc/stat"));
  if (!previous_) {
    s.cpu = cpu_busy_fraction(CpuTimes{}, now).value_or(0.0);
  } else {
    s.cpu = cpu_busy_fraction(*previous_, now).value_or(previous_cpu_);
  }
  previous_ = now;
  previous_cpu_ = s.cpu;

  s.mem = parse_meminfo(read_proc_file("/proc/meminfo"));
  s.load1 = parse_loadavg(read_proc_file("/proc/loadavg"));

  s.disk = std::numeric_limits<double>::quiet_NaN();
  for (const auto& path : disk_paths_) {
    if (const auto used = disk_used_fraction(path)) {
      s.disks.push_back({path, *used});
      s.disk = std::isnan(s.disk) ? *used : std::max(s.disk, *used);
    }
  }
  return s;
}

void store_host_sample(pqxx::transaction_base& txn, const std::string& host, const HostSample& sample,
                       util::Micros ts)
{
  check_fraction(sample.cpu, "cpu");
  check_fraction(sample.mem, "mem");
  check_fraction(sample.disk, "disk");
  if (!std::isnan(sample.load1) && !(sample.load1 >= 0 && std::isfinite(sample.load1)))
    throw std::invalid_argument(fmt::format("host sample: load1 = {} is not a non-negative number", sample.load1));

  char stamp[40];
  const std::size_t len = util::format_pg_timestamp(ts, stamp);
  // libpqxx registers the statement with the server on first use and accepts
  // the same definition again, so preparing on every call costs a map lookup.
  txn.conn().prepare(insert_statement, insert_sql);
  txn.exec_prepared(insert_statement, std::string(stamp, len), host, non_nan(sample.cpu), non_nan(sample.mem),
                    non_nan(sample.disk), non_nan(sample.load1));
}

void store_host_sample(pqxx::connection_base& conn, const std::string& host, const HostSample& sample,
                       util::Micros ts)
{
  pqxx::work txn{conn, "store_host_sample"};
  store_host_sample(txn, host, sample, ts);
  txn.commit();
}

} // namespace dm::metrics
