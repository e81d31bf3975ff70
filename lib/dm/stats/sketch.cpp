#include "dm/stats/sketch.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace dm::stats {

namespace {

const double log_gamma = std::log(Sketch::gamma);
/// 2*gamma/(gamma+1): bucket_value(k) is gamma^(k-1) times this, which stays
/// finite for max_key where gamma^max_key itself overflows.
constexpr double value_factor = 2 * Sketch::gamma / (Sketch::gamma + 1);
constexpr std::uint64_t max_total = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
/// Slots beyond each end of a dense vector's first allocation: keys of one
/// series drift slowly, so with this and doubling on growth a sketch settles
/// after a few reallocations.
constexpr std::int64_t first_headroom = 16;

/// A key as stored in the sparse form: key - min_key, so that the stored
/// values order as the keys do.
std::uint64_t sparse_stored(std::int32_t key) {
  return static_cast<std::uint64_t>(std::int64_t{key} - Sketch::min_key);
}

[[noreturn]] void reject_value(double value) {
  throw std::invalid_argument(fmt::format("sketch value {} is not a non-negative finite number", value));
}

void append_entry(std::string& out, std::int32_t key, std::uint64_t count) {
  const auto k = static_cast<std::uint32_t>(key);
  const char entry[Sketch::entry_size] = {
      static_cast<char>(k >> 24),     static_cast<char>(k >> 16),     static_cast<char>(k >> 8),
      static_cast<char>(k),           static_cast<char>(count >> 56), static_cast<char>(count >> 48),
      static_cast<char>(count >> 40), static_cast<char>(count >> 32), static_cast<char>(count >> 24),
      static_cast<char>(count >> 16), static_cast<char>(count >> 8),  static_cast<char>(count),
  };
  out.append(entry, sizeof entry);
}

std::uint64_t read_big_endian(std::string_view bytes, std::size_t at, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  }
  return v;
}

std::int32_t read_key(std::string_view bytes, std::size_t entry) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(read_big_endian(bytes, entry * Sketch::entry_size, 4)));
}

std::uint64_t read_count(std::string_view bytes, std::size_t entry) {
  return read_big_endian(bytes, entry * Sketch::entry_size + 4, 8);
}

} // namespace

std::int32_t Sketch::key_of(double value) noexcept {
  const double key = std::ceil(std::log(value) / log_gamma);
  // The clamp only guards against a libm whose log of the extreme doubles
  // lands one bucket beyond the documented range.
  return static_cast<std::int32_t>(std::clamp(key, double{min_key}, double{max_key}));
}

double Sketch::bucket_value(std::int32_t key) noexcept {
  return std::pow(gamma, static_cast<double>(key) - 1) * value_factor;
}

void Sketch::check_room(std::uint64_t n) const {
  if (n > max_total - count_) [[unlikely]] {
    throw std::overflow_error(fmt::format("sketch count {} + {} exceeds the int64 range", count_, n));
  }
}

void Sketch::cover(std::int32_t low, std::int32_t high) {
  std::int64_t new_low;
  std::int64_t new_high;
  if (buckets_.empty()) {
    // Only a moved-from dense sketch has no slots.
    new_low = std::max<std::int64_t>(min_key, low - first_headroom);
    new_high = std::min<std::int64_t>(max_key, high + first_headroom);
  } else {
    const auto size = static_cast<std::int64_t>(buckets_.size());
    const std::int64_t cur_low = offset_;
    const std::int64_t cur_high = cur_low + size - 1;
    if (low >= cur_low && high <= cur_high) {
      return;
    }
    new_low = low < cur_low ? std::max<std::int64_t>(min_key, std::min<std::int64_t>(low, cur_low - size)) : cur_low;
    new_high =
        high > cur_high ? std::min<std::int64_t>(max_key, std::max<std::int64_t>(high, cur_high + size)) : cur_high;
  }
  std::vector<std::uint64_t> grown(static_cast<std::size_t>(new_high - new_low + 1), 0);
  std::copy(buckets_.begin(), buckets_.end(), grown.begin() + (offset_ - new_low));
  buckets_.swap(grown);
  offset_ = static_cast<std::int32_t>(new_low);
}

