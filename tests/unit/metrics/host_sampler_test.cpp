// Host monitoring: the /proc parsers fed inline text, and the sampler on this
// machine's real /proc and file systems.

#include "dm/metrics/host_sampler.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

using namespace dm::metrics;

namespace {

constexpr const char* proc_stat = "cpu  1385395 168000 172594 461970 18770 0 2833 13308 40 7\n"
                                  "cpu0 666801 88881 79001 263858 5749 0 668 6314 0 0\n"
                                  "cpu1 718594 79118 93593 198111 13020 0 2165 6993 0 0\n"
                                  "intr 1 2 3\n"
                                  "ctxt 123\n"
                                  "btime 1767000000\n";

bool is_fraction(double v)
{
  return v >= 0 && v <= 1;
}

} // namespace

TEST_CASE("parse_proc_stat sums the aggregate cpu line without guest time", "[metrics][host]")
{
  const CpuTimes t = parse_proc_stat(proc_stat);
  CHECK(t.total == 1385395u + 168000 + 172594 + 461970 + 18770 + 0 + 2833 + 13308);
  CHECK(t.idle == 461970u + 18770);

  // Old kernels write only user, nice, system and idle.
  const CpuTimes old = parse_proc_stat("cpu 10 20 30 40\n");
  CHECK(old.total == 100);
  CHECK(old.idle == 40);

  CHECK_THROWS_AS(parse_proc_stat("cpu0 1 2 3 4\n"), std::runtime_error);
  CHECK_THROWS_AS(parse_proc_stat("cpu 1 2 3\n"), std::runtime_error);
  CHECK_THROWS_AS(parse_proc_stat("cpu 1 2 x 4\n"), std::runtime_error);
  CHECK_THROWS_AS(parse_proc_stat(""), std::runtime_error);
}

TEST_CASE("cpu_busy_fraction is the busy share of the time between two readings", "[metrics][host]")
{
  const CpuTimes before{1000, 600};
  CHECK(cpu_busy_fraction(before, CpuTimes{1200, 650}) == Approx(0.75));
  CHECK(cpu_busy_fraction(before, CpuTimes{1100, 700}) == Approx(0.0));
  CHECK(cpu_busy_fraction(before, CpuTimes{1100, 600}) == Approx(1.0));
  CHECK_FALSE(cpu_busy_fraction(before, before).has_value());
  CHECK_FALSE(cpu_busy_fraction(before, CpuTimes{900, 500}).has_value());
}

TEST_CASE("parse_meminfo is 1 - MemAvailable / MemTotal", "[metrics][host]")
{
  CHECK(parse_meminfo("MemTotal:       1000 kB\n"
                      "MemFree:         100 kB\n"
                      "MemAvailable:    250 kB\n"
                      "Buffers:          10 kB\n"
                      "Cached:          200 kB\n") == Approx(0.75));
  // Without MemAvailable (kernels before 3.14): free + buffers + cached.
  CHECK(parse_meminfo("MemTotal:       1000 kB\n"
                      "MemFree:         100 kB\n"
                      "Buffers:          10 kB\n"
                      "Cached:          200 kB\n"
                      "SwapCached:      999 kB\n") == Approx(0.69));
  // More available than total (a racing read) clamps to 0.
  CHECK(parse_meminfo("MemTotal: 100 kB\nMemAvailable: 120 kB\n") == 0.0);
  CHECK_THROWS_AS(parse_meminfo("MemFree: 100 kB\n"), std::runtime_error);
  CHECK_THROWS_AS(parse_meminfo("MemTotal: 0 kB\nMemAvailable: 0 kB\n"), std::runtime_error);
}

TEST_CASE("parse_loadavg reads the 1-minute load", "[metrics][host]")
{
  CHECK(parse_loadavg("10.07 10.27 8.01 12/157 31029\n") == Approx(10.07));
  CHECK(parse_loadavg("0.00 0.01 0.05 1/90 1\n") == 0.0);
  CHECK_THROWS_AS(parse_loadavg(""), std::runtime_error);
  CHECK_THROWS_AS(parse_loadavg("load 1 2\n"), std::runtime_error);
  CHECK_THROWS_AS(parse_loadavg("-1.0 0 0 1/1 1\n"), std::runtime_error);
}

TEST_CASE("HostSampler measures this machine in fractions 0..1", "[metrics][host]")
{
  HostSampler sampler({"/", "/tmp", "/nonexistent/dm-metrics-test"});
  const HostSample first = sampler.sample();
  CHECK(is_fraction(first.cpu));
  CHECK(first.cpu > 0); // the since-boot average of a machine that booted and built this test
  CHECK(is_fraction(first.mem));
  CHECK(first.mem > 0);
  CHECK(first.load1 >= 0);
  REQUIRE(first.disks.size() == 2); // the missing path is skipped
  CHECK(first.disks[0].path == "/");
  CHECK(first.disks[1].path == "/tmp");
  for (const DiskUsage& d : first.disks)
    CHECK(is_fraction(d.used));
  CHECK(first.disk == std::max(first.disks[0].used, first.disks[1].used));

  // Keep a CPU busy so that some ticks pass between the two samples.
  volatile double sink = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
  while (std::chrono::steady_clock::now() < until)
    for (int i = 0; i < 1000; ++i)
      sink = sink + std::sqrt(static_cast<double>(i));
  const HostSample second = sampler.sample();
  CHECK(is_fraction(second.cpu));
  CHECK(second.cpu > 0);
  CHECK(is_fraction(second.mem));
  CHECK(is_fraction(second.disk));
}

TEST_CASE("HostSampler reports no disk when no path can be measured", "[metrics][host]")
{
  HostSampler sampler({"/nonexistent/dm-metrics-test", "/proc"});
  const HostSample s = sampler.sample();
  CHECK(s.disks.empty());
  CHECK(std::isnan(s.disk));
  CHECK_FALSE(disk_used_fraction("/nonexistent/dm-metrics-test").has_value());
  CHECK_FALSE(disk_used_fraction("/proc").has_value()); // no blocks
  const auto root = disk_used_fraction("/");
  REQUIRE(root.has_value());
  CHECK(is_fraction(*root));
}
