#include "dm/stats/anomaly.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

using dm::stats::AnomalyDetector;
using dm::stats::AnomalyOptions;
using dm::util::Micros;

namespace {

constexpr Micros five_minutes = 5 * dm::util::micros_per_minute;
/// 2026-01-05 00:00:00 UTC, a Monday.
constexpr Micros start = 1'767'571'200LL * dm::util::micros_per_second;
constexpr double pi = 3.14159265358979323846;

struct Run {
  std::vector<std::size_t> alarms; ///< indexes of the points that alarmed
  double max_score = 0;
  bool all_finite = true;
};

/// Feeds values[i] at start + i * step.
Run feed(AnomalyDetector& detector, const std::vector<double>& values, Micros step = five_minutes)
{
  Run run;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto r = detector.observe(start + static_cast<Micros>(i) * step, values[i]);
    if (r.alarm)
      run.alarms.push_back(i);
    if (!std::isfinite(r.score) || r.score < 0)
      run.all_finite = false;
    run.max_score = std::max(run.max_score, r.score);
  }
  return run;
}

/// n points of normal noise (mean, sd) from a fixed seed.
std::vector<double> noise(std::size_t n, double mean, double sd, unsigned seed)
{
  std::mt19937 gen(seed);
  std::normal_distribution<double> dist(mean, sd);
  std::vector<double> v(n);
  for (double& x : v)
    x = dist(gen);
  return v;
}

} // namespace

TEST_CASE("anomaly: a level step alarms within a few points of the step, not before", "[stats][anomaly]")
{
  for (const unsigned seed : {1u, 2u, 3u}) {
    auto values = noise(2000, 50, 2, seed);
    const std::size_t step = 1000;
    for (std::size_t i = step; i < values.size(); ++i)
      values[i] += 20; // ten standard deviations
    AnomalyDetector detector;
    const Run run = feed(detector, values);
    INFO("seed " << seed);
    REQUIRE_FALSE(run.alarms.empty());
    CHECK(run.alarms.front() >= step);
    CHECK(run.alarms.front() <= step + 3);
    // One incident, one alarm: the shifted level does not page again and again.
    CHECK(run.alarms.size() <= 2);
  }
}

TEST_CASE("anomaly: a spike alarms at the spike, once", "[stats][anomaly]")
{
  auto values = noise(1500, 10, 1, 7);
  const std::size_t spike = 900;
  values[spike] = 40; // thirty standard deviations
  AnomalyDetector detector;
  const Run run = feed(detector, values);
  REQUIRE(run.alarms == std::vector<std::size_t>{spike});
}

TEST_CASE("anomaly: the severity grows with the size of the deviation", "[stats][anomaly]")
{
  auto values = noise(1000, 10, 1, 11);
  AnomalyDetector small_detector, large_detector;
  for (std::size_t i = 0; i < 600; ++i) {
    small_detector.observe(start + static_cast<Micros>(i) * five_minutes, values[i]);
    large_detector.observe(start + static_cast<Micros>(i) * five_minutes, values[i]);
  }
  const Micros at = start + 600 * five_minutes;
  const auto small = small_detector.observe(at, 10 + 7);
  const auto large = large_detector.observe(at, 10 + 60);
  CHECK(small.alarm);
  CHECK(large.alarm);
  CHECK(small.score < large.score);
  CHECK(small.severity == "low");
  CHECK(large.severity == "critical");
}

TEST_CASE("anomaly: a slow drift raises no alarm storm", "[stats][anomaly]")
{
  // 10000 points (about 35 days) drifting by 0.005 standard deviations per
  // point, 50 in all: the rolling baseline follows it. Asserted: no alarm at
  // all, and the score stays below the threshold.
  auto values = noise(10000, 100, 1, 5);
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] += 0.005 * static_cast<double>(i);
  AnomalyDetector detector;
  const Run run = feed(detector, values);
  CHECK(run.alarms.empty());
  CHECK(run.max_score < detector.threshold());
}

TEST_CASE("anomaly: a noisy daily cycle over six weeks raises no alarm", "[stats][anomaly]")
{
  const std::size_t points = 6 * 7 * 288;
  auto values = noise(points, 0, 2, 9);
  for (std::size_t i = 0; i < points; ++i) {
    const double hour = static_cast<double>(i % 288) / 12.0;
    values[i] += 100 + 20 * std::sin(2 * pi * hour / 24);
  }
  AnomalyDetector detector;
  const Run run = feed(detector, values);
  CHECK(run.alarms.empty());
  CHECK(run.all_finite);
}

TEST_CASE("anomaly: the seasonal baseline is used once two weeks of history exist", "[stats][anomaly]")
{
  // An evening peak every day: on day 22 the peak comes as usual (no alarm),
  // while the same rise at an hour that is normally flat alarms.
  auto values = noise(22 * 288, 10, 0.5, 13);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::size_t minute_of_day = (i % 288) * 5;
    if (minute_of_day >= 20 * 60 && minute_of_day < 21 * 60)
      values[i] += 30;
  }
  AnomalyDetector detector;
  const Run run = feed(detector, values);
  CHECK(run.all_finite);
  // Days 15 to 21: the peak is part of the seasonal baseline.
  const auto late = std::find_if(run.alarms.begin(), run.alarms.end(), [](std::size_t i) { return i >= 15 * 288; });
  CHECK(late == run.alarms.end());

  const Micros t = start + static_cast<Micros>(values.size()) * five_minutes + 2 * dm::util::micros_per_hour;
  const auto r = detector.observe(t, 40); // 02:00 on day 23, normally flat
  CHECK(r.seasonal);
  CHECK(r.alarm);
}