void Sketch::make_dense(std::int32_t low, std::int32_t high) {
  const std::size_t n = sparse_size();
  if (n != 0) {
    low = std::min(low, sparse_key(0));
    high = std::max(high, sparse_key(n - 1));
  }
  const std::int64_t new_low = std::max<std::int64_t>(min_key, low - first_headroom);
  const std::int64_t new_high = std::min<std::int64_t>(max_key, high + first_headroom);
  // Built aside and swapped in, so a failed allocation leaves the sketch as
  // it was.
  std::vector<std::uint64_t> dense(static_cast<std::size_t>(new_high - new_low + 1), 0);
  for (std::size_t i = 0; i < n; ++i) {
    dense[static_cast<std::size_t>(sparse_key(i) - new_low)] = sparse_count(i);
  }
  buckets_.swap(dense);
  offset_ = static_cast<std::int32_t>(new_low);
  dense_ = true;
}

void Sketch::add_to_bucket(std::int32_t key, std::uint64_t count) {
  if (!dense_) {
    const std::uint64_t stored = sparse_stored(key);
    const std::size_t n = sparse_size();
    std::size_t i = 0;
    while (i < n && buckets_[2 * i] < stored) {
      ++i;
    }
    if (i < n && buckets_[2 * i] == stored) {
      buckets_[2 * i + 1] += count;
      return;
    }
    if (n < sparse_capacity) {
      const std::uint64_t pair[2] = {stored, count};
      buckets_.insert(buckets_.begin() + static_cast<std::ptrdiff_t>(2 * i), pair, pair + 2);
      return;
    }
    make_dense(key, key);
  }
  cover(key, key);
  buckets_[static_cast<std::size_t>(key - offset_)] += count;
}

void Sketch::insert(double value) {
  // The common case spelled out: one branch for the value's class, one for
  // a dense vector's range, no count checks beyond the int64 limit.
  if (value > 0 && value <= std::numeric_limits<double>::max()) [[likely]] {
    check_room(1);
    const std::int32_t key = key_of(value);
    const auto index = static_cast<std::int64_t>(key) - offset_;
    if (dense_ && static_cast<std::uint64_t>(index) < buckets_.size()) {
      ++buckets_[static_cast<std::size_t>(index)];
    } else {
      add_to_bucket(key, 1);
    }
    ++count_;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  } else {
    insert(value, 1);
  }
}

void Sketch::insert(double value, std::uint64_t count) {
  if (value > 0 && value <= std::numeric_limits<double>::max()) {
    if (count == 0) {
      return;
    }
    check_room(count);
    add_to_bucket(key_of(value), count);
    count_ += count;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  } else if (value == 0) {
    if (count == 0) {
      return;
    }
    check_room(count);
    zero_count_ += count;
    count_ += count;
    // +0.0 even for -0.0, so min() never reports a negative zero.
    min_ = std::min(min_, 0.0);
    max_ = std::max(max_, 0.0);
  } else {
    reject_value(value);
  }
}

