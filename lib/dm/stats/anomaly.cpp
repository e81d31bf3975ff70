#include "dm/stats/anomaly.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace dm::stats {

namespace {

/// Normal-consistency factors: sigma = 1.4826 x MAD = 1.2533 x mean |x - median|.
constexpr double mad_to_sigma = 1.4826;
constexpr double mean_ad_to_sigma = 1.2533;
/// Smallest scale, relative to |median|, when every value of a baseline is equal.
constexpr double relative_scale_floor = 1e-6;
constexpr double absolute_scale_floor = 1e-300;

/// Hour of the week (0 = Monday 00:00-01:00 UTC) of an instant.
std::size_t hour_of_week(util::Micros t) noexcept
{
  const std::int64_t days = util::floor_to(t, util::micros_per_day) / util::micros_per_day;
  const std::int64_t weekday = ((days + 3) % 7 + 7) % 7; // 1970-01-01 was a Thursday
  const std::int64_t hour = (t - days * util::micros_per_day) / util::micros_per_hour;
  return static_cast<std::size_t>(weekday * 24 + hour);
}

/// The median of `v` (reorders it); v is not empty.
double median_of(std::vector<double>& v) noexcept
{
  const std::size_t n = v.size();
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(n / 2);
  std::nth_element(v.begin(), mid, v.end());
  const double upper = *mid;
  if (n % 2 == 1)
    return upper;
  const double lower = *std::max_element(v.begin(), mid);
  return lower + (upper - lower) / 2;
}

} // namespace

void AnomalyDetector::Ring::push(Sample s) noexcept
{
  if (data_.empty())
    return;
  if (size_ == data_.size()) {
    data_[head_] = s;
    head_ = (head_ + 1) % data_.size();
  } else {
    data_[(head_ + size_) % data_.size()] = s;
    ++size_;
  }
}

void AnomalyDetector::Ring::pop_front() noexcept
{
  if (size_ == 0)
    return;
  head_ = (head_ + 1) % data_.size();
  --size_;
}

AnomalyDetector::AnomalyDetector(AnomalyOptions options) : options_(options)
{
  const auto& o = options_;
  if (!(o.sensitivity >= 0 && o.sensitivity <= 1))
    throw std::invalid_argument(fmt::format("sensitivity {}: must be between 0 and 1", o.sensitivity));
  if (o.window_points < 3)
    throw std::invalid_argument(fmt::format("window_points {}: must be at least 3", o.window_points));
  if (o.warmup_points < 3 || o.warmup_points > o.window_points)
    throw std::invalid_argument(
        fmt::format("warmup_points {}: must be between 3 and window_points ({})", o.warmup_points, o.window_points));
  if (!(o.ewma_alpha > 0 && o.ewma_alpha <= 1))
    throw std::invalid_argument(fmt::format("ewma_alpha {}: must be in (0, 1]", o.ewma_alpha));
  if (!(o.clip > 0) || !std::isfinite(o.clip))
    throw std::invalid_argument(fmt::format("clip {}: must be positive", o.clip));
  if (!(o.rearm_fraction >= 0 && o.rearm_fraction <= 1))
    throw std::invalid_argument(fmt::format("rearm_fraction {}: must be between 0 and 1", o.rearm_fraction));
  if (o.suppress_for < 0)
    throw std::invalid_argument("suppress_for: must not be negative");
  if (o.seasonal_history < util::micros_per_day * 7 || o.seasonal_history > util::micros_per_day * 7 * 52)
    throw std::invalid_argument("seasonal_history: must be between 1 and 52 weeks");
  if (o.seasonal_min_points < 3)
    throw std::invalid_argument("seasonal_min_points: must be at least 3");

  threshold_ = default_threshold * std::pow(4.0, 0.5 - o.sensitivity);
  const auto weeks = static_cast<std::size_t>((o.seasonal_history + util::micros_per_day * 7 - 1) /
                                              (util::micros_per_day * 7));
  bucket_capacity_ = weeks * bucket_per_hour;
  bucket_stride_ = util::micros_per_hour / static_cast<util::Micros>(bucket_per_hour);
  window_ = Ring(o.window_points);
  buckets_.assign(buckets, Ring(bucket_capacity_));
  scratch_.reserve(std::max(o.window_points, bucket_capacity_));
}

std::size_t AnomalyDetector::stored_values() const noexcept
{
  std::size_t n = window_.size();
  for (const Ring& b : buckets_)
    n += b.size();
  return n;
}

std::size_t AnomalyDetector::capacity() const noexcept
{
  return options_.window_points + buckets * bucket_capacity_;
}

std::string_view AnomalyDetector::severity_of(double score, double threshold) noexcept
{
  if (!(score >= threshold))
    return "none";
  const double ratio = score / threshold;
  if (ratio < 1.5)
    return "low";
  if (ratio < 2)
    return "medium";
  if (ratio < 3)
    return "high";
  return "critical";
}

AnomalyDetector::Baseline AnomalyDetector::robust(std::vector<double>& values)
{
  const double m = median_of(values);
  double sum_ad = 0;
  for (double& v : values) {
    v = std::fabs(v - m);
    sum_ad += v;
  }
  const double mean_ad = sum_ad / static_cast<double>(values.size());
  const double mad = median_of(values);
  double scale = mad > 0 ? mad_to_sigma * mad : mean_ad_to_sigma * mean_ad;
  scale = std::max({scale, relative_scale_floor * std::fabs(m), absolute_scale_floor});
  return {m, scale};
}

double AnomalyDetector::residual(double value, const Baseline& b) const noexcept
{
  const double r = (value - b.median) / b.scale;
  return std::clamp(r, -options_.clip, options_.clip);
}

AnomalyDetector::Result AnomalyDetector::observe(util::Micros timestamp, double value)
{
  if (!std::isfinite(value))
    throw std::invalid_argument(fmt::format("value {}: not a finite number", value));
  clock_ = seen_ == 0 ? timestamp : std::max(clock_, timestamp);
  ++seen_;

  Ring& bucket = buckets_[hour_of_week(timestamp)];
  while (bucket.size() > 0 && bucket.front().at < clock_ - options_.seasonal_history)
    bucket.pop_front();

  Result result;
  if (window_.size() >= options_.warmup_points) {
    scratch_.clear();
    for (std::size_t i = 0; i < window_.size(); ++i)
      scratch_.push_back(window_[i].value);
    double r = residual(value, robust(scratch_));

    if (bucket.size() >= options_.seasonal_min_points &&
        clock_ - bucket.front().at >= options_.seasonal_min_span) {
      scratch_.clear();
      for (std::size_t i = 0; i < bucket.size(); ++i)
        scratch_.push_back(bucket[i].value);
      const double rs = residual(value, robust(scratch_));
      if (std::fabs(rs) < std::fabs(r))
        r = rs;
      result.seasonal = true;
    }

    ewma_ += options_.ewma_alpha * (r - ewma_);
    result.score = std::fabs(ewma_);
    result.severity = severity_of(result.score, threshold_);

    if (!armed_ && result.score < options_.rearm_fraction * threshold_)
      armed_ = true;
    const bool quiet = alarmed_ && clock_ - last_alarm_ < options_.suppress_for;
    if (armed_ && !quiet && result.score >= threshold_) {
      result.alarm = true;
      armed_ = false;
      alarmed_ = true;
      last_alarm_ = clock_;
    }
  }

  window_.push({timestamp, value});
  if (bucket.size() == 0 || timestamp >= bucket.back().at + bucket_stride_)
    bucket.push({timestamp, value});
  return result;
}

} // namespace dm::stats
