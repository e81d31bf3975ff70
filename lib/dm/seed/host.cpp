// Generator::host: one sample per host per minute, following the traffic.

#include "dm/seed/catalogue.hpp"
#include "dm/seed/generator.hpp"
#include "dm/seed/random.hpp"
#include "dm/seed/rhythm.hpp"

#include <algorithm>
#include <cmath>

namespace dm::seed {

namespace {

using util::Micros;
using util::micros_per_day;
using util::micros_per_hour;
using util::micros_per_minute;

/// Slowly wandering noise: each minute keeps most of the last minute's value.
struct Drift {
  double value = 0;
  double step(Random& random, double persistence, double scale) noexcept
  {
    value = persistence * value + scale * random.normal();
    return value;
  }
};

struct HostState {
  Random random;
  Drift cpu;
  Drift mem;
};

float fraction(double x) noexcept
{
  return static_cast<float>(std::clamp(x, 0.0, 1.0));
}

/// Days since the web servers' weekly restart (Monday 04:00 UTC), whose memory creeps up in
/// between.
double days_since_restart(Micros t) noexcept
{
  // Day 4 of the epoch, 1970-01-05, was a Monday.
  constexpr Micros anchor = 4 * micros_per_day + 4 * micros_per_hour;
  const Micros last_restart = util::floor_to(t - anchor, 7 * micros_per_day) + anchor;
  return static_cast<double>(t - last_restart) / static_cast<double>(micros_per_day);
}

/// True during the worker's nightly batch (reports, backups), 01:00 to 02:30 UTC.
bool nightly_batch(Micros t) noexcept
{
  const Micros within = t - util::floor_to(t, micros_per_day);
  return within >= micros_per_hour && within < 5 * micros_per_hour / 2;
}

} // namespace

void Generator::host(ingest::RecordSink& sink) const
{
  std::vector<HostState> states;
  for (std::size_t h = 0; h < hosts.size(); ++h)
    states.push_back(HostState{Random(options_.seed, Stream::host, h), {}, {}});
  const double mean_rate = requests_per_minute_mean_ > 0 ? requests_per_minute_mean_ : 1;
  ingest::HostRecord row;

  for (Micros t = begin_; t < end_; t += micros_per_minute) {
    // Normalised traffic: about 1 on average, up to about 2 at a busy evening peak.
    const double traffic = requests_per_minute(t) / mean_rate;
    const double elapsed_days =
        static_cast<double>(t - begin_) / static_cast<double>(micros_per_day);
    const bool batch = nightly_batch(t);
    for (std::size_t h = 0; h < hosts.size(); ++h) {
      const HostSpec& spec = hosts[h];
      HostState& state = states[h];
      Random& random = state.random;

      double cpu = spec.base_cpu + spec.load_cpu * traffic / 2 + state.cpu.step(random, 0.9, 0.015);
      double mem = spec.base_mem + state.mem.step(random, 0.97, 0.004);
      if (spec.name.starts_with("web"))
        mem += 0.03 * days_since_restart(t);
      if (h == hosts.size() - 1 && batch) {
        cpu += 0.55;
        mem += 0.2;
      }
      const bool saturated = h == database_host && t >= saturation_begin_ && t < saturation_end_;
      if (saturated)
        cpu = random.uniform(0.96, 1.0);
      const double span = spec.disk_high - spec.disk_low;
      const double disk =
          spec.disk_low +
          std::fmod(spec.disk_start - spec.disk_low + spec.disk_per_day * elapsed_days, span) +
          0.0005 * random.uniform();
      const double run_queue = saturated ? random.uniform(2, 3.5) : random.uniform(0.8, 1.2);

      row.ts = t;
      row.host.assign(spec.name);
      row.cpu = fraction(cpu);
      row.mem = fraction(mem);
      row.disk = fraction(disk);
      row.load1 =
          static_cast<float>(std::max(0.0, std::clamp(cpu, 0.0, 1.0) * spec.cores * run_queue));
      sink.add(row);
    }
  }
}

} // namespace dm::seed
