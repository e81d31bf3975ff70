#include "dm/report/calendar.hpp"
#include "dm/util/error.hpp"
#include "dm/util/time.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

using namespace dm::report;
using dm::util::Micros;

namespace {

constexpr Micros H = dm::util::micros_per_hour;
const std::optional<std::string> none;

Micros ts(const char* text)
{
  const auto t = dm::util::parse_rfc3339(text);
  REQUIRE(t);
  return *t;
}

/// The message of the dm::UsageError `f` throws; fails the test otherwise.
std::string usage_error(const std::function<void()>& f)
{
  try {
    f();
  } catch (const dm::UsageError& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("not a UsageError: " << e.what());
  }
  FAIL("no exception thrown");
  return {};
}

Period keyword(const char* name, const std::string& tz, Micros now)
{
  return resolve_period(std::string(name), none, none, tz, now);
}

Period range(const char* from, const char* to, const std::string& tz)
{
  return resolve_period(none, std::string(from), std::string(to), tz, 0);
}

void check_period(const Period& p, const char* from, const char* to)
{
  INFO("got [" << format_local(p.from, p.tz) << ", " << format_local(p.to, p.tz) << ") in " << p.tz);
  CHECK(p.from == ts(from));
  CHECK(p.to == ts(to));
}

Micros length(const LocalDay& d)
{
  return d.end - d.start;
}

} // namespace

TEST_CASE("period keywords in UTC", "[calendar]")
{
  const Micros now = ts("2026-03-15T10:00:00Z");
  check_period(keyword("today", "UTC", now), "2026-03-15T00:00:00Z", "2026-03-16T00:00:00Z");
  check_period(keyword("yesterday", "UTC", now), "2026-03-14T00:00:00Z", "2026-03-15T00:00:00Z");
  check_period(keyword("last-7d", "UTC", now), "2026-03-08T00:00:00Z", "2026-03-15T00:00:00Z");
  check_period(keyword("last-30d", "UTC", now), "2026-02-13T00:00:00Z", "2026-03-15T00:00:00Z");
  check_period(keyword("this-month", "UTC", now), "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z");
  check_period(keyword("last-month", "UTC", now), "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z");

  SECTION("the default is last-7d and the period carries the zone")
  {
    const Period p = resolve_period(none, none, none, "UTC", now);
    check_period(p, "2026-03-08T00:00:00Z", "2026-03-15T00:00:00Z");
    CHECK(p.tz == "UTC");
  }
  SECTION("now exactly at and just after midnight belongs to the new day, just before to the old")
  {
    check_period(keyword("today", "UTC", ts("2026-03-01T00:00:00Z")), "2026-03-01T00:00:00Z",
                 "2026-03-02T00:00:00Z");
    const Micros after = ts("2026-03-01T00:00:00.000001Z");
    check_period(keyword("yesterday", "UTC", after), "2026-02-28T00:00:00Z", "2026-03-01T00:00:00Z");
    check_period(keyword("last-month", "UTC", after), "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z");
    check_period(keyword("last-7d", "UTC", after - 2), "2026-02-21T00:00:00Z", "2026-02-28T00:00:00Z");
  }
  SECTION("January's last month is December of the year before")
  {
    check_period(keyword("last-month", "UTC", ts("2026-01-10T00:00:00Z")), "2025-12-01T00:00:00Z",
                 "2026-01-01T00:00:00Z");
  }
}

