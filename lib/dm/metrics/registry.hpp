#pragma once
// A small Prometheus registry: counter, gauge and histogram families with
// labels, callback families evaluated at scrape time, and their rendering in
// the text exposition format 0.0.4 served at /metrics (DESIGN 13).

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace dm::metrics {

/// Label values, in the order of the family's label names.
using Labels = std::vector<std::string>;

/// A value that only goes up. Lock-free.
class Counter {
public:
  /// Adds `amount`. A negative or NaN amount is ignored: a counter never goes
  /// down, and a daemon must not fail over a metric.
  void inc(double amount = 1.0) noexcept;
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<double> value_{0.0};
};

/// A value that goes up and down. Lock-free.
class Gauge {
public:
  void set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  void inc(double amount = 1.0) noexcept { value_.fetch_add(amount, std::memory_order_relaxed); }
  void dec(double amount = 1.0) noexcept { value_.fetch_sub(amount, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<double> value_{0.0};
};

/// Observations counted in buckets with fixed upper bounds (inclusive, as in
/// Prometheus: a value v goes into the first bucket with v <= bound). Lock-free.
class Histogram {
public:
  /// `bounds`: strictly increasing finite upper bounds, without +Inf; must
  /// outlive the histogram (the family owns them).
  explicit Histogram(const std::vector<double>& bounds);

  /// Counts a value. NaN is ignored (it has no bucket and would poison _sum).
  void observe(double value) noexcept;

  struct Snapshot {
    /// Cumulative counts, one per bound and a last one for +Inf.
    std::vector<std::uint64_t> cumulative;
    double sum = 0;
    /// Equals cumulative.back().
    std::uint64_t count = 0;
  };
  /// A copy of the counts. Concurrent observations may be missing from it,
  /// and `sum` may include one whose bucket is not counted yet; the buckets
  /// and the count are always consistent with each other.
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const noexcept { return bounds_; }

private:
  const std::vector<double>& bounds_;
  /// Per bucket, not cumulative; the last one is +Inf.
  std::vector<std::atomic<std::uint64_t>> counts_;
  std::atomic<double> sum_{0.0};
};

/// One sample returned by a callback family's collector.
struct Sample {
  Labels labels;
  double value = 0;
};

enum class MetricType { counter, gauge, histogram };

/// Common part of every family: name, help, type and label names.
class FamilyBase {
public:
  FamilyBase(std::string name, std::string help, MetricType type, std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  MetricType type() const noexcept { return type_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }

  /// Appends `# HELP`, `# TYPE` and every sample of this family to `out`.
  virtual void render(std::string& out) const = 0;

protected:
  /// Throws std::invalid_argument when `values` does not have one value per label name.
  void check_arity(const Labels& values) const;

private:
  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
};

/// A metric name with label names, and one child metric per set of label
/// values. Children are created at zero on first use and live as long as the
/// registry, so references returned by labels() may be cached; updating a
/// child is lock-free. labels() itself takes a lock (shared when the child
/// exists). Thread-safe.
template <class Metric>
class Family final : public FamilyBase {
public:
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
         std::vector<double> bounds = {});

  /// The child for these label values (one per label name, in order; `{}`
  /// for a family without labels), created on first use. Throws
  /// std::invalid_argument when the number of values is wrong.
  Metric& labels(const Labels& values);

  void render(std::string& out) const override;

private:
  /// Histogram bounds; empty for counters and gauges.
  std::vector<double> bounds_;
  mutable std::shared_mutex mutex_;
  std::map<Labels, std::unique_ptr<Metric>> children_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

/// A counter or gauge family whose samples come from a function called at
/// each scrape (a pool's in-use count, this process's memory). Thread-safe.
class CallbackFamily final : public FamilyBase {
public:
  /// Returns the current samples; each one's labels must have one value per
  /// label name (others are left out), and for equal labels the last wins.
  using Collector = std::function<std::vector<Sample>()>;

  CallbackFamily(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
                 Collector collector);

  /// Replaces the collector; an empty one renders no samples. Once this
  /// returns, the previous collector is not running and will not run again,
  /// so an object it captured may be destroyed. A collector must not call
  /// into its own family.
  void set_collector(Collector collector);
  /// For a family without labels: one sample, the value `value()` returns.
  void set_value_function(std::function<double()> value);

  /// Calls the collector. One that throws renders no samples (and is logged):
  /// a scrape never fails because of one metric.
  void render(std::string& out) const override;

private:
  mutable std::mutex mutex_;
  Collector collector_;
};

/// The families of one process, rendered in the Prometheus text format.
///
/// Thread-safe: families may be registered, children looked up and updated,
/// and render() called from any thread at the same time. Families are never
/// removed, so references to them and their children stay valid as long as
/// the registry.
class Registry {
public:
  /// Content-Type of render()'s output.
  static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";
  /// .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10 (seconds), as the Prometheus clients.
  static std::vector<double> default_buckets();

  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// Registers a family. Each throws std::invalid_argument when the name or a
  /// label name is not valid Prometheus syntax, a label name repeats or starts
  /// with `__`, or a sample name it would emit (for histograms NAME_bucket,
  /// NAME_sum and NAME_count) is already taken by another family.
  CounterFamily& counter(std::string name, std::string help, std::vector<std::string> label_names = {});
  GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  /// `buckets`: strictly increasing finite upper bounds (a trailing +Inf is
  /// dropped, it is always there); the label name `le` is reserved.
  HistogramFamily& histogram(std::string name, std::string help, std::vector<std::string> label_names = {},
                             std::vector<double> buckets = default_buckets());
  CallbackFamily& gauge_callback(std::string name, std::string help, std::vector<std::string> label_names,
                                 CallbackFamily::Collector collector);
  CallbackFamily& counter_callback(std::string name, std::string help, std::vector<std::string> label_names,
                                   CallbackFamily::Collector collector);

  /// Every family in name order, each once: `# HELP`, `# TYPE`, then its
  /// samples ordered by label values. Histograms have cumulative
  /// `_bucket{le="..."}` lines ending with `le="+Inf"`, then `_sum` and
  /// `_count`. Callback collectors run during the call, without the
  /// registry's lock held.
  std::string render() const;

private:
  template <class F, class... Args>
  F& add(std::string name, std::string help, MetricType type, std::vector<std::string> label_names, Args&&... args);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<FamilyBase>, std::less<>> families_;
  /// Every sample name emitted by a registered family.
  std::set<std::string, std::less<>> sample_names_;
};

/// Formats a sample value as Prometheus does: shortest round-trip decimal,
/// `+Inf`, `-Inf`, `NaN`.
std::string format_value(double value);

/// Escapes a label value: backslash, double quote and newline.
std::string escape_label_value(std::string_view value);

} // namespace dm::metrics
