#pragma once
// A DDSketch-style log-bucketed histogram of non-negative values (request
// durations in ms), mergeable across minutes, services and daemons
// (DESIGN 4, column request_rollup_1m.sketch).

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace dm::stats {

/// Histogram with relative accuracy 1%: a positive value x is counted in the
/// bucket of key k = ceil(log(x) / log(gamma)), which covers
/// (gamma^(k-1), gamma^k]; zero has a count of its own. Quantiles estimate each
/// order statistic by its bucket's value 2*gamma^k/(gamma+1), which is within
/// (gamma-1)/(gamma+1) < 1% of every value in the bucket.
///
/// Buckets take one of two forms, chosen by how many distinct positive keys
/// the sketch holds, so that the many sketches holding a handful of values
/// (one per minute, service and endpoint) stay small:
/// - sparse, up to sparse_capacity keys: (key, count) pairs sorted by key,
///   16 bytes per key, found by a short linear search. An empty sketch owns no
///   heap memory.
/// - dense, beyond that: a vector indexed by key - offset that grows both ways
///   to cover the keys seen, so insert() is one log and one increment and
///   merge() one pass of additions. It spans the keys between the smallest and
///   largest value seen: about 900 slots (7 KB) for request durations from
///   0.01 ms to 10 min, at most every key a double can have (about 73,000
///   slots, 590 KB).
/// A sketch turns dense when an insert() or merge() takes it beyond
/// sparse_capacity keys, or when merge() adds to it a dense sketch holding
/// positive values, and then stays dense (clear() included);
/// deserialize() picks the form by the number of keys. The form changes
/// memory and speed only: every result, including serialize(), is the same in
/// either form.
///
/// Serialised form (the bytea of request_rollup_1m.sketch, decoded by the
/// functions of share/sql/0002_sketch.sql, so it is fixed): a sequence of
/// 12-byte entries, each the key as a big-endian int32 followed by the count as
/// a big-endian int64 (> 0), sorted by key ascending with unique keys, no
/// header. The zero count uses key INT32_MIN, so it comes first. An empty
/// sketch is the empty string. Exact min and max are not serialised: after
/// deserialize() they are the estimates of the lowest and highest buckets (or
/// 0 for the zero count), so quantiles clamp only to the bucket range, which
/// keeps them within 1%.
///
/// Not thread-safe: a Sketch is a value, used by one thread at a time.
class Sketch {
public:
  static constexpr double gamma = 1.02;
  /// Largest relative error of a bucket's estimate: (gamma-1)/(gamma+1).
  static constexpr double relative_accuracy = (gamma - 1) / (gamma + 1);
  /// Key of the zero count in the serialised form.
  static constexpr std::int32_t zero_key = std::numeric_limits<std::int32_t>::min();
  /// Keys of the smallest positive double (denormal) and of the largest double.
  static constexpr std::int32_t min_key = -37592;
  static constexpr std::int32_t max_key = 35843;
  /// Bytes of one serialised entry.
  static constexpr std::size_t entry_size = 12;
  /// Most distinct positive keys the sparse form holds (512 bytes of pairs);
  /// below this a dense vector is usually larger, since the keys of request
  /// durations lie far apart.
  static constexpr std::size_t sparse_capacity = 32;

  /// Counts a value. Throws std::invalid_argument naming the value when it is
  /// negative, NaN or infinite (the ingest layer validates before), and
  /// std::overflow_error when the total count would exceed INT64_MAX (the
  /// serialised counts are int64).
  void insert(double value);
  /// Counts a value `count` times (nothing for 0); throws as insert(value).
  void insert(double value, std::uint64_t count);
  /// Adds every count of `other` (which may be *this). Throws
  /// std::overflow_error when the total count would exceed INT64_MAX.
  void merge(const Sketch& other);
  /// Forgets every value. Keeps the form and the heap memory, so a sketch
  /// cleared and refilled with similar values does not reallocate.
  void clear() noexcept;

  std::uint64_t count() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  /// How many values were 0.
  std::uint64_t zero_count() const noexcept { return zero_count_; }
  /// Whether the buckets are in the dense form (see above).
  bool is_dense() const noexcept { return dense_; }
  /// Approximate heap memory owned: the capacity of the bucket storage,
  /// without the allocator's own overhead. 0 for an empty sparse sketch.
  std::size_t heap_bytes() const noexcept { return buckets_.capacity() * sizeof(std::uint64_t); }

  /// The smallest and largest value counted: exact when every value reached
  /// this sketch through insert() or merge() of such sketches, the bucket
  /// estimates after deserialize(). Throw std::logic_error on an empty sketch.
  double min() const;
  double max() const;

  /// Quantile q in [0,1] matching PostgreSQL's percentile_cont: linear
  /// interpolation between the order statistics at ranks floor(q*(n-1)) and
  /// ceil(q*(n-1)), each estimated by its bucket's value clamped to
  /// [min, max]; ranks 0 and n-1 are min() and max(). Within
  /// relative_accuracy (< 1%) of percentile_cont over the values counted.
  /// Throws std::logic_error on an empty sketch, std::invalid_argument when q
  /// is outside [0,1] or NaN.
  double quantile(double q) const;

  /// The serialised form described above.
  std::string serialize() const;
  /// Parses the serialised form. Throws std::invalid_argument, saying what
  /// and where, when the length is not a multiple of 12, keys are not
  /// strictly ascending or outside [min_key, max_key] (other than zero_key),
  /// a count is not positive, or the total count exceeds INT64_MAX.
  static Sketch deserialize(std::string_view bytes);

  /// The bucket key of a positive finite value: ceil(log(value)/log(gamma)),
  /// up to floating-point noise at bucket borders.
  static std::int32_t key_of(double value) noexcept;
  /// The estimate of every value of a bucket, 2*gamma^key/(gamma+1).
  static double bucket_value(std::int32_t key) noexcept;

private:
  /// Distinct positive keys held in the sparse form.
  std::size_t sparse_size() const noexcept { return buckets_.size() / 2; }
  /// Key and count of the i-th pair of the sparse form.
  std::int32_t sparse_key(std::size_t i) const noexcept {
    return static_cast<std::int32_t>(static_cast<std::int64_t>(buckets_[2 * i]) + min_key);
  }
  std::uint64_t sparse_count(std::size_t i) const noexcept { return buckets_[2 * i + 1]; }

  /// Adds `count` to the bucket of `key` (in [min_key, max_key]) in either
  /// form, turning dense when the sparse form is full. Leaves count_, min_
  /// and max_ to the caller.
  void add_to_bucket(std::int32_t key, std::uint64_t count);
  /// Turns a sparse sketch dense, covering its keys and [low, high].
  void make_dense(std::int32_t low, std::int32_t high);
  /// Dense form: makes buckets_ cover [low, high] (both in [min_key, max_key]).
  void cover(std::int32_t low, std::int32_t high);
  /// Throws std::overflow_error when adding n would take the total count
  /// beyond INT64_MAX.
  void check_room(std::uint64_t n) const;
  /// The estimate of the order statistic of 0-based rank `rank` < count_.
  double value_at_rank(std::uint64_t rank) const;

  /// Dense form: buckets_[i] counts key offset_ + i; slots at either end may
  /// be 0. Sparse form: buckets_[2i] is the i-th key minus min_key and
  /// buckets_[2i+1] its count (> 0), keys strictly ascending. One vector
  /// serves both forms to keep the sketch at 64 bytes.
  std::vector<std::uint64_t> buckets_;
  std::int32_t offset_ = 0;
  bool dense_ = false;
  std::uint64_t zero_count_ = 0;
  std::uint64_t count_ = 0;
  double min_ = std::numeric_limits<double>::infinity();
  double max_ = -std::numeric_limits<double>::infinity();
};

} // namespace dm::stats