TEST_CASE("anomaly: a constant series raises no alarm and no NaN", "[stats][anomaly]")
{
  for (const double level : {0.0, 42.0, -1e6}) {
    AnomalyDetector detector;
    const Run run = feed(detector, std::vector<double>(20000, level));
    INFO("level " << level);
    CHECK(run.alarms.empty());
    CHECK(run.all_finite);
    CHECK(run.max_score == 0);
  }
  // A change after a long constant stretch is an anomaly, with a finite score.
  AnomalyDetector detector;
  feed(detector, std::vector<double>(1000, 5.0));
  const auto r = detector.observe(start + 1000 * five_minutes, 6.0);
  CHECK(r.alarm);
  CHECK(std::isfinite(r.score));
}

TEST_CASE("anomaly: memory stays bounded over 100k points", "[stats][anomaly]")
{
  // One point a minute with jitter (denser than the buckets keep) for about 70 days.
  std::mt19937 gen(17);
  std::uniform_int_distribution<Micros> jitter(-20 * dm::util::micros_per_second, 20 * dm::util::micros_per_second);
  std::normal_distribution<double> dist(0, 1);
  AnomalyDetector detector;
  const std::size_t bound = 216 + 168 * 4 * AnomalyDetector::bucket_per_hour;
  REQUIRE(detector.capacity() <= bound);
  std::size_t largest = 0;
  for (std::size_t i = 0; i < 100'000; ++i) {
    const Micros t = start + static_cast<Micros>(i) * dm::util::micros_per_minute + jitter(gen);
    detector.observe(t, dist(gen));
    largest = std::max(largest, detector.stored_values());
  }
  CHECK(largest <= detector.capacity());
  CHECK(largest > 168 * 2 * AnomalyDetector::bucket_per_hour); // the buckets did fill
}

TEST_CASE("anomaly: duplicate, backward and irregular timestamps are scored", "[stats][anomaly]")
{
  auto values = noise(3000, 20, 1, 19);
  AnomalyDetector detector;
  Micros t = start;
  std::size_t alarms = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i >= 500 && i < 512) {
      // 12 points with one timestamp
    } else if (i == 1500) {
      t -= 55 * dm::util::micros_per_minute; // a clock step back
    } else if (i % 97 == 0) {
      t += 6 * dm::util::micros_per_hour; // a gap
    } else {
      t += five_minutes;
    }
    const auto r = detector.observe(t, values[i]);
    REQUIRE(std::isfinite(r.score));
    alarms += r.alarm ? 1 : 0;
  }
  CHECK(alarms == 0);
}

TEST_CASE("anomaly: sensitivity sets the threshold and is checked", "[stats][anomaly]")
{
  CHECK(AnomalyDetector(AnomalyOptions{}).threshold() == Approx(AnomalyDetector::default_threshold));
  AnomalyOptions low, high;
  low.sensitivity = 0;
  high.sensitivity = 1;
  CHECK(AnomalyDetector(low).threshold() == Approx(2 * AnomalyDetector::default_threshold));
  CHECK(AnomalyDetector(high).threshold() == Approx(AnomalyDetector::default_threshold / 2));

  // More sensitivity, at least as many alarms on the same series.
  auto values = noise(5000, 0, 1, 23);
  for (std::size_t i = 300; i < values.size(); i += 400)
    values[i] += 5 + static_cast<double>(i % 7);
  AnomalyDetector a(low), b{AnomalyOptions{}}, c(high);
  const auto na = feed(a, values).alarms.size();
  const auto nb = feed(b, values).alarms.size();
  const auto nc = feed(c, values).alarms.size();
  CHECK(na <= nb);
  CHECK(nb <= nc);
  CHECK(na < nc);

  for (const double bad : {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    AnomalyOptions o;
    o.sensitivity = bad;
    CHECK_THROWS_AS(AnomalyDetector(o), std::invalid_argument);
  }
  AnomalyDetector d;
  CHECK_THROWS_AS(d.observe(start, std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
  CHECK_THROWS_AS(d.observe(start, std::numeric_limits<double>::infinity()), std::invalid_argument);
}

TEST_CASE("anomaly: alarms are suppressed after an alarm", "[stats][anomaly]")
{
  auto values = noise(2000, 10, 1, 29);
  values[1000] = 40;
  values[1030] = 40; // 2.5 h later: same incident under the default suppression
  values[1400] = 40; // 33 h later: a new one
  AnomalyDetector quiet;
  CHECK(feed(quiet, values).alarms == std::vector<std::size_t>{1000, 1400});
  AnomalyOptions o;
  o.suppress_for = 0;
  AnomalyDetector loud(o);
  CHECK(feed(loud, values).alarms == std::vector<std::size_t>{1000, 1030, 1400});
}
