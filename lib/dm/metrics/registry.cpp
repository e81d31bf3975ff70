#include "dm/metrics/registry.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <type_traits>

namespace dm::metrics {

namespace {

bool is_metric_name(std::string_view name) noexcept
{
  if (name.empty())
    return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0))
      return false;
  }
  return true;
}

bool is_label_name(std::string_view name) noexcept
{
  return is_metric_name(name) && name.find(':') == std::string_view::npos && !name.starts_with("__");
}

std::string_view type_name(MetricType type) noexcept
{
  switch (type) {
  case MetricType::counter:
    return "counter";
  case MetricType::gauge:
    return "gauge";
  case MetricType::histogram:
    return "histogram";
  }
  return "untyped";
}

/// HELP text escapes only backslash and newline.
std::string escape_help(std::string_view help)
{
  std::string out;
  out.reserve(help.size());
  for (const char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void render_header(std::string& out, const FamilyBase& family)
{
  out += "# HELP ";
  out += family.name();
  out += ' ';
  out += escape_help(family.help());
  out += "\n# TYPE ";
  out += family.name();
  out += ' ';
  out += type_name(family.type());
  out += '\n';
}

/// `{a="x",b="y"}` with an optional extra pair last (`le` of a bucket); nothing
/// when there are no labels at all.
void render_labels(std::string& out, const std::vector<std::string>& names, const Labels& values,
                   std::string_view extra_name = {}, std::string_view extra_value = {})
{
  if (names.empty() && extra_name.empty())
    return;
  out += '{';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0)
      out += ',';
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty())
      out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void render_sample(std::string& out, std::string_view name, const std::vector<std::string>& label_names,
                   const Labels& values, double value)
{
  out += name;
  render_labels(out, label_names, values);
  out += ' ';
  out += format_value(value);
  out += '\n';
}

void render_histogram(std::string& out, const FamilyBase& family, const Labels& values, const Histogram& h)
{
  const Histogram::Snapshot snap = h.snapshot();
  const std::string bucket = family.name() + "_bucket";
  for (std::size_t i = 0; i < snap.cumulative.size(); ++i) {
    const std::string le = i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf";
    out += bucket;
    render_labels(out, family.label_names(), values, "le", le);
    out += ' ';
    out += fmt::format("{}", snap.cumulative[i]);
    out += '\n';
  }
  render_sample(out, family.name() + "_sum", family.label_names(), values, snap.sum);
  out += family.name();
  out += "_count";
  render_labels(out, family.label_names(), values);
  out += ' ';
  out += fmt::format("{}", snap.count);
  out += '\n';
}

std::vector<double> checked_buckets(std::vector<double> buckets, std::string_view name)
{
  if (!buckets.empty() && std::isinf(buckets.back()) && buckets.back() > 0)
    buckets.pop_back();
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (!std::isfinite(buckets[i]))
      throw std::invalid_argument(fmt::format("histogram {}: bucket bound {} is not finite", name, buckets[i]));
    if (i > 0 && !(buckets[i - 1] < buckets[i]))
      throw std::invalid_argument(
          fmt::format("histogram {}: bucket bounds must increase strictly, {} follows {}", name, buckets[i],
                      buckets[i - 1]));
  }
  return buckets;
}

} // namespace

std::string format_value(double value)
{
  if (std::isnan(value))
    return "NaN";
  if (std::isinf(value))
    return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string escape_label_value(std::string_view value)
{
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// --- metrics ---------------------------------------------------------------

void Counter::inc(double amount) noexcept
{
  if (amount > 0)
    value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(const std::vector<double>& bounds) : bounds_(bounds), counts_(bounds.size() + 1) {}

void Histogram::observe(double value) noexcept
{
  if (std::isnan(value))
    return;
  const auto bucket = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                               bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const
{
  Snapshot snap;
  snap.cumulative.reserve(counts_.size());
  std::uint64_t running = 0;
  for (const auto& c : counts_) {
    running += c.load(std::memory_order_relaxed);
    snap.cumulative.push_back(running);
  }
  snap.count = running;
  snap.sum = sum_.load(std::memory_order_relaxed);
  return snap;
}

// --- families --------------------------------------------------------------

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names))
{
}

void FamilyBase::check_arity(const Labels& values) const
{
  if (values.size() != label_names_.size())
    throw std::invalid_argument(fmt::format("metric {} takes {} label value(s) ({}), got {}", name_,
                                            label_names_.size(), fmt::join(label_names_, ","), values.size()));
}

template <class Metric>
Family<Metric>::Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
                       std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)), bounds_(std::move(bounds))
{
}

template <class Metric>
Metric& Family<Metric>::labels(const Labels& values)
{
  check_arity(values);
  {
    std::shared_lock lock(mutex_);
    if (auto it = children_.find(values); it != children_.end())
      return *it->second;
  }
  std::unique_lock lock(mutex_);
  auto& slot = children_[values];
  if (!slot) {
    if constexpr (std::is_same_v<Metric, Histogram>)
      slot = std::make_unique<Histogram>(bounds_);
    else
      slot = std::make_unique<Metric>();
  }
  return *slot;
}

