#include "dm/cron/parse_error.hpp"
#include "dm/cron/schedule.hpp"
#include "dm/report/calendar.hpp"
#include "dm/util/error.hpp"
#include "dm/util/time.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

using dm::cron::Schedule;
using dm::util::Micros;

namespace {

Micros ts(const char* text)
{
  const auto t = dm::util::parse_rfc3339(text);
  REQUIRE(t);
  return *t;
}

/// The next `n` fire times after `after`, formatted in the schedule's zone.
std::vector<std::string> next(const std::string& expr, const std::string& tz, const char* after, std::size_t n)
{
  const Schedule s(expr, tz);
  std::vector<std::string> out;
  for (const Micros t : s.next_fire_times(ts(after), n))
    out.push_back(dm::report::format_local(t, tz));
  return out;
}

using S = std::vector<std::string>;

} // namespace

TEST_CASE("cron schedule: next fire time is strictly after the instant", "[cron]")
{
  CHECK(next("0 * * * *", "UTC", "2026-05-01T10:00:00Z", 2) ==
        S{"2026-05-01T11:00:00+00:00", "2026-05-01T12:00:00+00:00"});
  CHECK(next("0 * * * *", "UTC", "2026-05-01T09:59:59.999999Z", 1) == S{"2026-05-01T10:00:00+00:00"});
  CHECK(next("*/15 * * * *", "Asia/Kolkata", "2026-05-01T10:07:00Z", 3) ==
        S{"2026-05-01T15:45:00+05:30", "2026-05-01T16:00:00+05:30", "2026-05-01T16:15:00+05:30"});
  CHECK(next_fire_after(Schedule("@yearly", "UTC"), ts("2026-06-01T00:00:00Z")) == ts("2027-01-01T00:00:00Z"));
}

TEST_CASE("cron schedule: spring forward in Europe/Berlin (02:00 -> 03:00 on 2026-03-29)", "[cron]")
{
  SECTION("daily at 02:30 fires once at the transition instant")
  {
    CHECK(next("30 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", 3) ==
          S{"2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"});
  }
  SECTION("hourly: the skipped 02:00 and 03:00 are one instant, fired once")
  {
    CHECK(next("0 * * * *", "Europe/Berlin", "2026-03-28T23:30:00Z", 4) ==
          S{"2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00",
            "2026-03-29T05:00:00+02:00"});
  }
  SECTION("every 15 minutes: the whole gap collapses into 03:00")
  {
    CHECK(next("*/15 * * * *", "Europe/Berlin", "2026-03-29T00:40:00Z", 4) ==
          S{"2026-03-29T01:45:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:15:00+02:00",
            "2026-03-29T03:30:00+02:00"});
  }
  SECTION("asking from inside the collapsed instant moves on")
  {
    CHECK(next("*/15 * * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", 1) == S{"2026-03-29T03:15:00+02:00"});
  }
}