void Sketch::merge(const Sketch& other) {
  if (other.count_ == 0) {
    return;
  }
  check_room(other.count_);
  if (&other == this) {
    // Doubled in place: the general paths below would read the buckets they
    // write. No bucket overflows, as none exceeds the total checked above.
    if (dense_) {
      for (std::uint64_t& c : buckets_) {
        c *= 2;
      }
    } else {
      for (std::size_t i = 0; i < sparse_size(); ++i) {
        buckets_[2 * i + 1] *= 2;
      }
    }
    zero_count_ *= 2;
    count_ *= 2;
    return;
  }

  if (other.dense_) {
    const auto first =
        std::find_if(other.buckets_.begin(), other.buckets_.end(), [](std::uint64_t c) { return c != 0; });
    if (first != other.buckets_.end()) {
      const auto last = std::find_if(other.buckets_.rbegin(), other.buckets_.rend(), [](std::uint64_t c) {
                          return c != 0;
                        }).base();
      const auto first_index = static_cast<std::int32_t>(first - other.buckets_.begin());
      const auto last_index = static_cast<std::int32_t>(last - other.buckets_.begin()) - 1;
      const std::int32_t low = other.offset_ + first_index;
      const std::int32_t high = other.offset_ + last_index;
      if (dense_) {
        cover(low, high);
      } else {
        make_dense(low, high);
      }
      std::uint64_t* to = buckets_.data() + (low - offset_);
      const std::uint64_t* from = other.buckets_.data() + first_index;
      const auto n = static_cast<std::size_t>(last_index - first_index + 1);
      for (std::size_t i = 0; i < n; ++i) {
        to[i] += from[i];
      }
    }
  } else if (const std::size_t other_n = other.sparse_size(); other_n != 0) {
    const std::int32_t low = other.sparse_key(0);
    const std::int32_t high = other.sparse_key(other_n - 1);
    if (!dense_) {
      const std::size_t n = sparse_size();
      std::size_t shared = 0;
      for (std::size_t i = 0, j = 0; i < n && j < other_n;) {
        const std::uint64_t a = buckets_[2 * i];
        const std::uint64_t b = other.buckets_[2 * j];
        shared += a == b ? 1 : 0;
        i += a <= b ? 1 : 0;
        j += b <= a ? 1 : 0;
      }
      const std::size_t merged = n + other_n - shared;
      if (merged <= sparse_capacity) {
        // Merged from the back into the grown vector, so every pair of this
        // sketch is read before its slot is written.
        buckets_.resize(2 * merged);
        std::size_t i = n;
        std::size_t j = other_n;
        for (std::size_t w = merged; j > 0; --w) {
          const std::uint64_t b = other.buckets_[2 * (j - 1)];
          if (i > 0 && buckets_[2 * (i - 1)] >= b) {
            const std::uint64_t a = buckets_[2 * (i - 1)];
            std::uint64_t c = buckets_[2 * (i - 1) + 1];
            if (a == b) {
              c += other.buckets_[2 * (j - 1) + 1];
              --j;
            }
            --i;
            buckets_[2 * (w - 1)] = a;
            buckets_[2 * (w - 1) + 1] = c;
          } else {
            buckets_[2 * (w - 1)] = b;
            buckets_[2 * (w - 1) + 1] = other.buckets_[2 * (j - 1) + 1];
            --j;
          }
        }
      } else {
        make_dense(low, high);
      }
    }
    if (dense_) {
      cover(low, high);
      for (std::size_t j = 0; j < other_n; ++j) {
        buckets_[static_cast<std::size_t>(other.sparse_key(j) - offset_)] += other.sparse_count(j);
      }
    }
  }
  zero_count_ += other.zero_count_;
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Sketch::clear() noexcept {
  if (dense_) {
    std::fill(buckets_.begin(), buckets_.end(), 0);
  } else {
    buckets_.clear();
  }
  zero_count_ = 0;
  count_ = 0;
  min_ = std::numeric_limits<double>::infinity();
  max_ = -std::numeric_limits<double>::infinity();
}

double Sketch::min() const {
  if (empty()) {
    throw std::logic_error("sketch min() of an empty sketch");
  }
  return min_;
}

double Sketch::max() const {
  if (empty()) {
    throw std::logic_error("sketch max() of an empty sketch");
  }
  return max_;
}

double Sketch::value_at_rank(std::uint64_t rank) const {
  if (rank == 0) {
    return min_;
  }
  if (rank >= count_ - 1) {
    return max_;
  }
  if (rank < zero_count_) {
    return 0.0;
  }
  std::uint64_t seen = zero_count_;
  if (dense_) {
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (rank < seen) {
        return std::clamp(bucket_value(offset_ + static_cast<std::int32_t>(i)), min_, max_);
      }
    }
  } else {
    for (std::size_t i = 0; i < sparse_size(); ++i) {
      seen += sparse_count(i);
      if (rank < seen) {
        return std::clamp(bucket_value(sparse_key(i)), min_, max_);
      }
    }
  }
  return max_; // unreachable while count_ equals the sum of the counts
}

double Sketch::quantile(double q) const {
  if (!(q >= 0 && q <= 1)) {
    throw std::invalid_argument(fmt::format("sketch quantile {} is outside [0, 1]", q));
  }
  if (empty()) {
    throw std::logic_error("sketch quantile() of an empty sketch");
  }
  // The same arithmetic as PostgreSQL's percentile_cont (orderedsetaggs.c).
  const double rank = q * static_cast<double>(count_ - 1);
  const auto first_rank = static_cast<std::uint64_t>(std::floor(rank));
  const auto second_rank = static_cast<std::uint64_t>(std::ceil(rank));
  const double first = value_at_rank(first_rank);
  if (second_rank == first_rank) {
    return first;
  }
  const double second = value_at_rank(second_rank);
  return first + (rank - static_cast<double>(first_rank)) * (second - first);
}

