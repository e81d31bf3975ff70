#pragma once
// The seed generator's own pseudo-random numbers. std::mt19937 is portable but
// the std::*_distribution classes are not (each standard library maps bits to
// values its own way), and a seed must give the same data set wherever it runs.
// So the bits come from xoshiro256** seeded through splitmix64, and every
// distribution is written out here. Integer draws are exact on every platform;
// draws that go through std::log/std::exp can differ in the last bit between
// maths libraries, which at worst moves a rare value across a rounding edge.

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace dm::seed {

/// The independent streams of the generator. Each (seed, stream, id) triple
/// gives its own sequence, so a user's profile, a day's requests or a host's
/// noise never depend on what else was drawn before them.
enum class Stream : std::uint64_t {
  signups = 1, ///< id: day index; the sign-up instants of that day
  profile,     ///< id: user_id; platform, country, channel, learner traits
  learning,    ///< id: user_id; the user's sessions, day after day
  payments,    ///< id: user_id; the user's subscription history
  requests,    ///< id: day index; the request samples of that day
  host,        ///< id: host index; the host's noise over the whole period
  incidents,   ///< id: 0; when and where incidents happen
};

/// splitmix64's finaliser: a bijective 64-bit mixer.
constexpr std::uint64_t mix64(std::uint64_t z) noexcept
{
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// xoshiro256** with the distributions the generator needs.
/// A value type; not thread-safe (each thread draws from its own instance).
class Random {
public:
  Random(std::uint64_t seed, Stream stream, std::uint64_t id) noexcept
  {
    constexpr std::uint64_t golden = 0x9e3779b97f4a7c15ULL;
    std::uint64_t key = mix64(seed + golden);
    key = mix64(key ^ (static_cast<std::uint64_t>(stream) * 0xd6e8feb86659fd93ULL));
    key = mix64(key ^ (id * 0xa0761d6478bd642fULL + golden));
    // splitmix64 outputs are distinct for distinct counters, so the state is never all zero.
    for (auto& word : state_) {
      key += golden;
      word = mix64(key);
    }
  }

  std::uint64_t next() noexcept
  {
    const std::uint64_t result = std::rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = std::rotl(state_[3], 45);
    return result;
  }

  /// Uniform in [0, 1), 53 bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }

  /// Uniform integer in [lo, hi] (inclusive; requires lo <= hi and a span below 2^53).
  std::int64_t between(std::int64_t lo, std::int64_t hi) noexcept
  {
    const auto span = static_cast<double>(hi - lo + 1);
    const auto k = static_cast<std::int64_t>(uniform() * span);
    return lo + (k > hi - lo ? hi - lo : k);
  }

  bool chance(double p) noexcept { return uniform() < p; }

  /// Standard normal (Marsaglia's polar method; only log and sqrt).
  double normal() noexcept
  {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u = 0, v = 0, s = 0;
    do {
      u = 2 * uniform() - 1;
      v = 2 * uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s == 0);
    const double f = std::sqrt(-2 * std::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }

  /// Exponential with the given mean (> 0).
  double exponential(double mean) noexcept { return -mean * std::log1p(-uniform()); }

  /// Log-normal with the given median and log-space standard deviation.
  double lognormal(double median, double sigma) noexcept
  {
    return median * std::exp(sigma * normal());
  }

private:
  std::uint64_t state_[4]{};
  double spare_ = 0;
  bool has_spare_ = false;
};

/// Draws an index with probability proportional to its weight.
class WeightedIndex {
public:
  /// `weights` must be non-empty, non-negative, with a positive sum.
  explicit WeightedIndex(std::span<const double> weights)
  {
    cumulative_.reserve(weights.size());
    double sum = 0;
    for (const double w : weights)
      cumulative_.push_back(sum += w);
  }

  std::size_t operator()(Random& random) const noexcept
  {
    const double x = random.uniform() * cumulative_.back();
    std::size_t lo = 0, hi = cumulative_.size() - 1;
    while (lo < hi) {
      const std::size_t mid = (lo + hi) / 2;
      if (x < cumulative_[mid])
        hi = mid;
      else
        lo = mid + 1;
    }
    return lo;
  }

  std::size_t size() const noexcept { return cumulative_.size(); }

private:
  std::vector<double> cumulative_;
};

} // namespace dm::seed
