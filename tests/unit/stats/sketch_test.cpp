#include "dm/stats/sketch.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using dm::stats::Sketch;

namespace {

/// PostgreSQL's percentile_cont over `values`, computed exactly.
double percentile_cont(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double rank = q * static_cast<double>(values.size() - 1);
  const auto first = static_cast<std::size_t>(std::floor(rank));
  const auto second = static_cast<std::size_t>(std::ceil(rank));
  return values[first] + (rank - static_cast<double>(first)) * (values[second] - values[first]);
}

/// The bound every quantile must meet: the bucket accuracy, plus rounding.
bool within_accuracy(double estimate, double exact) {
  if (exact == 0) {
    return estimate == 0;
  }
  return std::abs(estimate - exact) <= Sketch::relative_accuracy * (1 + 1e-9) * std::abs(exact);
}

Sketch sketch_of(const std::vector<double>& values) {
  Sketch sketch;
  for (const double v : values) {
    sketch.insert(v);
  }
  return sketch;
}

std::vector<double> probe_quantiles() {
  std::vector<double> qs = {0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.3333, 0.5, 0.6667, 0.75, 0.9, 0.95, 0.99, 0.999, 1};
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> any(0, 1);
  for (int i = 0; i < 50; ++i) {
    qs.push_back(any(rng));
  }
  return qs;
}

/// Checks every probed quantile of a sketch of `values`, before and after a
/// serialisation round trip, against the exact percentile_cont.
void check_quantiles(const std::vector<double>& values) {
  const Sketch sketch = sketch_of(values);
  const Sketch restored = Sketch::deserialize(sketch.serialize());
  REQUIRE(sketch.count() == values.size());
  REQUIRE(restored.count() == values.size());
  for (const double q : probe_quantiles()) {
    const double exact = percentile_cont(values, q);
    const double estimate = sketch.quantile(q);
    const double restored_estimate = restored.quantile(q);
    CAPTURE(q, exact, estimate, restored_estimate);
    CHECK(within_accuracy(estimate, exact));
    CHECK(within_accuracy(restored_estimate, exact));
  }
  CHECK(sketch.quantile(0) == *std::min_element(values.begin(), values.end()));
  CHECK(sketch.quantile(1) == *std::max_element(values.begin(), values.end()));
}

std::string bytes(std::initializer_list<unsigned> octets) {
  std::string out;
  for (const unsigned o : octets) {
    out.push_back(static_cast<char>(o));
  }
  return out;
}

/// One serialised entry.
std::string entry(std::int32_t key, std::uint64_t count) {
  const auto k = static_cast<std::uint32_t>(key);
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>(k >> shift));
  }
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>(count >> shift));
  }
  return out;
}

constexpr auto int64_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

} // namespace

TEST_CASE("Sketch keys follow ceil(log(x)/log(gamma))", "[sketch]") {
  CHECK(Sketch::key_of(1.0) == 0);
  CHECK(Sketch::key_of(1.01) == 1);
  CHECK(Sketch::key_of(0.5) == -35);
  CHECK(Sketch::key_of(1000.0) == 349);
  CHECK(Sketch::key_of(std::numeric_limits<double>::denorm_min()) == Sketch::min_key);
  CHECK(Sketch::key_of(std::numeric_limits<double>::max()) == Sketch::max_key);
  CHECK(std::isfinite(Sketch::bucket_value(Sketch::max_key)));
  CHECK(Sketch::bucket_value(Sketch::min_key) > 0);

  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> exponent(-300, 300);
  for (int i = 0; i < 10000; ++i) {
    const double x = std::pow(10.0, exponent(rng));
    const std::int32_t k = Sketch::key_of(x);
    CAPTURE(x, k);
    // The bucket (gamma^(k-1), gamma^k], up to floating-point noise.
    CHECK(std::pow(Sketch::gamma, k - 1) < x * (1 + 1e-12));
    CHECK(x <= std::pow(Sketch::gamma, k) * (1 + 1e-12));
    CHECK(within_accuracy(Sketch::bucket_value(k), x));
  }
}

