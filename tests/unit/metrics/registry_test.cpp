// The Prometheus registry: exact text format, escaping, cumulative histogram
// buckets, registration rules, callback families and lock-free updates from
// many threads.

#include "dm/metrics/registry.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>

using namespace dm::metrics;

TEST_CASE("a small registry renders exactly the Prometheus text format", "[metrics][registry]")
{
  Registry r;
  // Registered out of name order: rendering sorts families by name.
  r.gauge("temperature", "Current temperature.").labels({}).set(21.5);
  auto& requests = r.counter("http_requests_total", "Requests.", {"method", "code"});
  auto& latency = r.histogram("latency_seconds", "Latency.", {}, {0.125, 1});
  r.gauge_callback("pool_in_use", "Connections in use.", {}, [] { return std::vector<Sample>{{{}, 2}}; });

  requests.labels({"POST", "500"}).inc();
  requests.labels({"GET", "200"}).inc(3);
  Histogram& h = latency.labels({});
  for (const double v : {0.0625, 0.125, 0.5, 7.0})
    h.observe(v);

  CHECK(r.render() == "# HELP http_requests_total Requests.\n"
                      "# TYPE http_requests_total counter\n"
                      "http_requests_total{method=\"GET\",code=\"200\"} 3\n"
                      "http_requests_total{method=\"POST\",code=\"500\"} 1\n"
                      "# HELP latency_seconds Latency.\n"
                      "# TYPE latency_seconds histogram\n"
                      "latency_seconds_bucket{le=\"0.125\"} 2\n"
                      "latency_seconds_bucket{le=\"1\"} 3\n"
                      "latency_seconds_bucket{le=\"+Inf\"} 4\n"
                      "latency_seconds_sum 7.6875\n"
                      "latency_seconds_count 4\n"
                      "# HELP pool_in_use Connections in use.\n"
                      "# TYPE pool_in_use gauge\n"
                      "pool_in_use 2\n"
                      "# HELP temperature Current temperature.\n"
                      "# TYPE temperature gauge\n"
                      "temperature 21.5\n");
}

