#include "dm/util/duration.hpp"
#include "dm/util/error.hpp"

#include <catch2/catch.hpp>

using dm::util::parse_duration;
using std::chrono::seconds;

TEST_CASE("durations in seconds, minutes, hours, days and weeks", "[util][duration]")
{
  CHECK(parse_duration("90") == seconds(90));
  CHECK(parse_duration("0") == seconds(0));
  CHECK(parse_duration("90s") == seconds(90));
  CHECK(parse_duration("15m") == seconds(900));
  CHECK(parse_duration("1h") == seconds(3600));
  CHECK(parse_duration("2d") == seconds(2 * 86400));
  CHECK(parse_duration("1w") == seconds(7 * 86400));
  CHECK(parse_duration("007m") == seconds(420));
}

TEST_CASE("durations add up their parts", "[util][duration]")
{
  CHECK(parse_duration("1h30m") == seconds(5400));
  CHECK(parse_duration("1d12h") == seconds(129600));
  CHECK(parse_duration("1w2d3h4m5s") == seconds(7 * 86400 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5));
  CHECK(parse_duration("30m1h") == seconds(5400));
}

TEST_CASE("malformed durations name the value", "[util][duration]")
{
  for (const char* bad : {"", "h", "1x", "1H", "-5m", "+5m", "1.5h", "1h30", "1 h", " 1h", "1h ", "m30", "1hh", "ten"}) {
    INFO(bad);
    CHECK_THROWS_MATCHES(parse_duration(bad), dm::UsageError,
                         Catch::Matchers::Predicate<std::exception>([&](const std::exception& e) {
                           return std::string(e.what()).find(std::string("'") + bad + "'") != std::string::npos;
                         }));
  }
  CHECK_THROWS_WITH(parse_duration("1h30"), Catch::Matchers::Contains("without a unit"));
  CHECK_THROWS_WITH(parse_duration("5y"), Catch::Matchers::Contains("unknown unit 'y'"));
}

TEST_CASE("durations that overflow are refused", "[util][duration]")
{
  CHECK_THROWS_AS(parse_duration("99999999999999999999"), dm::UsageError);
  CHECK_THROWS_AS(parse_duration("9223372036854775807w"), dm::UsageError);
  CHECK_THROWS_AS(parse_duration("9223372036854775807s1s"), dm::UsageError);
  CHECK(parse_duration("9223372036854775807") == seconds(9223372036854775807));
}