TEST_CASE("Sketch quantiles match percentile_cont within 1%", "[sketch]") {
  std::mt19937_64 rng(42);

  SECTION("uniform") {
    std::uniform_real_distribution<double> dist(0, 1000);
    std::vector<double> values(20000);
    std::generate(values.begin(), values.end(), [&] { return dist(rng); });
    check_quantiles(values);
  }
  SECTION("lognormal") {
    std::lognormal_distribution<double> dist(3, 1.5);
    std::vector<double> values(20000);
    std::generate(values.begin(), values.end(), [&] { return dist(rng); });
    check_quantiles(values);
  }
  SECTION("pareto, heavy-tailed") {
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<double> values(20000);
    // Inverse transform of Pareto(x_m = 1, alpha = 1.1).
    std::generate(values.begin(), values.end(), [&] { return std::pow(1 - u(rng), -1 / 1.1); });
    check_quantiles(values);
  }
  SECTION("constant values are exact") {
    const std::vector<double> values(1000, 42.5);
    check_quantiles(values);
    const Sketch sketch = sketch_of(values);
    for (const double q : probe_quantiles()) {
      CHECK(sketch.quantile(q) == 42.5);
    }
  }
  SECTION("all zeros") {
    const std::vector<double> values(500, 0.0);
    check_quantiles(values);
    const Sketch sketch = sketch_of(values);
    CHECK(sketch.zero_count() == 500);
    CHECK(Sketch::deserialize(sketch.serialize()).quantile(0.5) == 0);
  }
  SECTION("zeros mixed with positives") {
    std::uniform_real_distribution<double> u(0, 1);
    std::exponential_distribution<double> dist(0.01);
    std::vector<double> values(10000);
    std::generate(values.begin(), values.end(), [&] { return u(rng) < 0.3 ? 0.0 : dist(rng); });
    check_quantiles(values);
  }
  SECTION("a single value") {
    check_quantiles({123.456});
    const Sketch sketch = sketch_of({123.456});
    CHECK(sketch.quantile(0.37) == 123.456);
  }
  SECTION("two values far apart interpolate") {
    check_quantiles({1.0, 1e6});
    const Sketch sketch = sketch_of({1e6, 1.0});
    // Ranks 0 and n-1 are the exact min and max, so this is exact.
    CHECK(sketch.quantile(0.5) == 1.0 + 0.5 * (1e6 - 1.0));
    CHECK(sketch.quantile(0.25) == 1.0 + 0.25 * (1e6 - 1.0));
  }
  SECTION("values spanning 1e-3 to 1e6") {
    std::uniform_real_distribution<double> exponent(-3, 6);
    std::vector<double> values(20000);
    std::generate(values.begin(), values.end(), [&] { return std::pow(10.0, exponent(rng)); });
    check_quantiles(values);
  }
  SECTION("very small n") {
    std::lognormal_distribution<double> dist(2, 2);
    for (std::size_t n = 1; n <= 6; ++n) {
      for (int round = 0; round < 20; ++round) {
        std::vector<double> values(n);
        std::generate(values.begin(), values.end(), [&] { return dist(rng); });
        CAPTURE(n, round);
        check_quantiles(values);
      }
    }
  }
  SECTION("the extremes of double") {
    check_quantiles({std::numeric_limits<double>::denorm_min(), 1.0, std::numeric_limits<double>::max()});
  }
}

TEST_CASE("Sketch quantile(0) and quantile(1) are the exact min and max", "[sketch]") {
  const Sketch sketch = sketch_of({3.3, 0.017, 250.25, 7.0, 1000.5});
  CHECK(sketch.min() == 0.017);
  CHECK(sketch.max() == 1000.5);
  CHECK(sketch.quantile(0) == 0.017);
  CHECK(sketch.quantile(1) == 1000.5);
}

TEST_CASE("Sketch merge equals inserting everything into one sketch", "[sketch]") {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> dist(4, 2);
  std::uniform_int_distribution<std::size_t> part(0, 9);
  std::vector<double> values(30000);
  std::generate(values.begin(), values.end(), [&] { return dist(rng) < 1 ? 0.0 : dist(rng); });

  const Sketch whole = sketch_of(values);
  std::vector<Sketch> parts(10);
  for (const double v : values) {
    parts[part(rng)].insert(v);
  }
  Sketch merged;
  for (const Sketch& p : parts) {
    merged.merge(p);
  }
  CHECK(merged.count() == whole.count());
  CHECK(merged.zero_count() == whole.zero_count());
  CHECK(merged.min() == whole.min());
  CHECK(merged.max() == whole.max());
  CHECK(merged.serialize() == whole.serialize());
  for (const double q : probe_quantiles()) {
    CHECK(merged.quantile(q) == whole.quantile(q));
  }

  // Merging deserialised parts gives the same buckets.
  Sketch from_bytes;
  for (const Sketch& p : parts) {
    from_bytes.merge(Sketch::deserialize(p.serialize()));
  }
  CHECK(from_bytes.serialize() == whole.serialize());
}

