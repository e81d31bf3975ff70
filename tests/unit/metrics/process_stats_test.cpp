// This process's metrics: /proc/self/stat parsed from inline text, then read
// for real.

#include "dm/metrics/process_stats.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <stdexcept>

using namespace dm::metrics;

TEST_CASE("parse_proc_self_stat skips a command name holding spaces and parentheses", "[metrics][process]")
{
  // Fields 14, 15, 22 and 24 are 11, 7, 1112182 and 359.
  const char* stat = "31031 (my (odd) cmd) R 31025 31025 20866 0 -1 4194304 97 0 0 0 11 7 0 0 20 0 1 0 "
                     "1112182 3133440 359 18446744073709551615 94276329938944 0 0\n";
  const ProcSelfStat s = parse_proc_self_stat(stat);
  CHECK(s.utime_ticks == 11);
  CHECK(s.stime_ticks == 7);
  CHECK(s.start_ticks == 1112182);
  CHECK(s.rss_pages == 359);

  CHECK_THROWS_AS(parse_proc_self_stat("31031 cat R 1 2 3"), std::runtime_error);
  CHECK_THROWS_AS(parse_proc_self_stat("31031 (cat) R 1 2 3"), std::runtime_error);
}

TEST_CASE("parse_boot_time reads btime", "[metrics][process]")
{
  CHECK(parse_boot_time("cpu 1 2 3 4\nctxt 5\nbtime 1767000000\nprocesses 9\n") == 1767000000u);
  CHECK_THROWS_AS(parse_boot_time("cpu 1 2 3 4\n"), std::runtime_error);
}

TEST_CASE("this process's start time and usage come from /proc", "[metrics][process]")
{
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double started = process_start_time_seconds();
  CHECK(started <= now + 1);
  CHECK(started > now - 3600); // this test binary started moments ago

  const ProcessUsage usage = read_process_usage();
  CHECK(usage.resident_memory_bytes > 1024 * 1024);
  CHECK(usage.resident_memory_bytes < 4.0 * 1024 * 1024 * 1024);
  CHECK(usage.cpu_seconds >= 0);
}