TEST_CASE("label values and help text are escaped", "[metrics][registry]")
{
  Registry r;
  auto& g = r.gauge("escapes", "Help with \\ backslash\nand a \"quote\".", {"v"});
  g.labels({"back\\slash"}).set(1);
  g.labels({"quo\"te"}).set(2);
  g.labels({"new\nline"}).set(3);
  g.labels({"plain ünïcode"}).set(4);

  CHECK(r.render() == "# HELP escapes Help with \\\\ backslash\\nand a \"quote\".\n"
                      "# TYPE escapes gauge\n"
                      "escapes{v=\"back\\\\slash\"} 1\n"
                      "escapes{v=\"new\\nline\"} 3\n"
                      "escapes{v=\"plain ünïcode\"} 4\n"
                      "escapes{v=\"quo\\\"te\"} 2\n");
  CHECK(escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
}

TEST_CASE("histogram buckets are cumulative, inclusive of their bound, and labelled", "[metrics][registry]")
{
  Registry r;
  auto& family = r.histogram("duration_seconds", "Durations.", {"route"}, {1, 2, 4});
  Histogram& a = family.labels({"/a"});
  family.labels({"/b"}); // exists at zero

  a.observe(0.5); // bucket 1
  a.observe(1);   // bucket 1: upper bounds are inclusive
  a.observe(1.5); // bucket 2
  a.observe(4);   // bucket 4
  a.observe(100); // +Inf only
  a.observe(std::numeric_limits<double>::quiet_NaN()); // ignored

  const Histogram::Snapshot snap = a.snapshot();
  CHECK(snap.cumulative == std::vector<std::uint64_t>{2, 3, 4, 5});
  CHECK(snap.count == 5);
  CHECK(snap.sum == 107);

  CHECK(r.render() == "# HELP duration_seconds Durations.\n"
                      "# TYPE duration_seconds histogram\n"
                      "duration_seconds_bucket{route=\"/a\",le=\"1\"} 2\n"
                      "duration_seconds_bucket{route=\"/a\",le=\"2\"} 3\n"
                      "duration_seconds_bucket{route=\"/a\",le=\"4\"} 4\n"
                      "duration_seconds_bucket{route=\"/a\",le=\"+Inf\"} 5\n"
                      "duration_seconds_sum{route=\"/a\"} 107\n"
                      "duration_seconds_count{route=\"/a\"} 5\n"
                      "duration_seconds_bucket{route=\"/b\",le=\"1\"} 0\n"
                      "duration_seconds_bucket{route=\"/b\",le=\"2\"} 0\n"
                      "duration_seconds_bucket{route=\"/b\",le=\"4\"} 0\n"
                      "duration_seconds_bucket{route=\"/b\",le=\"+Inf\"} 0\n"
                      "duration_seconds_sum{route=\"/b\"} 0\n"
                      "duration_seconds_count{route=\"/b\"} 0\n");
}

TEST_CASE("the default buckets are those of the Prometheus clients", "[metrics][registry]")
{
  Registry r;
  auto& h = r.histogram("d_seconds", "D.").labels({});
  CHECK(h.bounds() == std::vector<double>{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10});
  const std::string text = r.render();
  for (const char* le : {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"})
    CHECK(text.find(std::string("d_seconds_bucket{le=\"") + le + "\"} 0\n") != std::string::npos);
  // A trailing +Inf given by the caller is not rendered twice.
  auto& g = r.histogram("e_seconds", "E.", {}, {1, std::numeric_limits<double>::infinity()}).labels({});
  CHECK(g.bounds() == std::vector<double>{1});
}

TEST_CASE("values are formatted as Prometheus parses them", "[metrics][registry]")
{
  CHECK(format_value(0) == "0");
  CHECK(format_value(3) == "3");
  CHECK(format_value(0.1) == "0.1");
  CHECK(format_value(-2.5) == "-2.5");
  CHECK(format_value(1e21) == "1e+21");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

TEST_CASE("counters never go down, gauges do", "[metrics][registry]")
{
  Counter c;
  c.inc();
  c.inc(2.5);
  c.inc(-10);
  c.inc(std::numeric_limits<double>::quiet_NaN());
  CHECK(c.value() == 3.5);

  Gauge g;
  g.set(10);
  g.inc();
  g.dec(4);
  CHECK(g.value() == 7);
}

TEST_CASE("registration refuses bad names, repeats and clashing sample names", "[metrics][registry]")
{
  Registry r;
  r.counter("jobs_total", "Jobs.", {"kind"});
  auto& h = r.histogram("wait_seconds", "Wait.");

  CHECK_THROWS_AS(r.counter("jobs_total", "Again."), std::invalid_argument);
  CHECK_THROWS_AS(r.gauge("jobs_total", "Again as a gauge."), std::invalid_argument);
  CHECK_THROWS_AS(r.gauge("wait_seconds_count", "Clashes with the histogram's _count."), std::invalid_argument);
  CHECK_THROWS_AS(r.gauge("9lives", "Starts with a digit."), std::invalid_argument);
  CHECK_THROWS_AS(r.gauge("has-dash", "Dash."), std::invalid_argument);
  CHECK_THROWS_AS(r.gauge("", "Empty."), std::invalid_argument);
  CHECK_THROWS_AS(r.gauge("ok_a", "Bad label.", {"bad-label"}), std::invalid_argument);
  CHECK_THROWS_AS(r.gauge("ok_b", "Reserved label.", {"__name"}), std::invalid_argument);
  CHECK_THROWS_AS(r.gauge("ok_c", "Repeated label.", {"a", "a"}), std::invalid_argument);
  CHECK_THROWS_AS(r.histogram("ok_d", "le label.", {"le"}), std::invalid_argument);
  CHECK_THROWS_AS(r.histogram("ok_e", "Unsorted.", {}, {1, 0.5}), std::invalid_argument);
  CHECK_THROWS_AS(r.histogram("ok_f", "Repeated bound.", {}, {1, 1}), std::invalid_argument);
  CHECK_THROWS_AS(r.histogram("ok_g", "NaN bound.", {}, {std::numeric_limits<double>::quiet_NaN()}),
                  std::invalid_argument);

  // A gauge may use `le`; only histograms reserve it.
  CHECK_NOTHROW(r.gauge("ok_h", "le is fine here.", {"le"}));

  auto& jobs = r.counter("tasks_total", "Tasks.", {"kind", "state"});
  CHECK_THROWS_AS(jobs.labels({"only one"}), std::invalid_argument);
  CHECK_THROWS_AS(h.labels({"unexpected"}), std::invalid_argument);

  // Nothing refused was registered: each family appears once.
  const std::string text = r.render();
  CHECK(text.find("# TYPE jobs_total counter") != std::string::npos);
  CHECK(text.find("# TYPE jobs_total gauge") == std::string::npos);
  CHECK(text.find("wait_seconds_count gauge") == std::string::npos);
  CHECK(text.find("ok_a") == std::string::npos);
}

TEST_CASE("labels() returns the same child every time", "[metrics][registry]")
{
  Registry r;
  auto& f = r.counter("hits_total", "Hits.", {"path"});
  Counter& a = f.labels({"/a"});
  for (int i = 0; i < 100; ++i)
    f.labels({"/x" + std::to_string(i)}); // grow the map around it
  CHECK(&f.labels({"/a"}) == &a);
  a.inc();
  CHECK(f.labels({"/a"}).value() == 1);
}

TEST_CASE("callback families run at each scrape", "[metrics][registry]")
{
  Registry r;
  int calls = 0;
  auto& pool = r.gauge_callback("in_use", "In use.", {"pool"}, [&calls] {
    ++calls;
    return std::vector<Sample>{{{"write"}, 1}, {{"read"}, 2}, {{"read"}, 5}, {{"a", "b"}, 9}};
  });
  // Sorted by labels, the last of a repeated label set wins, a sample with
  // the wrong number of labels is left out.
  CHECK(r.render() == "# HELP in_use In use.\n"
                      "# TYPE in_use gauge\n"
                      "in_use{pool=\"read\"} 5\n"
                      "in_use{pool=\"write\"} 1\n");
  r.render();
  CHECK(calls == 2);

  pool.set_collector([]() -> std::vector<Sample> { throw std::runtime_error("pool gone"); });
  CHECK(r.render() == "# HELP in_use In use.\n# TYPE in_use gauge\n");

  pool.set_collector({});
  CHECK(r.render() == "# HELP in_use In use.\n# TYPE in_use gauge\n");

  auto& cpu = r.counter_callback("cpu_seconds_total", "CPU.", {}, {});
  double seconds = 1.5;
  cpu.set_value_function([&seconds] { return seconds; });
  seconds = 2.25;
  CHECK(r.render().find("# TYPE cpu_seconds_total counter\ncpu_seconds_total 2.25\n") != std::string::npos);
  CHECK_THROWS_AS(pool.set_value_function([] { return 1.0; }), std::invalid_argument);
}

TEST_CASE("concurrent updates from several threads sum exactly", "[metrics][registry]")
{
  Registry r;
  auto& counters = r.counter("events_total", "Events.", {"thread_group"});
  auto& gauges = r.gauge("level", "Level.");
  auto& histograms = r.histogram("size_bytes", "Sizes.", {}, {10, 100});

  constexpr int threads = 8;
  constexpr int per_thread = 100'000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      // Lookups race with each other and with rendering; updates are lock-free.
      Counter& shared = counters.labels({"all"});
      Counter& own = counters.labels({t % 2 == 0 ? "even" : "odd"});
      Gauge& level = gauges.labels({});
      Histogram& sizes = histograms.labels({});
      for (int i = 0; i < per_thread; ++i) {
        shared.inc();
        own.inc(2);
        level.inc();
        level.dec(0.5);
        sizes.observe(i % 3 == 0 ? 5.0 : 50.0);
        if (i % 20'000 == 0)
          (void)r.render();
      }
    });
  }
  for (auto& th : pool)
    th.join();

  CHECK(counters.labels({"all"}).value() == threads * per_thread);
  CHECK(counters.labels({"even"}).value() == 2.0 * (threads / 2) * per_thread);
  CHECK(counters.labels({"odd"}).value() == 2.0 * (threads / 2) * per_thread);
  CHECK(gauges.labels({}).value() == 0.5 * threads * per_thread);

  const auto snap = histograms.labels({}).snapshot();
  const std::uint64_t small_per_thread = (per_thread + 2) / 3; // i % 3 == 0
  CHECK(snap.count == std::uint64_t{threads} * per_thread);
  CHECK(snap.cumulative[0] == threads * small_per_thread);
  CHECK(snap.cumulative[1] == std::uint64_t{threads} * per_thread);
  CHECK(snap.sum == threads * (5.0 * small_per_thread + 50.0 * (per_thread - small_per_thread)));
}