TEST_CASE("Sketch merge grows both ways and handles empty sides", "[sketch]") {
  Sketch low = sketch_of({0.001, 0.002});
  const Sketch high = sketch_of({1e5, 2e5, 0.0});
  Sketch empty;

  low.merge(empty);
  CHECK(low.count() == 2);
  empty.merge(high);
  CHECK(empty.serialize() == high.serialize());
  CHECK(empty.min() == 0);
  CHECK(empty.max() == 2e5);

  low.merge(high);
  CHECK(low.serialize() == sketch_of({0.001, 0.002, 1e5, 2e5, 0.0}).serialize());
  CHECK(low.min() == 0);
  CHECK(low.max() == 2e5);

  Sketch high_first = high;
  high_first.merge(sketch_of({0.001, 0.002}));
  CHECK(high_first.serialize() == low.serialize());
}

TEST_CASE("Sketch merged into itself doubles every count", "[sketch]") {
  Sketch sketch = sketch_of({0.0, 1.0, 5.0, 5.0, 900.0});
  sketch.merge(sketch);
  Sketch twice = sketch_of({0.0, 1.0, 5.0, 5.0, 900.0});
  twice.merge(sketch_of({0.0, 1.0, 5.0, 5.0, 900.0}));
  CHECK(sketch.count() == 10);
  CHECK(sketch.serialize() == twice.serialize());
}

TEST_CASE("Sketch insert with a count equals repeated inserts", "[sketch]") {
  Sketch repeated;
  for (int i = 0; i < 7; ++i) {
    repeated.insert(12.5);
    repeated.insert(0.0);
  }
  Sketch counted;
  counted.insert(12.5, 7);
  counted.insert(0.0, 7);
  counted.insert(99.0, 0);
  CHECK(counted.count() == 14);
  CHECK(counted.serialize() == repeated.serialize());
  CHECK(counted.max() == 12.5);
}

