// Generator::requests: sampled requests across the services, minute by minute.

#include "dm/seed/catalogue.hpp"
#include "dm/seed/generator.hpp"
#include "dm/seed/random.hpp"

#include <algorithm>

namespace dm::seed {

namespace {

using util::Micros;
using util::micros_per_day;
using util::micros_per_minute;

const WeightedIndex& endpoint_index()
{
  static const WeightedIndex index{[] {
    std::vector<double> weights;
    for (const Endpoint& e : endpoints)
      weights.push_back(e.weight);
    return weights;
  }()};
  return index;
}

constexpr std::array<std::int16_t, 4> server_statuses{500, 502, 503, 504};
/// Baseline failures are mostly bugs; a burst is mostly an overloaded or
/// restarting backend (503) behind the proxy.
constexpr std::array<double, 4> baseline_failures{50, 15, 20, 15};
constexpr std::array<double, 4> burst_failures{30, 15, 55, 0};

constexpr std::array<std::int16_t, 7> client_statuses{400, 401, 403, 404, 409, 422, 429};
constexpr std::array<double, 7> client_failures{15, 20, 5, 35, 5, 15, 5};

/// What incidents do to each service during one minute.
struct Conditions {
  std::array<double, services.size()> latency;
  std::array<double, services.size()> extra_errors;
};

} // namespace

void Generator::requests(ingest::RecordSink& sink) const
{
  static const WeightedIndex baseline_status{baseline_failures};
  static const WeightedIndex burst_status{burst_failures};
  static const WeightedIndex client_status{client_failures};
  const WeightedIndex& pick_endpoint = endpoint_index();
  const double mean_rate = requests_per_minute_mean_ > 0 ? requests_per_minute_mean_ : 1;
  ingest::RequestRecord row;
  row.endpoint.emplace();
  std::vector<const Incident*> today; // the incidents that touch the day being generated

  for (int d = 0; d < options_.days; ++d) {
    Random random(options_.seed, Stream::requests, static_cast<std::uint64_t>(d));
    const Micros day_start = begin_ + d * micros_per_day;
    const Micros day_end = day_start + micros_per_day;
    today.clear();
    for (const Incident& incident : incidents_)
      if (incident.begin < day_end && incident.end > day_start)
        today.push_back(&incident);
    for (Micros minute = day_start; minute < day_end; minute += micros_per_minute) {
      Conditions now{};
      now.latency.fill(1.0);
      for (const Incident* incident : today) {
        if (minute < incident->begin || minute >= incident->end)
          continue;
        if (incident->type == Incident::Type::latency)
          now.latency[incident->service] *= incident->severity;
        else
          now.extra_errors[incident->service] += incident->severity;
      }
      const double rate = requests_per_minute(minute + micros_per_minute / 2);
      // Busy minutes are a little slower: queues in the connection pools.
      const double load = std::clamp(1 + 0.15 * (rate / mean_rate - 1), 0.9, 1.4);
      const double mean_gap = static_cast<double>(micros_per_minute) / rate;

      // Arrivals of a Poisson process: already in time order.
      for (double t = random.exponential(mean_gap); t < static_cast<double>(micros_per_minute);
           t += random.exponential(mean_gap)) {
        const Endpoint& endpoint = endpoints[pick_endpoint(random)];
        const std::size_t service = endpoint.service;
        const double server_errors = endpoint.server_errors + now.extra_errors[service];
        const bool burst = now.extra_errors[service] > 0;
        const double latency = now.latency[service];
        double duration = random.lognormal(endpoint.median_ms * load * latency,
                                           latency > 1 ? endpoint.sigma * 1.3 : endpoint.sigma);
        const double u = random.uniform();
        std::int16_t status = endpoint.ok_status;
        if (u < server_errors) {
          status = server_statuses[(burst ? burst_status : baseline_status)(random)];
          if (status == 503)
            duration = random.uniform(0.5, 4); // refused at once
          else if (status == 504)
            duration = random.uniform(5000, 30000); // the proxy gave up waiting
          else
            duration *= 0.6;
        } else if (u < server_errors + endpoint.client_errors) {
          // Failed logins are wrong passwords; elsewhere mostly missing or invalid things.
          status = endpoint.path == "/v1/login" ? std::int16_t{401}
                                                : client_statuses[client_status(random)];
          duration = 1 + duration * 0.35;
        } else if (endpoint.path == "/v1/media" && random.chance(0.3)) {
          status = 304; // cached by the app
          duration *= 0.3;
        }
        row.ts = minute + static_cast<Micros>(t);
        row.service.assign(services[service]);
        row.endpoint->assign(endpoint.path);
        row.status = status;
        row.duration_ms = static_cast<float>(std::clamp(duration, 0.1, 120000.0));
        sink.add(row);
      }
    }
  }
}

} // namespace dm::seed
