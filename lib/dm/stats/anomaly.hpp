#pragma once
// Streaming anomaly detection over one numeric series (DESIGN 7, `kind =
// "anomaly"` alert rules and `dmanalytics anomaly scan`): one point at a
// time, in bounded memory, no database.

#include "dm/util/time.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace dm::stats {

/// Settings of AnomalyDetector. `sensitivity` is the one knob meant for users;
/// the others are documented defaults, chosen once for all series (they were
/// tuned on the labelled NAB subset of shared/data/nab, not per series).
struct AnomalyOptions {
  /// How readily the detector alarms, from 0 (only the most extreme
  /// deviations) to 1 (many alarms). Default 0.5. It sets the alarm
  /// threshold on the score: threshold = default_threshold *
  /// 4^(0.5 - sensitivity), so 0 doubles the default threshold and 1 halves
  /// it. Values outside [0, 1] are refused by the constructor.
  double sensitivity = 0.5;

  /// Rolling fallback baseline: median and MAD of the last `window_points`
  /// points (18 hours at 5-minute sampling).
  std::size_t window_points = 216;
  /// No score (and no alarm) before this many points have been seen.
  std::size_t warmup_points = 48;
  /// Seasonal baseline: an hour-of-week bucket is used once it holds at least
  /// this many values spanning at least `seasonal_min_span` (older values than
  /// `seasonal_history` are forgotten).
  std::size_t seasonal_min_points = 24;
  util::Micros seasonal_min_span = 14 * util::micros_per_day;
  util::Micros seasonal_history = 28 * util::micros_per_day;
  /// Weight of the newest residual in the EWMA (0 < alpha <= 1).
  double ewma_alpha = 0.7;
  /// A single residual is clipped to +-clip robust standard deviations before
  /// it enters the EWMA, so one wild value cannot dominate for long.
  double clip = 20.0;
  /// Alarm suppression: after an alarm no new alarm is raised for
  /// `suppress_for` (by timestamp), and not before the score has fallen below
  /// `rearm_fraction` x threshold, so one incident raises one alarm.
  util::Micros suppress_for = 16 * util::micros_per_hour;
  double rearm_fraction = 0.6;
};

/// Robust seasonal anomaly detector.
///
/// Baselines: for each point, the median m and the MAD of
///  - the values of the same hour of the week (UTC) over the last 4 weeks
///    (a bounded ring per bucket), once that bucket's history is long enough,
///  - and of the last `window_points` points (rolling window).
/// The robust residual of a baseline is (value - m) / s with
/// s = 1.4826 x MAD (the standard deviation for normal data); when the MAD is 0
/// (a constant or heavily quantised stretch) s falls back to 1.2533 x the
/// mean absolute deviation from the median, and to a tiny floor relative to
/// |m| when even that is 0, so constant series give finite scores. While the
/// seasonal bucket is short only the rolling residual counts; once it is
/// usable the residual with the smaller magnitude counts (a value is
/// anomalous only if it is unusual both for this hour of the week and for the
/// recent past, which keeps daily and weekly cycles and slow drifts quiet).
///
/// Score: |EWMA of the clipped residual|, in robust standard deviations; a
/// lasting shift builds up, a lone spike shows at once with weight alpha.
/// Alarm: score >= threshold, subject to the suppression of AnomalyOptions.
/// Severity from score / threshold: low below 1.5, medium below 2, high below
/// 3, critical from 3.
///
/// Timestamps: points are taken in arrival order. Irregular sampling is
/// fine (the rolling window counts points, seasonal buckets and suppression
/// use timestamps). A timestamp equal to or before the latest one seen (a
/// duplicate, a clock step back) is scored like any other point; expiry of
/// seasonal history and suppression use the latest timestamp seen, so a step
/// back never revives old history nor re-opens suppression.
///
/// Memory is allocated once, by the constructor, and never grows: the rolling
/// window holds window_points values and each of the 168 buckets at most
/// bucket_per_hour values per week of seasonal_history (a value is kept in its
/// bucket only when at least 1 h / bucket_per_hour has passed since the last
/// one kept there, so dense sampling cannot grow it); see capacity().
///
/// Values must be finite: the caller rejects NaN and infinities
/// (observe() throws std::invalid_argument on them).
class AnomalyDetector {
public:
  /// The score threshold at sensitivity 0.5.
  static constexpr double default_threshold = 4.0;
  static constexpr std::size_t buckets = 168;
  /// At most this many values per hour-of-week bucket and week.
  static constexpr std::size_t bucket_per_hour = 16;

  struct Result {
    double score = 0;       ///< >= 0, finite; 0 during warm-up
    bool alarm = false;     ///< an alarm is raised at this point
    std::string_view severity = "none"; ///< none|low|medium|high|critical, from the score
    bool seasonal = false;  ///< the seasonal baseline took part
  };

  /// Throws std::invalid_argument on an option out of range.
  explicit AnomalyDetector(AnomalyOptions options = {});

  Result observe(util::Micros timestamp, double value);

  /// The alarm threshold on the score, from the sensitivity.
  double threshold() const noexcept { return threshold_; }
  /// Values held (rolling window + every seasonal bucket): bounded by
  /// capacity() whatever the length of the series.
  std::size_t stored_values() const noexcept;
  std::size_t capacity() const noexcept;

  /// Severity name of a score for a threshold.
  static std::string_view severity_of(double score, double threshold) noexcept;

private:
  struct Sample {
    util::Micros at;
    double value;
  };
  /// A fixed-capacity ring of samples, oldest first.
  class Ring {
  public:
    explicit Ring(std::size_t capacity = 0) : data_(capacity) {}
    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return data_.size(); }
    const Sample& operator[](std::size_t i) const noexcept { return data_[(head_ + i) % data_.size()]; }
    const Sample& front() const noexcept { return (*this)[0]; }
    const Sample& back() const noexcept { return (*this)[size_ - 1]; }
    void push(Sample s) noexcept;
    void pop_front() noexcept;

  private:
    std::vector<Sample> data_;
    std::size_t head_ = 0, size_ = 0;
  };
  struct Baseline {
    double median;
    double scale;
  };

  static Baseline robust(std::vector<double>& values);
  double residual(double value, const Baseline& b) const noexcept;

  AnomalyOptions options_;
  double threshold_;
  std::size_t bucket_capacity_;
  util::Micros bucket_stride_;

  Ring window_;
  std::vector<Ring> buckets_;
  std::vector<double> scratch_;
  std::size_t seen_ = 0;
  util::Micros clock_ = 0; ///< latest timestamp seen
  double ewma_ = 0;
  bool armed_ = true;
  bool alarmed_ = false;
  util::Micros last_alarm_ = 0;
};

} // namespace dm::stats