TEST_CASE("Sketch serialised form", "[sketch]") {
  Sketch sketch;
  sketch.insert(1.01); // key 1
  sketch.insert(0.0);
  sketch.insert(0.5); // key -35
  sketch.insert(0.0);
  CHECK(sketch.serialize() == bytes({0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,       //
                                     0xff, 0xff, 0xff, 0xdd, 0, 0, 0, 0, 0, 0, 0, 1, //
                                     0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}));
  CHECK(Sketch().serialize().empty());
  CHECK(Sketch::deserialize("").empty());

  const Sketch big = [] {
    Sketch s;
    s.insert(1.0, 0x0102030405060708ULL);
    return s;
  }();
  CHECK(big.serialize() == bytes({0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST_CASE("Sketch round-trips through its serialised form", "[sketch]") {
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> dist(1, 3);
  Sketch sketch;
  for (int i = 0; i < 5000; ++i) {
    sketch.insert(i % 10 == 0 ? 0.0 : dist(rng));
  }
  const std::string serialized = sketch.serialize();
  CHECK(serialized.size() % Sketch::entry_size == 0);
  const Sketch restored = Sketch::deserialize(serialized);
  CHECK(restored.count() == sketch.count());
  CHECK(restored.zero_count() == sketch.zero_count());
  CHECK(restored.serialize() == serialized);
  // min and max are not serialised: the restored ones are bucket estimates.
  CHECK(restored.min() == 0);
  CHECK(within_accuracy(restored.max(), sketch.max()));

  const Sketch positives = sketch_of({0.25, 4.0, 1e4});
  const Sketch restored_positives = Sketch::deserialize(positives.serialize());
  CHECK(restored_positives.min() == Sketch::bucket_value(Sketch::key_of(0.25)));
  CHECK(restored_positives.max() == Sketch::bucket_value(Sketch::key_of(1e4)));
  CHECK(within_accuracy(restored_positives.min(), 0.25));
}

TEST_CASE("Sketch rejects malformed serialised forms", "[sketch]") {
  const std::string one = entry(5, 1);
  const auto rejected = [](const std::string& input) {
    CAPTURE(input.size());
    CHECK_THROWS_AS(Sketch::deserialize(input), std::invalid_argument);
  };
  rejected(one.substr(0, 11));
  rejected(one + "x");
  rejected(one + one);                                         // duplicate key
  rejected(entry(6, 1) + entry(5, 1));                         // descending
  rejected(entry(1, 1) + entry(9, 1) + entry(5, 1));           // out of order in the middle
  rejected(entry(5, 1) + entry(Sketch::zero_key, 1));          // zero count not first
  rejected(entry(Sketch::zero_key, 1) + entry(Sketch::zero_key, 2));
  rejected(entry(5, 0));                                       // zero count
  rejected(entry(5, std::uint64_t{1} << 63));                  // negative as int64
  rejected(entry(Sketch::max_key + 1, 1));
  rejected(entry(Sketch::min_key - 1, 1));
  rejected(entry(std::numeric_limits<std::int32_t>::max(), 1));
  rejected(entry(1, int64_max) + entry(2, 1));                 // total beyond int64
  CHECK_THROWS_WITH(Sketch::deserialize(one + "x"), Catch::Contains("13 bytes"));
  CHECK_THROWS_WITH(Sketch::deserialize(entry(6, 1) + entry(5, 1)), Catch::Contains("entry 1"));

  const Sketch edges = Sketch::deserialize(entry(Sketch::zero_key, 3) + entry(Sketch::min_key, 1) +
                                           entry(Sketch::max_key, int64_max - 4));
  CHECK(edges.count() == int64_max);
  CHECK(std::isfinite(edges.max()));
}

TEST_CASE("Sketch rejects negative, NaN and infinite values", "[sketch]") {
  Sketch sketch = sketch_of({1.0, 2.0});
  const std::string before = sketch.serialize();
  CHECK_THROWS_AS(sketch.insert(-1.5), std::invalid_argument);
  CHECK_THROWS_WITH(sketch.insert(-1.5), Catch::Contains("-1.5"));
  CHECK_THROWS_AS(sketch.insert(-std::numeric_limits<double>::denorm_min()), std::invalid_argument);
  CHECK_THROWS_WITH(sketch.insert(std::numeric_limits<double>::quiet_NaN()), Catch::Contains("nan"));
  CHECK_THROWS_WITH(sketch.insert(std::numeric_limits<double>::infinity()), Catch::Contains("inf"));
  CHECK_THROWS_AS(sketch.insert(-std::numeric_limits<double>::infinity(), 3), std::invalid_argument);
  CHECK_THROWS_AS(sketch.insert(-2.0, 0), std::invalid_argument);
  CHECK(sketch.count() == 2);
  CHECK(sketch.serialize() == before);
}

TEST_CASE("Sketch counts negative zero as zero", "[sketch]") {
  const Sketch sketch = sketch_of({-0.0, 3.0});
  CHECK(sketch.zero_count() == 1);
  CHECK(sketch.min() == 0);
  CHECK_FALSE(std::signbit(sketch.min()));
}

TEST_CASE("Sketch empty and out-of-range queries throw", "[sketch]") {
  Sketch sketch;
  CHECK(sketch.empty());
  CHECK(sketch.count() == 0);
  CHECK_THROWS_AS(sketch.quantile(0.5), std::logic_error);
  CHECK_THROWS_AS(sketch.min(), std::logic_error);
  CHECK_THROWS_AS(sketch.max(), std::logic_error);

  sketch.insert(4.0);
  CHECK_THROWS_AS(sketch.quantile(-0.01), std::invalid_argument);
  CHECK_THROWS_AS(sketch.quantile(1.01), std::invalid_argument);
  CHECK_THROWS_AS(sketch.quantile(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
}

TEST_CASE("Sketch refuses a total count beyond int64", "[sketch]") {
  Sketch sketch;
  sketch.insert(1.0, int64_max);
  CHECK_THROWS_AS(sketch.insert(2.0), std::overflow_error);
  CHECK_THROWS_AS(sketch.insert(0.0), std::overflow_error);
  CHECK_THROWS_AS(sketch.merge(sketch_of({3.0})), std::overflow_error);
  CHECK(sketch.count() == int64_max);
  CHECK(sketch.serialize() == entry(0, int64_max));
  CHECK_THROWS_AS(Sketch().insert(1.0, int64_max + 1), std::overflow_error);
}

TEST_CASE("Sketch clear forgets every value", "[sketch]") {
  Sketch sketch = sketch_of({0.0, 1.0, 1e3});
  sketch.clear();
  CHECK(sketch.empty());
  CHECK(sketch.zero_count() == 0);
  CHECK(sketch.serialize().empty());
  CHECK_THROWS_AS(sketch.min(), std::logic_error);
  sketch.insert(7.0);
  CHECK(sketch.min() == 7.0);
  CHECK(sketch.max() == 7.0);
  CHECK(sketch.serialize() == sketch_of({7.0}).serialize());
}

namespace {

/// Values whose keys all differ: 1.5^i for i in [first, first + n).
std::vector<double> distinct_keys(std::size_t n, int first = 0) {
  std::vector<double> values;
  for (std::size_t i = 0; i < n; ++i) {
    values.push_back(std::pow(1.5, first + static_cast<int>(i)));
  }
  return values;
}

/// An empty sketch in the dense form: filled beyond the sparse capacity, then
/// cleared, which keeps the form.
Sketch empty_dense() {
  Sketch sketch = sketch_of(distinct_keys(Sketch::sparse_capacity + 1));
  sketch.clear();
  return sketch;
}

Sketch dense_of(const std::vector<double>& values) {
  Sketch sketch = empty_dense();
  for (const double v : values) {
    sketch.insert(v);
  }
  return sketch;
}

/// Checks that two sketches give the same answers to every query, exactly.
void check_same(const Sketch& a, const Sketch& b) {
  REQUIRE(a.count() == b.count());
  CHECK(a.zero_count() == b.zero_count());
  CHECK(a.serialize() == b.serialize());
  if (a.empty()) {
    return;
  }
  CHECK(a.min() == b.min());
  CHECK(a.max() == b.max());
  for (const double q : probe_quantiles()) {
    CAPTURE(q);
    CHECK(a.quantile(q) == b.quantile(q));
  }
}

} // namespace

TEST_CASE("Sketch holding few values is small", "[sketch]") {
  CHECK(sizeof(Sketch) <= 64);

  const Sketch empty;
  CHECK_FALSE(empty.is_dense());
  CHECK(empty.heap_bytes() == 0);

  Sketch zeros;
  zeros.insert(0.0, 1000);
  CHECK(zeros.heap_bytes() == 0);

  const Sketch one = sketch_of({1000.0});
  CHECK_FALSE(one.is_dense());
  CHECK(one.heap_bytes() > 0);
  CHECK(one.heap_bytes() <= 32);

  // Keys -151 to 521: a dense vector would span about 670 slots (5 KB).
  const std::vector<double> far_apart = {0.05, 1.0, 7.0, 1000.0, 30000.0};
  const Sketch five = sketch_of(far_apart);
  CHECK_FALSE(five.is_dense());
  CHECK(five.heap_bytes() < 256);
  const Sketch restored = Sketch::deserialize(five.serialize());
  CHECK_FALSE(restored.is_dense());
  CHECK(restored.heap_bytes() < 256);
  CHECK(restored.serialize() == five.serialize());

  CHECK(sketch_of(distinct_keys(Sketch::sparse_capacity)).heap_bytes() <= 16 * Sketch::sparse_capacity);
}

TEST_CASE("Sketch gives the same results in the sparse and the dense form", "[sketch]") {
  std::mt19937_64 rng(17);
  std::lognormal_distribution<double> dist(3, 2);
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<std::size_t> size(1, Sketch::sparse_capacity);
  for (int round = 0; round < 300; ++round) {
    // At most sparse_capacity values, so at most that many keys.
    std::vector<double> values(size(rng));
    std::generate(values.begin(), values.end(), [&] {
      const double p = u(rng);
      return p < 0.1 ? 0.0 : p < 0.3 ? 12.5 : dist(rng);
    });
    CAPTURE(round, values.size());
    const Sketch sparse = sketch_of(values);
    const Sketch dense = dense_of(values);
    REQUIRE_FALSE(sparse.is_dense());
    REQUIRE(dense.is_dense());
    check_same(sparse, dense);

    const Sketch sparse_restored = Sketch::deserialize(sparse.serialize());
    const Sketch dense_restored = Sketch::deserialize(dense.serialize());
    CHECK_FALSE(sparse_restored.is_dense());
    check_same(sparse_restored, dense_restored);

    Sketch counted;
    Sketch counted_dense = empty_dense();
    for (const double v : values) {
      counted.insert(v, 3);
      counted_dense.insert(v, 3);
    }
    CHECK_FALSE(counted.is_dense());
    check_same(counted, counted_dense);
  }
}

TEST_CASE("Sketch turns dense on insert beyond the sparse capacity", "[sketch]") {
  const std::vector<double> values = distinct_keys(Sketch::sparse_capacity + 1);
  Sketch sketch;
  Sketch reference = empty_dense();
  // Inserted from both ends towards the middle, so new keys land first, last
  // and in between.
  for (std::size_t i = 0; i < Sketch::sparse_capacity; ++i) {
    const double v = values[i % 2 == 0 ? i / 2 : Sketch::sparse_capacity - 1 - i / 2];
    sketch.insert(v);
    reference.insert(v);
    CHECK_FALSE(sketch.is_dense());
  }
  check_same(sketch, reference);

  // Further values of keys already held, and zeros, keep the form.
  sketch.insert(values[0], 5);
  reference.insert(values[0], 5);
  sketch.insert(values[Sketch::sparse_capacity - 1]);
  reference.insert(values[Sketch::sparse_capacity - 1]);
  sketch.insert(0.0);
  reference.insert(0.0);
  CHECK_FALSE(sketch.is_dense());
  check_same(sketch, reference);

  SECTION("by insert(value)") {
    sketch.insert(values[Sketch::sparse_capacity]);
    reference.insert(values[Sketch::sparse_capacity]);
  }
  SECTION("by insert(value, count)") {
    sketch.insert(values[Sketch::sparse_capacity], 4);
    reference.insert(values[Sketch::sparse_capacity], 4);
  }
  SECTION("by a key below every other") {
    sketch.insert(0.001);
    reference.insert(0.001);
  }
  CHECK(sketch.is_dense());
  check_same(sketch, reference);

  // The dense form keeps growing both ways, and stays dense when cleared.
  sketch.insert(1e-6);
  reference.insert(1e-6);
  sketch.insert(1e9);
  reference.insert(1e9);
  check_same(sketch, reference);
  sketch.clear();
  CHECK(sketch.is_dense());
  CHECK(sketch.serialize().empty());
}

TEST_CASE("Sketch merge across the forms and the sparse capacity", "[sketch]") {
  const std::size_t half = Sketch::sparse_capacity / 2;
  // Keys interleaved: a holds the even ones, b the odd ones.
  std::vector<double> a_values;
  std::vector<double> b_values;
  for (std::size_t i = 0; i < 2 * half; ++i) {
    (i % 2 == 0 ? a_values : b_values).push_back(std::pow(1.5, static_cast<int>(i)));
  }
  a_values.push_back(0.0);
  b_values.push_back(a_values[3]); // a key both hold
  std::vector<double> all = a_values;
  all.insert(all.end(), b_values.begin(), b_values.end());

  SECTION("sparse + sparse up to the capacity stays sparse") {
    Sketch merged = sketch_of(a_values);
    merged.merge(sketch_of(b_values));
    CHECK_FALSE(merged.is_dense());
    check_same(merged, dense_of(all));

    Sketch other_way = sketch_of(b_values);
    other_way.merge(sketch_of(a_values));
    CHECK_FALSE(other_way.is_dense());
    check_same(other_way, merged);

    // Keys all below, then all above, the ones held.
    Sketch low_high = sketch_of(distinct_keys(half, 100));
    low_high.merge(sketch_of(distinct_keys(half, 0)));
    low_high.merge(sketch_of({0.0}));
    CHECK_FALSE(low_high.is_dense());
    std::vector<double> expected = distinct_keys(half, 0);
    const std::vector<double> high = distinct_keys(half, 100);
    expected.insert(expected.end(), high.begin(), high.end());
    expected.push_back(0.0);
    check_same(low_high, dense_of(expected));
  }
  SECTION("sparse + sparse beyond the capacity turns dense") {
    Sketch merged = sketch_of(a_values);
    const std::vector<double> extra = {a_values[0], 1e-3, 1e7};
    std::vector<double> b_more = b_values;
    b_more.insert(b_more.end(), extra.begin(), extra.end());
    merged.merge(sketch_of(b_more));
    CHECK(merged.is_dense());
    std::vector<double> everything = all;
    everything.insert(everything.end(), extra.begin(), extra.end());
    check_same(merged, dense_of(everything));
  }
  SECTION("sparse + dense and dense + sparse") {
    Sketch sparse_first = sketch_of(a_values);
    sparse_first.merge(dense_of(b_values));
    CHECK(sparse_first.is_dense());
    check_same(sparse_first, dense_of(all));

    Sketch dense_first = dense_of(a_values);
    dense_first.merge(sketch_of(b_values));
    CHECK(dense_first.is_dense());
    check_same(dense_first, sparse_first);

    // The sparse side's keys outside the dense side's range grow it.
    Sketch wide = dense_of({10.0});
    wide.merge(sketch_of({1e-4, 1e8}));
    check_same(wide, dense_of({10.0, 1e-4, 1e8}));
  }
  SECTION("sparse + dense holding no positive values") {
    Sketch sketch = sketch_of(a_values);
    Sketch zeros = empty_dense();
    zeros.insert(0.0, 2);
    sketch.merge(zeros);
    CHECK_FALSE(sketch.is_dense());
    std::vector<double> expected = a_values;
    expected.insert(expected.end(), {0.0, 0.0});
    check_same(sketch, dense_of(expected));
  }
  SECTION("a sparse sketch merged into itself") {
    Sketch sketch = sketch_of(a_values);
    sketch.merge(sketch);
    Sketch twice = dense_of(a_values);
    twice.merge(dense_of(a_values));
    CHECK_FALSE(sketch.is_dense());
    check_same(sketch, twice);
  }
}

TEST_CASE("Sketch deserialize picks the form by the number of keys", "[sketch]") {
  const Sketch at_capacity = sketch_of(distinct_keys(Sketch::sparse_capacity));
  const Sketch beyond = sketch_of(distinct_keys(Sketch::sparse_capacity + 1));
  Sketch with_zero = at_capacity;
  with_zero.insert(0.0);

  CHECK_FALSE(Sketch::deserialize(at_capacity.serialize()).is_dense());
  CHECK_FALSE(Sketch::deserialize(with_zero.serialize()).is_dense());
  CHECK(Sketch::deserialize(beyond.serialize()).is_dense());
  // The same buckets, min and max in the dense form answer alike.
  const Sketch restored = Sketch::deserialize(with_zero.serialize());
  Sketch restored_dense = empty_dense();
  restored_dense.merge(restored);
  REQUIRE(restored_dense.is_dense());
  check_same(restored, restored_dense);
  CHECK(Sketch::deserialize(beyond.serialize()).serialize() == beyond.serialize());

  // A sparse sketch rejects what a dense one does, with the same message.
  CHECK_THROWS_WITH(Sketch::deserialize(entry(1, 1) + entry(9, 1) + entry(5, 1)),
                    Catch::Contains("entry 1") && Catch::Contains("above the last key"));
}

TEST_CASE("Sketch merge of many deserialised small sketches equals one sketch", "[sketch]") {
  std::mt19937_64 rng(23);
  std::lognormal_distribution<double> dist(3, 1.5);
  std::uniform_int_distribution<std::size_t> size(1, 5);
  std::vector<double> all;
  Sketch merged;
  for (int part = 0; part < 2000; ++part) {
    std::vector<double> values(size(rng));
    std::generate(values.begin(), values.end(), [&] { return dist(rng) < 2 ? 0.0 : dist(rng); });
    all.insert(all.end(), values.begin(), values.end());
    const Sketch restored = Sketch::deserialize(sketch_of(values).serialize());
    CHECK_FALSE(restored.is_dense());
    merged.merge(restored);
  }
  const Sketch whole = sketch_of(all);
  CHECK(merged.count() == whole.count());
  CHECK(merged.zero_count() == whole.zero_count());
  CHECK(merged.serialize() == whole.serialize());
}