TEST_CASE("cron schedule: fall back in Europe/Berlin (03:00 -> 02:00 on 2026-10-25)", "[cron]")
{
  SECTION("daily at 02:30 fires once, at the first occurrence")
  {
    CHECK(next("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 2) ==
          S{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"});
  }
  SECTION("hourly: the repeated 02:00 fires once; the hour after it is two hours later")
  {
    CHECK(next("0 * * * *", "Europe/Berlin", "2026-10-24T23:30:00Z", 3) ==
          S{"2026-10-25T02:00:00+02:00", "2026-10-25T03:00:00+01:00", "2026-10-25T04:00:00+01:00"});
  }
  SECTION("asked from inside the second occurrence, the repeated times are not fired again")
  {
    CHECK(next("*/20 * * * *", "Europe/Berlin", "2026-10-25T01:05:00Z", 2) ==
          S{"2026-10-25T03:00:00+01:00", "2026-10-25T03:20:00+01:00"});
  }
  SECTION("asked from inside the first occurrence, the rest of it still fires")
  {
    CHECK(next("*/20 * * * *", "Europe/Berlin", "2026-10-25T00:05:00Z", 3) ==
          S{"2026-10-25T02:20:00+02:00", "2026-10-25T02:40:00+02:00", "2026-10-25T03:00:00+01:00"});
  }
}

TEST_CASE("cron schedule: DST in America/New_York", "[cron]")
{
  SECTION("spring forward 2026-03-08: 02:30 fires at 03:00 EDT")
  {
    CHECK(next("30 2 * * *", "America/New_York", "2026-03-06T12:00:00Z", 3) ==
          S{"2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"});
    CHECK(next("*/15 * * * *", "America/New_York", "2026-03-08T06:40:00Z", 3) ==
          S{"2026-03-08T01:45:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:15:00-04:00"});
    CHECK(next("0 * * * *", "America/New_York", "2026-03-08T05:30:00Z", 3) ==
          S{"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"});
  }
  SECTION("fall back 2026-11-01: 01:30 fires once, at the EDT occurrence")
  {
    CHECK(next("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 2) ==
          S{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"});
    CHECK(next("0 * * * *", "America/New_York", "2026-11-01T04:00:00Z", 3) ==
          S{"2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"});
    CHECK(next("*/15 * * * *", "America/New_York", "2026-11-01T05:40:00Z", 3) ==
          S{"2026-11-01T01:45:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T02:15:00-05:00"});
  }
}

TEST_CASE("cron schedule: 30-minute DST in Australia/Lord_Howe", "[cron]")
{
  // 2026-10-04: 02:00 +10:30 -> 02:30 +11:00. 2026-04-05: 02:00 +11:00 -> 01:30 +10:30.
  CHECK(next("15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00Z", 2) ==
        S{"2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"});
  CHECK(next("45 1 * * *", "Australia/Lord_Howe", "2026-04-04T12:00:00Z", 2) ==
        S{"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"});
}

TEST_CASE("cron schedule: leap days and short months", "[cron]")
{
  CHECK(next("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", 3) ==
        S{"2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00", "2036-02-29T00:00:00+00:00"});
  // 2100 is not a leap year.
  CHECK(next("0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", 1) == S{"2104-02-29T00:00:00+00:00"});
  CHECK(next("0 0 31 * *", "UTC", "2026-01-31T00:00:00Z", 4) ==
        S{"2026-03-31T00:00:00+00:00", "2026-05-31T00:00:00+00:00", "2026-07-31T00:00:00+00:00",
          "2026-08-31T00:00:00+00:00"});
  CHECK(next("@monthly", "Europe/Berlin", "2026-01-31T12:00:00Z", 3) ==
        S{"2026-02-01T00:00:00+01:00", "2026-03-01T00:00:00+01:00", "2026-04-01T00:00:00+02:00"});
}

TEST_CASE("cron schedule: day-of-month or day-of-week, Sunday as 0 or 7, names", "[cron]")
{
  // 2026-03-01 is a Sunday.
  CHECK(next("0 0 13 * FRI", "UTC", "2026-03-01T00:00:00Z", 3) ==
        S{"2026-03-06T00:00:00+00:00", "2026-03-13T00:00:00+00:00", "2026-03-20T00:00:00+00:00"});
  CHECK(next("0 0 */2 * 1", "UTC", "2026-03-01T00:00:00Z", 2) ==
        S{"2026-03-09T00:00:00+00:00", "2026-03-23T00:00:00+00:00"});
  CHECK(next("0 12 * * 7", "UTC", "2026-03-01T00:00:00Z", 1) == next("0 12 * * 0", "UTC", "2026-03-01T00:00:00Z", 1));
  CHECK(next("0 12 * * sun", "UTC", "2026-03-01T00:00:00Z", 1) == S{"2026-03-01T12:00:00+00:00"});
  CHECK(next("0 9 1 jan-mar/2 *", "UTC", "2026-01-02T00:00:00Z", 2) ==
        S{"2026-03-01T09:00:00+00:00", "2027-01-01T09:00:00+00:00"});
  CHECK(next("5/20 1-20/10 * * *", "UTC", "2026-03-01T00:00:00Z", 4) ==
        S{"2026-03-01T01:05:00+00:00", "2026-03-01T01:25:00+00:00", "2026-03-01T01:45:00+00:00",
          "2026-03-01T11:05:00+00:00"});
}

TEST_CASE("cron schedule: errors", "[cron]")
{
  CHECK_THROWS_MATCHES(Schedule("0 0 * * *", "Mars/Olympus"), dm::UsageError,
                       Catch::Message("unknown time zone 'Mars/Olympus' (see timedatectl list-timezones)"));
  CHECK_THROWS_AS(Schedule("0 0 30 2 *", "UTC"), dm::cron::ParseError);
  CHECK_THROWS_AS(Schedule("0 0 31 4,6 *", "Europe/Berlin"), dm::cron::ParseError);
}

TEST_CASE("cron schedule: sparse expressions stay cheap", "[cron]")
{
  // Loose: a next() that searched minute by minute would take seconds here.
  const Schedule s("0 0 29 2 */7", "Europe/Berlin");
  const auto start = std::chrono::steady_clock::now();
  const auto times = s.next_fire_times(ts("2026-01-01T00:00:00Z"), 10);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(times.size() == 10);
  CHECK(dm::report::format_local(times[0], "Europe/Berlin") == "2032-02-29T00:00:00+01:00");
  CHECK(elapsed < std::chrono::milliseconds(200));
}