std::string Sketch::serialize() const {
  const std::size_t buckets =
      dense_ ? static_cast<std::size_t>(std::count_if(buckets_.begin(), buckets_.end(),
                                                      [](std::uint64_t c) { return c != 0; }))
             : sparse_size();
  std::string out;
  out.reserve(entry_size * (buckets + (zero_count_ != 0 ? 1 : 0)));
  if (zero_count_ != 0) {
    append_entry(out, zero_key, zero_count_);
  }
  if (dense_) {
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      if (buckets_[i] != 0) {
        append_entry(out, offset_ + static_cast<std::int32_t>(i), buckets_[i]);
      }
    }
  } else {
    for (std::size_t i = 0; i < buckets; ++i) {
      append_entry(out, sparse_key(i), sparse_count(i));
    }
  }
  return out;
}

Sketch Sketch::deserialize(std::string_view bytes) {
  if (bytes.size() % entry_size != 0) {
    throw std::invalid_argument(
        fmt::format("sketch of {} bytes is not a whole number of {}-byte entries", bytes.size(), entry_size));
  }
  const std::size_t entries = bytes.size() / entry_size;
  Sketch sketch;
  if (entries == 0) {
    return sketch;
  }
  const auto check_key = [](std::size_t entry, std::int32_t key) {
    if (key < min_key || key > max_key) {
      throw std::invalid_argument(
          fmt::format("sketch entry {}: key {} is outside [{}, {}]", entry, key, min_key, max_key));
    }
  };
  const std::size_t first_bucket = read_key(bytes, 0) == zero_key ? 1 : 0;
  const std::size_t positive_keys = entries - first_bucket;
  std::int32_t low = 0;
  std::int32_t high = 0;
  if (positive_keys != 0) {
    low = read_key(bytes, first_bucket);
    high = read_key(bytes, entries - 1);
    check_key(first_bucket, low);
    check_key(entries - 1, high);
    if (high < low) {
      throw std::invalid_argument(fmt::format("sketch entry {}: key {} is below the first key {}", entries - 1,
                                              high, low));
    }
    if (positive_keys > sparse_capacity) {
      // Both ends are in range, so this allocation is bounded whatever the
      // bytes.
      sketch.buckets_.assign(static_cast<std::size_t>(std::int64_t{high} - low + 1), 0);
      sketch.offset_ = low;
      sketch.dense_ = true;
    } else {
      sketch.buckets_.reserve(2 * positive_keys);
    }
  }

  std::int64_t previous = std::int64_t{zero_key} - 1;
  for (std::size_t entry = 0; entry < entries; ++entry) {
    const std::int32_t key = read_key(bytes, entry);
    const std::uint64_t count = read_count(bytes, entry);
    if (key <= previous) {
      throw std::invalid_argument(
          fmt::format("sketch entry {}: key {} is not above the previous key {}", entry, key, previous));
    }
    previous = key;
    if (count == 0 || count > max_total) {
      throw std::invalid_argument(fmt::format("sketch entry {}: count {} is not a positive int64", entry,
                                              static_cast<std::int64_t>(count)));
    }
    if (count > max_total - sketch.count_) {
      throw std::invalid_argument(fmt::format("sketch entry {}: total count exceeds the int64 range", entry));
    }
    sketch.count_ += count;
    if (key == zero_key) {
      sketch.zero_count_ = count;
      continue;
    }
    check_key(entry, key);
    if (key > high) {
      throw std::invalid_argument(fmt::format("sketch entry {}: key {} is above the last key {} (keys are not "
                                              "ascending)", entry, key, high));
    }
    if (sketch.dense_) {
      sketch.buckets_[static_cast<std::size_t>(key - sketch.offset_)] = count;
    } else {
      sketch.buckets_.push_back(sparse_stored(key));
      sketch.buckets_.push_back(count);
    }
  }

  sketch.min_ = sketch.zero_count_ != 0 ? 0.0 : bucket_value(low);
  sketch.max_ = positive_keys == 0 ? 0.0 : bucket_value(high);
  return sketch;
}

} // namespace dm::stats