template <class Metric>
void Family<Metric>::render(std::string& out) const
{
  render_header(out, *this);
  std::shared_lock lock(mutex_);
  for (const auto& [values, metric] : children_) {
    if constexpr (std::is_same_v<Metric, Histogram>)
      render_histogram(out, *this, values, *metric);
    else
      render_sample(out, name(), label_names(), values, metric->value());
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

CallbackFamily::CallbackFamily(std::string name, std::string help, MetricType type,
                               std::vector<std::string> label_names, Collector collector)
    : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)), collector_(std::move(collector))
{
}

void CallbackFamily::set_collector(Collector collector)
{
  std::lock_guard lock(mutex_);
  collector_ = std::move(collector);
}

void CallbackFamily::set_value_function(std::function<double()> value)
{
  if (!value) {
    set_collector({});
    return;
  }
  check_arity({});
  set_collector([value = std::move(value)] { return std::vector<Sample>{Sample{{}, value()}}; });
}

void CallbackFamily::render(std::string& out) const
{
  render_header(out, *this);
  std::vector<Sample> samples;
  {
    // Held while the collector runs: set_collector() waits for it, which is
    // what lets the owner of captured objects detach before destroying them.
    std::lock_guard lock(mutex_);
    if (!collector_)
      return;
    try {
      samples = collector_();
    } catch (const std::exception& e) {
      spdlog::warn("metrics: collector of {} failed: {}", name(), e.what());
      return;
    }
  }
  std::erase_if(samples, [this](const Sample& s) { return s.labels.size() != label_names().size(); });
  // Sorted by labels, the last of equal labels kept: a stable sort keeps
  // equal ones in order, then each run collapses to its last element.
  std::stable_sort(samples.begin(), samples.end(),
                   [](const Sample& a, const Sample& b) { return a.labels < b.labels; });
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (i + 1 < samples.size() && samples[i + 1].labels == samples[i].labels)
      continue;
    render_sample(out, name(), label_names(), samples[i].labels, samples[i].value);
  }
}

// --- registry --------------------------------------------------------------

std::vector<double> Registry::default_buckets()
{
  return {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
}

template <class F, class... Args>
F& Registry::add(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
                 Args&&... args)
{
  if (!is_metric_name(name))
    throw std::invalid_argument(fmt::format("metric name {:?} is not valid", name));
  for (std::size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!is_label_name(label))
      throw std::invalid_argument(fmt::format("metric {}: label name {:?} is not valid", name, label));
    if (type == MetricType::histogram && label == "le")
      throw std::invalid_argument(fmt::format("histogram {}: the label name le is reserved", name));
    if (std::find(label_names.begin(), label_names.begin() + static_cast<std::ptrdiff_t>(i), label) !=
        label_names.begin() + static_cast<std::ptrdiff_t>(i))
      throw std::invalid_argument(fmt::format("metric {}: label name {} repeats", name, label));
  }
  std::vector<std::string> emitted;
  if (type == MetricType::histogram)
    emitted = {name + "_bucket", name + "_sum", name + "_count"};
  else
    emitted = {name};

  std::lock_guard lock(mutex_);
  if (families_.contains(name))
    throw std::invalid_argument(fmt::format("metric {} is registered twice", name));
  for (const std::string& s : emitted)
    if (sample_names_.contains(s))
      throw std::invalid_argument(fmt::format("metric {}: its samples named {} clash with another family", name, s));
  auto family = std::make_unique<F>(name, std::move(help), type, std::move(label_names), std::forward<Args>(args)...);
  F& ref = *family;
  families_.emplace(std::move(name), std::move(family));
  sample_names_.insert(emitted.begin(), emitted.end());
  return ref;
}

CounterFamily& Registry::counter(std::string name, std::string help, std::vector<std::string> label_names)
{
  return add<CounterFamily>(std::move(name), std::move(help), MetricType::counter, std::move(label_names));
}

GaugeFamily& Registry::gauge(std::string name, std::string help, std::vector<std::string> label_names)
{
  return add<GaugeFamily>(std::move(name), std::move(help), MetricType::gauge, std::move(label_names));
}

HistogramFamily& Registry::histogram(std::string name, std::string help, std::vector<std::string> label_names,
                                     std::vector<double> buckets)
{
  std::vector<double> bounds = checked_buckets(std::move(buckets), name);
  return add<HistogramFamily>(std::move(name), std::move(help), MetricType::histogram, std::move(label_names),
                              std::move(bounds));
}

CallbackFamily& Registry::gauge_callback(std::string name, std::string help, std::vector<std::string> label_names,
                                         CallbackFamily::Collector collector)
{
  return add<CallbackFamily>(std::move(name), std::move(help), MetricType::gauge, std::move(label_names),
                             std::move(collector));
}

CallbackFamily& Registry::counter_callback(std::string name, std::string help,
                                           std::vector<std::string> label_names,
                                           CallbackFamily::Collector collector)
{
  return add<CallbackFamily>(std::move(name), std::move(help), MetricType::counter, std::move(label_names),
                             std::move(collector));
}

std::string Registry::render() const
{
  // Families are never removed, so the pointers stay valid after the lock is
  // released; rendering without it lets collectors take their time.
  std::vector<const FamilyBase*> families;
  {
    std::lock_guard lock(mutex_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_)
      families.push_back(family.get());
  }
  std::string out;
  out.reserve(256 * families.size());
  for (const FamilyBase* family : families)
    family->render(out);
  return out;
}

} // namespace dm::metrics
