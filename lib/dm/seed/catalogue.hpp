#pragma once
// The fixed vocabulary of the synthetic data set: theory topics, countries,
// services and their endpoints, hosts, prices. Tables rather than code, so the
// shape of the data can be tuned in one place.

#include "dm/ingest/records.hpp"

#include <array>
#include <cstdint>
#include <string_view>

namespace dm::seed {

/// A driving-theory topic. `ease` shifts the log-odds of a correct answer
/// (negative = harder); `weight` is its share of the question catalogue;
/// `think_seconds` is the typical reading-and-thinking time of a question.
struct Topic {
  std::string_view name;
  double weight;
  double ease;
  double think_seconds;
};

// Gefahrenlehre and Abstand (stopping-distance arithmetic) are the hard ones
// and land below 70 % accuracy over a data set; Umweltschutz and Persönliche
// Voraussetzungen are easy and land well above 80 %.
inline constexpr std::array<Topic, 10> topics{{
    {"Gefahrenlehre", 16, -1.05, 7.5},
    {"Verhalten im Straßenverkehr", 13, 0.35, 6.0},
    {"Vorfahrt", 13, -0.25, 6.5},
    {"Verkehrszeichen", 15, 0.75, 4.0},
    {"Umweltschutz", 5, 1.55, 4.5},
    {"Technik", 9, 0.05, 5.5},
    {"Persönliche Voraussetzungen", 5, 1.15, 5.0},
    {"Überholen", 8, 0.0, 6.0},
    {"Geschwindigkeit", 9, 0.4, 5.5},
    {"Abstand", 7, -0.7, 8.0},
}};

/// A country of residence; `utc_offset_hours` is its standard (winter) offset,
/// all of them follow the EU summer-time rule.
struct Country {
  std::string_view code;
  double weight;
  int utc_offset_hours;
};

inline constexpr std::array<Country, 12> countries{{
    {"DE", 38, 1},
    {"AT", 11, 1},
    {"CH", 9, 1},
    {"NL", 8, 1},
    {"PL", 8, 1},
    {"GB", 7, 0},
    {"FR", 6, 1},
    {"IT", 4, 1},
    {"BE", 3, 1},
    {"ES", 3, 1},
    {"CZ", 2, 1},
    {"DK", 1, 1},
}};

/// Indexed by ingest::Platform (ios, android, web).
inline constexpr std::array<double, 3> platform_weights{35, 45, 20};
/// Indexed by ingest::Channel (organic, paid_search, social, referral).
inline constexpr std::array<double, 4> channel_weights{46, 24, 18, 12};
/// Relative likelihood of buying a subscription, by channel: people who
/// searched for a theory app or were recommended one convert better.
inline constexpr std::array<double, 4> channel_conversion{1.0, 1.6, 0.65, 1.8};

/// The services of the platform, in a fixed order (incidents refer to them by index).
inline constexpr std::array<std::string_view, 5> services{"api", "auth", "content", "payments",
                                                          "search"};

/// An endpoint of a service. `weight` is its share of traffic; durations are
/// log-normal with `median_ms` and log-space `sigma`; `server_errors` and
/// `client_errors` are the baseline shares of 5xx and 4xx answers.
struct Endpoint {
  std::size_t service;
  std::string_view path;
  double weight;
  double median_ms;
  double sigma;
  double server_errors;
  double client_errors;
  std::int16_t ok_status;
};

inline constexpr std::array<Endpoint, 15> endpoints{{
    {0, "/v1/questions", 24, 38, 0.45, 0.0020, 0.010, 200},
    {0, "/v1/answers", 26, 24, 0.40, 0.0025, 0.015, 201},
    {0, "/v1/sessions", 7, 30, 0.45, 0.0020, 0.010, 201},
    {0, "/v1/progress", 6, 70, 0.60, 0.0030, 0.010, 200},
    {1, "/v1/login", 2, 140, 0.35, 0.0030, 0.120, 200},
    {1, "/v1/token/refresh", 6, 16, 0.35, 0.0015, 0.030, 200},
    {1, "/v1/logout", 1, 12, 0.30, 0.0010, 0.010, 204},
    {2, "/v1/topics", 5, 14, 0.40, 0.0010, 0.005, 200},
    {2, "/v1/lessons", 8, 48, 0.55, 0.0020, 0.010, 200},
    {2, "/v1/media", 7, 95, 0.80, 0.0040, 0.020, 200},
    {3, "/v1/checkout", 0.3, 380, 0.50, 0.0080, 0.040, 201},
    {3, "/v1/subscriptions", 1.2, 60, 0.50, 0.0030, 0.020, 200},
    {3, "/v1/webhooks/psp", 0.5, 45, 0.45, 0.0050, 0.010, 204},
    {4, "/v1/search", 3, 85, 0.70, 0.0030, 0.010, 200},
    {4, "/v1/suggest", 4, 28, 0.50, 0.0020, 0.005, 200},
}};

/// A monitored machine. cpu = base_cpu + load_cpu * (normalised traffic);
/// disk grows by disk_per_day from disk_start and is cleaned up back to
/// disk_low when it reaches disk_high.
struct HostSpec {
  std::string_view name;
  double base_cpu;
  double load_cpu;
  double base_mem;
  double disk_low;
  double disk_high;
  double disk_start;
  double disk_per_day;
  int cores;
};

inline constexpr std::array<HostSpec, 4> hosts{{
    {"web-1", 0.06, 0.38, 0.46, 0.22, 0.62, 0.31, 0.0016, 4},
    {"web-2", 0.06, 0.36, 0.44, 0.22, 0.62, 0.29, 0.0015, 4},
    {"db-1", 0.10, 0.42, 0.71, 0.40, 0.88, 0.52, 0.0030, 8},
    {"worker-1", 0.04, 0.08, 0.33, 0.18, 0.70, 0.37, 0.0022, 4},
}};
/// Index of the database host in `hosts`: it saturates during the first latency incident.
inline constexpr std::size_t database_host = 2;

/// Prices in euro cents, indexed by ingest::Plan (monthly, quarterly, lifetime).
inline constexpr std::array<std::int64_t, 3> plan_price_cents{999, 2499, 4999};
/// Length of a paid period in months; 0 for lifetime (never renews).
inline constexpr std::array<int, 3> plan_months{1, 3, 0};

} // namespace dm::seed