TEST_CASE("period keywords in Europe/Berlin just after local midnight", "[calendar]")
{
  // 00:30 on Sunday 1 February in Berlin; still 31 January in UTC.
  const Micros now = ts("2026-01-31T23:30:00Z");
  const std::string tz = "Europe/Berlin";
  check_period(keyword("today", tz, now), "2026-02-01T00:00:00+01:00", "2026-02-02T00:00:00+01:00");
  check_period(keyword("yesterday", tz, now), "2026-01-31T00:00:00+01:00", "2026-02-01T00:00:00+01:00");
  check_period(keyword("last-7d", tz, now), "2026-01-25T00:00:00+01:00", "2026-02-01T00:00:00+01:00");
  check_period(keyword("last-30d", tz, now), "2026-01-02T00:00:00+01:00", "2026-02-01T00:00:00+01:00");
  check_period(keyword("this-month", tz, now), "2026-02-01T00:00:00+01:00", "2026-03-01T00:00:00+01:00");
  check_period(keyword("last-month", tz, now), "2026-01-01T00:00:00+01:00", "2026-02-01T00:00:00+01:00");

  check_period(keyword("today", "UTC", now), "2026-01-31T00:00:00Z", "2026-02-01T00:00:00Z");
  check_period(keyword("this-month", "UTC", now), "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
}

TEST_CASE("period keywords in America/Los_Angeles", "[calendar]")
{
  const std::string tz = "America/Los_Angeles";
  SECTION("00:15 on 1 July local, already 07:15 UTC")
  {
    const Micros now = ts("2026-07-01T07:15:00Z");
    check_period(keyword("today", tz, now), "2026-07-01T00:00:00-07:00", "2026-07-02T00:00:00-07:00");
    check_period(keyword("yesterday", tz, now), "2026-06-30T00:00:00-07:00", "2026-07-01T00:00:00-07:00");
    check_period(keyword("last-7d", tz, now), "2026-06-24T00:00:00-07:00", "2026-07-01T00:00:00-07:00");
    check_period(keyword("last-30d", tz, now), "2026-06-01T00:00:00-07:00", "2026-07-01T00:00:00-07:00");
    check_period(keyword("this-month", tz, now), "2026-07-01T00:00:00-07:00", "2026-08-01T00:00:00-07:00");
    check_period(keyword("last-month", tz, now), "2026-06-01T00:00:00-07:00", "2026-07-01T00:00:00-07:00");
  }
  SECTION("23:45 on 30 June local, already 1 July in UTC")
  {
    const Micros now = ts("2026-07-01T06:45:00Z");
    check_period(keyword("today", tz, now), "2026-06-30T00:00:00-07:00", "2026-07-01T00:00:00-07:00");
    check_period(keyword("this-month", tz, now), "2026-06-01T00:00:00-07:00", "2026-07-01T00:00:00-07:00");
    check_period(keyword("last-month", tz, now), "2026-05-01T00:00:00-07:00", "2026-06-01T00:00:00-07:00");
    check_period(keyword("today", "UTC", now), "2026-07-01T00:00:00Z", "2026-07-02T00:00:00Z");
  }
  SECTION("a month and a week across the DST changes")
  {
    const Period march = keyword("this-month", tz, ts("2026-03-20T12:00:00Z"));
    check_period(march, "2026-03-01T00:00:00-08:00", "2026-04-01T00:00:00-07:00");
    CHECK(march.to - march.from == (31 * 24 - 1) * H);

    const Period week = keyword("last-7d", tz, ts("2026-11-03T20:00:00Z"));
    check_period(week, "2026-10-27T00:00:00-07:00", "2026-11-03T00:00:00-08:00");
    const auto days = local_days(week);
    REQUIRE(days.size() == 7);
    CHECK(days[5].date == "2026-11-01");
    CHECK(length(days[5]) == 25 * H);
  }
}

TEST_CASE("last-7d across the Europe/Berlin DST changes", "[calendar]")
{
  const std::string tz = "Europe/Berlin";
  SECTION("DST end: 2026-10-25 has 25 hours")
  {
    const Period p = keyword("last-7d", tz, ts("2026-10-28T12:00:00Z"));
    check_period(p, "2026-10-21T00:00:00+02:00", "2026-10-28T00:00:00+01:00");
    CHECK(p.to - p.from == 169 * H);
    const auto days = local_days(p);
    REQUIRE(days.size() == 7);
    for (std::size_t i = 0; i < days.size(); ++i) {
      INFO(days[i].date);
      CHECK(length(days[i]) == (days[i].date == "2026-10-25" ? 25 : 24) * H);
    }
    CHECK(days.front().date == "2026-10-21");
    CHECK(days[4].date == "2026-10-25");
    CHECK(days.back().date == "2026-10-27");
  }
  SECTION("DST start: 2026-03-29 has 23 hours")
  {
    const Period p = keyword("last-7d", tz, ts("2026-04-01T10:00:00Z"));
    check_period(p, "2026-03-25T00:00:00+01:00", "2026-04-01T00:00:00+02:00");
    CHECK(p.to - p.from == 167 * H);
    const auto days = local_days(p);
    REQUIRE(days.size() == 7);
    for (std::size_t i = 0; i < days.size(); ++i) {
      INFO(days[i].date);
      CHECK(length(days[i]) == (days[i].date == "2026-03-29" ? 23 : 24) * H);
    }
    CHECK(days[4].date == "2026-03-29");
  }
  SECTION("today on the change days")
  {
    const Period fall = keyword("today", tz, ts("2026-10-25T12:00:00Z"));
    CHECK(fall.to - fall.from == 25 * H);
    const Period spring = keyword("today", tz, ts("2026-03-29T12:00:00Z"));
    CHECK(spring.to - spring.from == 23 * H);
  }
}

TEST_CASE("from and to options as local dates and as timestamps", "[calendar]")
{
  SECTION("dates are local midnights; --to is exclusive")
  {
    const Period p = range("2026-03-01", "2026-04-01", "Europe/Berlin");
    check_period(p, "2026-03-01T00:00:00+01:00", "2026-04-01T00:00:00+02:00");
    CHECK(p.tz == "Europe/Berlin");
    const auto days = local_days(p);
    REQUIRE(days.size() == 31);
    CHECK(days.front().date == "2026-03-01");
    CHECK(days.back().date == "2026-03-31");
    CHECK(length(days[28]) == 23 * H);

    check_period(range("2026-11-01", "2026-11-02", "America/Los_Angeles"), "2026-11-01T00:00:00-07:00",
                 "2026-11-02T00:00:00-08:00");
    check_period(range("2026-11-01", "2026-11-02", "UTC"), "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z");
  }
  SECTION("timestamps keep their own offsets whatever the zone")
  {
    const Period p = range("2026-03-01T10:00:00+05:30", "2026-03-02T00:00:00Z", "Europe/Berlin");
    check_period(p, "2026-03-01T04:30:00Z", "2026-03-02T00:00:00Z");
    const auto days = local_days(p);
    REQUIRE(days.size() == 2);
    CHECK(days[0].date == "2026-03-01");
    CHECK(days[0].start == ts("2026-03-01T04:30:00Z"));
    CHECK(days[0].end == ts("2026-03-01T23:00:00Z"));
    CHECK(days[1].date == "2026-03-02");
    CHECK(days[1].start == ts("2026-03-01T23:00:00Z"));
    CHECK(days[1].end == ts("2026-03-02T00:00:00Z"));

    check_period(range("2026-03-01T00:00:00.5Z", "2026-03-01T00:00:01-01:00", "UTC"), "2026-03-01T00:00:00.5Z",
                 "2026-03-01T01:00:01Z");
  }
  SECTION("a date and a timestamp mixed")
  {
    check_period(range("2026-03-01", "2026-03-01T12:00:00-08:00", "America/Los_Angeles"),
                 "2026-03-01T08:00:00Z", "2026-03-01T20:00:00Z");
  }
  SECTION("a zone whose midnight does not exist starts that day at the change")
  {
    // America/Santiago moves from 00:00 -04 to 01:00 -03 on 2026-09-06.
    const Period p = range("2026-09-05", "2026-09-08", "America/Santiago");
    check_period(p, "2026-09-05T00:00:00-04:00", "2026-09-08T00:00:00-03:00");
    const auto days = local_days(p);
    REQUIRE(days.size() == 3);
    CHECK(days[1].date == "2026-09-06");
    CHECK(days[1].start == ts("2026-09-06T01:00:00-03:00"));
    CHECK(length(days[0]) == 24 * H);
    CHECK(length(days[1]) == 23 * H);
    CHECK(length(days[2]) == 24 * H);
  }
}

TEST_CASE("period errors name the flag and the value", "[calendar]")
{
  const Micros now = ts("2026-03-15T10:00:00Z");
  const std::string berlin = "Europe/Berlin";

  SECTION("unknown zone")
  {
    const std::string m = usage_error([&] { resolve_period(none, none, none, "Mars/Olympus", now); });
    CHECK(m == "--tz: unknown time zone 'Mars/Olympus' (see timedatectl list-timezones)");
    CHECK_THROWS_AS(range("2026-03-01", "2026-03-02", "europe/berlin"), dm::UsageError);
  }
  SECTION("unknown period lists the valid ones")
  {
    const std::string m = usage_error([&] { keyword("last-week", berlin, now); });
    CHECK(m == "--period: unknown period 'last-week' (valid: today, yesterday, last-7d, last-30d, this-month, "
               "last-month)");
    CHECK_THROWS_AS(keyword("", berlin, now), dm::UsageError);
    CHECK_THROWS_AS(keyword("Today", berlin, now), dm::UsageError);
  }
  SECTION("bad dates and timestamps")
  {
    CHECK_THAT(usage_error([&] { range("2026-02-30", "2026-03-02", berlin); }),
               Catch::StartsWith("--from: invalid date or timestamp '2026-02-30'"));
    CHECK_THAT(usage_error([&] { range("2026-03-01", "2026-13-01", berlin); }),
               Catch::StartsWith("--to: invalid date or timestamp '2026-13-01'"));
    for (const char* bad : {"", "yesterday", "2026-3-01", "2026-03-01T10:00:00", "2026-03-01T25:00:00Z",
                            "2026-03-01 ", "2025-02-29", "20260301"}) {
      INFO(bad);
      CHECK_THAT(usage_error([&] { range(bad, "2026-03-02", berlin); }),
                 Catch::StartsWith(std::string("--from: invalid date or timestamp '") + bad + "'"));
    }
    CHECK_NOTHROW(range("2028-02-29", "2028-03-01", berlin));
  }
  SECTION("from >= to")
  {
    CHECK_THAT(usage_error([&] { range("2026-03-01", "2026-03-01", berlin); }),
               Catch::StartsWith("--from '2026-03-01' is not before --to '2026-03-01'"));
    CHECK_THAT(usage_error([&] { range("2026-03-02", "2026-03-01", berlin); }),
               Catch::StartsWith("--from '2026-03-02' is not before --to '2026-03-01'"));
    // The same instant written two ways.
    CHECK_THROWS_AS(range("2026-03-01", "2026-02-28T23:00:00Z", berlin), dm::UsageError);
    CHECK_NOTHROW(range("2026-03-01", "2026-02-28T23:00:01Z", berlin));
  }
  SECTION("--period together with --from or --to")
  {
    const std::optional<std::string> today = "today", from = "2026-03-01", to = "2026-03-02";
    CHECK(usage_error([&] { resolve_period(today, from, to, berlin, now); }) ==
          "--period 'today' cannot be combined with --from '2026-03-01': give either --period or --from/--to");
    CHECK_THAT(usage_error([&] { resolve_period(today, none, to, berlin, now); }),
               Catch::StartsWith("--period 'today' cannot be combined with --to '2026-03-02'"));
  }
  SECTION("--from without --to and the other way round")
  {
    CHECK(usage_error([&] { resolve_period(none, std::string("2026-03-01"), none, berlin, now); }) ==
          "--from '2026-03-01' requires --to");
    CHECK(usage_error([&] { resolve_period(none, none, std::string("2026-03-02"), berlin, now); }) ==
          "--to '2026-03-02' requires --from");
  }
}

TEST_CASE("check_zone", "[calendar]")
{
  for (const char* good : {"UTC", "Etc/UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata"}) {
    INFO(good);
    CHECK_NOTHROW(check_zone(good));
  }
  CHECK(usage_error([] { check_zone("Mars/Olympus"); }) ==
        "unknown time zone 'Mars/Olympus' (see timedatectl list-timezones)");
  for (const char* bad : {"", "europe/berlin", "Europe/Berlin ", "Europe", "../../../etc/passwd", "zone.tab",
                          "posixrules", "right/UTC"}) {
    INFO(bad);
    CHECK_THAT(usage_error([&] { check_zone(bad); }),
               Catch::StartsWith(std::string("unknown time zone '") + bad + "'"));
  }
  // Every function taking a zone refuses an unknown one the same way.
  CHECK_THROWS_AS(local_days(Period{0, H, "Nope/Zone"}), dm::UsageError);
  CHECK_THROWS_AS(week_start(0, "Nope/Zone"), dm::UsageError);
  CHECK_THROWS_AS(local_date(0, "Nope/Zone"), dm::UsageError);
  CHECK_THROWS_AS(add_weeks(0, 1, "Nope/Zone"), dm::UsageError);
  CHECK_THROWS_AS(format_local(0, "Nope/Zone"), dm::UsageError);
  CHECK_THROWS_AS(whole_hour_offsets("Nope/Zone", 0, H), dm::UsageError);
}

TEST_CASE("local_days clips to the period", "[calendar]")
{
  SECTION("partial first and last days")
  {
    const auto days = local_days(Period{ts("2026-03-01T12:00:00Z"), ts("2026-03-03T06:00:00Z"), "UTC"});
    REQUIRE(days.size() == 3);
    CHECK(days[0].date == "2026-03-01");
    CHECK(days[0].start == ts("2026-03-01T12:00:00Z"));
    CHECK(days[0].end == ts("2026-03-02T00:00:00Z"));
    CHECK(days[1].date == "2026-03-02");
    CHECK(length(days[1]) == 24 * H);
    CHECK(days[2].date == "2026-03-03");
    CHECK(days[2].start == ts("2026-03-03T00:00:00Z"));
    CHECK(days[2].end == ts("2026-03-03T06:00:00Z"));
  }
  SECTION("a period ending at midnight does not include the next day")
  {
    const auto days = local_days(Period{ts("2026-03-01T00:00:00Z"), ts("2026-03-02T00:00:00Z"), "UTC"});
    REQUIRE(days.size() == 1);
    CHECK(days[0].date == "2026-03-01");
  }
  SECTION("days are local to the zone")
  {
    const auto days = local_days(Period{ts("2026-03-01T00:00:00Z"), ts("2026-03-02T00:00:00Z"), "Asia/Kolkata"});
    REQUIRE(days.size() == 2);
    CHECK(days[0].date == "2026-03-01");
    CHECK(days[0].end == ts("2026-03-01T18:30:00Z"));
    CHECK(days[1].date == "2026-03-02");
  }
  SECTION("empty and tiny periods")
  {
    const Micros t = ts("2026-03-01T12:00:00Z");
    CHECK(local_days(Period{t, t, "UTC"}).empty());
    CHECK(local_days(Period{t, t - 1, "UTC"}).empty());
    const auto one = local_days(Period{t, t + 1, "Europe/Berlin"});
    REQUIRE(one.size() == 1);
    CHECK(one[0].start == t);
    CHECK(one[0].end == t + 1);
  }
  SECTION("before the epoch")
  {
    const auto days = local_days(Period{-1, 1, "UTC"});
    REQUIRE(days.size() == 2);
    CHECK(days[0].date == "1969-12-31");
    CHECK(days[1].date == "1970-01-01");
  }
}

TEST_CASE("local_days over a leap year in Europe/Berlin", "[calendar]")
{
  const Period p = range("2028-01-01", "2029-01-01", "Europe/Berlin");
  const auto days = local_days(p);
  REQUIRE(days.size() == 366);
  CHECK(days.front().date == "2028-01-01");
  CHECK(days[59].date == "2028-02-29");
  CHECK(days.back().date == "2028-12-31");
  CHECK(days.front().start == p.from);
  CHECK(days.back().end == p.to);
  int short_days = 0, long_days = 0;
  for (std::size_t i = 0; i < days.size(); ++i) {
    if (i > 0)
      CHECK(days[i].start == days[i - 1].end);
    if (length(days[i]) == 23 * H)
      ++short_days;
    else if (length(days[i]) == 25 * H)
      ++long_days;
    else
      CHECK(length(days[i]) == 24 * H);
  }
  CHECK(short_days == 1);
  CHECK(long_days == 1);

  // A loose bound (the target is well under 1 ms) that still catches reading
  // the tz database per call; best of several runs against a busy machine.
  auto best = std::chrono::steady_clock::duration::max();
  for (int run = 0; run < 5; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto again = local_days(p);
    best = std::min(best, std::chrono::steady_clock::now() - t0);
    REQUIRE(again.size() == 366);
  }
  CHECK(best < std::chrono::milliseconds(20));
}

TEST_CASE("week_start and local_date", "[calendar]")
{
  const std::string berlin = "Europe/Berlin";
  const std::string la = "America/Los_Angeles";
  SECTION("Sunday evening belongs to the week that began the Monday before")
  {
    // Sunday 21:00 on the DST start day.
    const Micros ws = week_start(ts("2026-03-29T21:00:00+02:00"), berlin);
    CHECK(ws == ts("2026-03-23T00:00:00+01:00"));
    CHECK(local_date(ws, berlin) == "2026-03-23");

    // Sunday 20:00 in Los Angeles is already Monday in UTC.
    const Micros t = ts("2026-11-01T20:00:00-08:00");
    CHECK(week_start(t, la) == ts("2026-10-26T00:00:00-07:00"));
    CHECK(week_start(t, "UTC") == ts("2026-11-02T00:00:00Z"));
  }
  SECTION("Monday 00:30 local starts a new week, though it is still Sunday in UTC")
  {
    const Micros t = ts("2026-03-30T00:30:00+02:00");
    CHECK(week_start(t, berlin) == ts("2026-03-30T00:00:00+02:00"));
    CHECK(week_start(t, "UTC") == ts("2026-03-23T00:00:00Z"));
    CHECK(week_start(ts("2026-11-02T00:30:00-08:00"), la) == ts("2026-11-02T00:00:00-08:00"));
  }
  SECTION("Monday midnight itself, and the instant before it")
  {
    const Micros monday = ts("2026-03-30T00:00:00+02:00");
    CHECK(week_start(monday, berlin) == monday);
    CHECK(week_start(monday - 1, berlin) == ts("2026-03-23T00:00:00+01:00"));
  }
  SECTION("local_date")
  {
    const Micros t = ts("2026-01-31T23:30:00Z");
    CHECK(local_date(t, berlin) == "2026-02-01");
    CHECK(local_date(t, "UTC") == "2026-01-31");
    CHECK(local_date(t, la) == "2026-01-31");
    CHECK(local_date(-1, "UTC") == "1969-12-31");
  }
}

TEST_CASE("add_weeks stays on local Monday midnights across DST", "[calendar]")
{
  const std::string berlin = "Europe/Berlin";
  const Micros before_spring = ts("2026-03-23T00:00:00+01:00");
  const Micros after_spring = ts("2026-03-30T00:00:00+02:00");
  CHECK(add_weeks(before_spring, 0, berlin) == before_spring);
  CHECK(add_weeks(before_spring, 1, berlin) == after_spring);
  CHECK(after_spring - before_spring == 167 * H);
  CHECK(add_weeks(after_spring, -1, berlin) == before_spring);
  CHECK(add_weeks(before_spring, 31, berlin) == ts("2026-10-26T00:00:00+01:00"));
  CHECK(add_weeks(ts("2026-10-19T00:00:00+02:00"), 1, berlin) - ts("2026-10-19T00:00:00+02:00") == 169 * H);
  CHECK(add_weeks(ts("2026-03-02T00:00:00-08:00"), 1, "America/Los_Angeles") == ts("2026-03-09T00:00:00-07:00"));
  // Not a week start: counted from the Monday of its week.
  CHECK(add_weeks(ts("2026-03-25T15:00:00+01:00"), 1, berlin) == after_spring);

  const Micros base = ts("2026-01-05T00:00:00+01:00");
  Micros previous = add_weeks(base, -60, berlin);
  for (int n = -59; n <= 60; ++n) {
    const Micros w = add_weeks(base, n, berlin);
    INFO(n << ": " << format_local(w, berlin));
    CHECK(week_start(w, berlin) == w);
    CHECK(format_local(w, berlin).substr(10, 9) == "T00:00:00");
    const Micros step = w - previous;
    CHECK((step == 167 * H || step == 168 * H || step == 169 * H));
    previous = w;
  }
}

TEST_CASE("whole_hour_offsets", "[calendar]")
{
  const Micros y2026 = ts("2026-01-01T00:00:00Z");
  const Micros y2027 = ts("2027-01-01T00:00:00Z");
  CHECK(whole_hour_offsets("Europe/Berlin", y2026, y2027));
  CHECK(whole_hour_offsets("America/Los_Angeles", y2026, y2027));
  CHECK(whole_hour_offsets("UTC", y2026, y2027));
  CHECK_FALSE(whole_hour_offsets("Asia/Kolkata", y2026, y2027));
  CHECK_FALSE(whole_hour_offsets("Asia/Kolkata", y2026, y2026 + 1));
  CHECK_FALSE(whole_hour_offsets("Australia/Adelaide", y2026, y2027));
  CHECK_FALSE(whole_hour_offsets("Asia/Kathmandu", y2026, y2027));
  CHECK(whole_hour_offsets("Asia/Kolkata", y2026, y2026)); // empty range

  // Lord Howe Island: +11:00 in summer, +10:30 from April.
  CHECK(whole_hour_offsets("Australia/Lord_Howe", ts("2026-12-01T00:00:00Z"), ts("2027-02-01T00:00:00Z")));
  CHECK_FALSE(whole_hour_offsets("Australia/Lord_Howe", ts("2026-12-01T00:00:00Z"), ts("2027-05-01T00:00:00Z")));
  // The range is half-open: ending exactly at the change to +10:30 stays whole.
  const Micros change = ts("2027-04-03T15:00:00Z");
  CHECK(whole_hour_offsets("Australia/Lord_Howe", ts("2027-02-01T00:00:00Z"), change));
  CHECK_FALSE(whole_hour_offsets("Australia/Lord_Howe", ts("2027-02-01T00:00:00Z"), change + 1));

  // Berlin kept local mean time (+00:53:28) until 1893.
  CHECK_FALSE(whole_hour_offsets("Europe/Berlin", ts("1890-01-01T00:00:00Z"), ts("1900-01-01T00:00:00Z")));
}

TEST_CASE("format_local", "[calendar]")
{
  const Micros t = ts("2026-11-02T08:15:00Z");
  CHECK(format_local(t, "Europe/Berlin") == "2026-11-02T09:15:00+01:00");
  CHECK(format_local(ts("2026-07-01T08:15:00Z"), "Europe/Berlin") == "2026-07-01T10:15:00+02:00");
  CHECK(format_local(t, "America/Los_Angeles") == "2026-11-02T00:15:00-08:00");
  CHECK(format_local(ts("2026-07-01T08:15:00Z"), "America/Los_Angeles") == "2026-07-01T01:15:00-07:00");
  CHECK(format_local(t, "Asia/Kolkata") == "2026-11-02T13:45:00+05:30");
  CHECK(format_local(ts("2026-01-15T12:00:00Z"), "America/St_Johns") == "2026-01-15T08:30:00-03:30");
  CHECK(format_local(t, "UTC") == "2026-11-02T08:15:00+00:00");
  CHECK(format_local(ts("2026-11-02T08:15:00.25Z"), "Europe/Berlin") == "2026-11-02T09:15:00.250000+01:00");
  // The repeated hour of the DST end, told apart by the offset.
  CHECK(format_local(ts("2026-10-25T00:30:00Z"), "Europe/Berlin") == "2026-10-25T02:30:00+02:00");
  CHECK(format_local(ts("2026-10-25T01:30:00Z"), "Europe/Berlin") == "2026-10-25T02:30:00+01:00");
  // Local mean time is not whole minutes: UTC instead.
  CHECK(format_local(ts("1890-01-01T00:00:00Z"), "Europe/Berlin") == "1890-01-01T00:00:00Z");

  for (const char* tz : {"Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata", "UTC"})
    for (const Micros u : {t, ts("2026-03-29T01:00:00Z"), ts("2026-10-25T00:59:59.999999Z"), Micros{-1}}) {
      INFO(tz << " " << u);
      CHECK(dm::util::parse_rfc3339(format_local(u, tz)) == u);
    }
}
