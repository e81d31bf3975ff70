#include "dm/cron/expression.hpp"
#include "dm/cron/parse_error.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

using dm::cron::Expression;
using dm::cron::ParseError;

namespace {

/// The message of the ParseError parsing `text` throws; fails the test otherwise.
std::string parse_error(const std::string& text, int expected_field)
{
  try {
    (void)Expression::parse(text);
  } catch (const ParseError& e) {
    CHECK(e.field() == expected_field);
    return e.what();
  } catch (const std::exception& e) {
    FAIL("not a ParseError: " << e.what());
  }
  FAIL("no exception for '" << text << "'");
  return {};
}

template <typename Mask> std::vector<unsigned> bits(Mask mask)
{
  std::vector<unsigned> out;
  for (unsigned i = 0; i < sizeof(Mask) * 8; ++i)
    if ((static_cast<std::uint64_t>(mask) >> i) & 1u)
      out.push_back(i);
  return out;
}

using V = std::vector<unsigned>;

} // namespace

TEST_CASE("cron fields: values, lists, ranges and steps", "[cron]")
{
  const Expression e = Expression::parse("5,10-12 */6 1-30/5 * *");
  CHECK(bits(e.minutes()) == V{5, 10, 11, 12});
  CHECK(bits(e.hours()) == V{0, 6, 12, 18});
  CHECK(bits(e.days_of_month()) == V{1, 6, 11, 16, 21, 26});
  CHECK(bits(e.months()) == V{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  CHECK(bits(e.days_of_week()) == V{0, 1, 2, 3, 4, 5, 6});

  SECTION("N/STEP runs from N to the field's maximum")
  {
    CHECK(bits(Expression::parse("5/15 * * * *").minutes()) == V{5, 20, 35, 50});
    CHECK(bits(Expression::parse("0 0 * * 5/2").days_of_week()) == V{0, 5}); // Fri, Sun (7)
    CHECK(bits(Expression::parse("0 0 * * 1-7/2").days_of_week()) == V{0, 1, 3, 5});
  }
  SECTION("blanks: tabs and runs of spaces separate fields; the ends are trimmed")
  {
    CHECK(Expression::parse("  0\t12   * *  1 \n") == Expression::parse("0 12 * * 1"));
  }
  SECTION("leading zeros")
  {
    CHECK(Expression::parse("05 07 01 02 *") == Expression::parse("5 7 1 2 *"));
  }
}

TEST_CASE("cron names: months and weekdays, case-insensitive, in ranges and lists", "[cron]")
{
  CHECK(Expression::parse("0 0 1 jan,Mar,DEC *") == Expression::parse("0 0 1 1,3,12 *"));
  CHECK(Expression::parse("0 0 1 JAN-DEC/3 *") == Expression::parse("0 0 1 1,4,7,10 *"));
  CHECK(Expression::parse("0 9 * * MON-FRI") == Expression::parse("0 9 * * 1-5"));
  CHECK(Expression::parse("0 9 * * sat,sun") == Expression::parse("0 9 * * 6,0"));
}

TEST_CASE("cron Sunday is 0 or 7", "[cron]")
{
  CHECK(Expression::parse("0 0 * * 7") == Expression::parse("0 0 * * 0"));
  CHECK(Expression::parse("0 0 * * 5-7") == Expression::parse("0 0 * * 0,5,6"));
  CHECK(bits(Expression::parse("0 0 * * 7").days_of_week()) == V{0});
  CHECK(bits(Expression::parse("0 0 * * */7").days_of_week()) == V{0});
}

TEST_CASE("cron macros", "[cron]")
{
  CHECK(Expression::parse("@hourly") == Expression::parse("0 * * * *"));
  CHECK(Expression::parse("@daily") == Expression::parse("0 0 * * *"));
  CHECK(Expression::parse("@midnight") == Expression::parse("0 0 * * *"));
  CHECK(Expression::parse("@weekly") == Expression::parse("0 0 * * 0"));
  CHECK(Expression::parse("@monthly") == Expression::parse("0 0 1 * *"));
  CHECK(Expression::parse("@yearly") == Expression::parse("0 0 1 1 *"));
  CHECK(Expression::parse("@annually") == Expression::parse("0 0 1 1 *"));
  CHECK(Expression::parse(" @Daily ") == Expression::parse("0 0 * * *"));
}

TEST_CASE("cron day-of-month and day-of-week combine as in cronie", "[cron]")
{
  // 2026-03-01 is a Sunday; weekday 1 = Monday.
  SECTION("both restricted: either matches")
  {
    const Expression e = Expression::parse("0 0 1,15 * MON");
    CHECK(e.matches_day(3, 1, 0));   // the 1st, a Sunday
    CHECK(e.matches_day(3, 2, 1));   // a Monday, the 2nd
    CHECK(!e.matches_day(3, 3, 2));  // neither
    CHECK(e.matches_day(3, 15, 0));
  }
  SECTION("day-of-week *: day-of-month alone")
  {
    const Expression e = Expression::parse("0 0 1 * *");
    CHECK(e.matches_day(3, 1, 0));
    CHECK(!e.matches_day(3, 2, 1));
  }
  SECTION("day-of-month *: day-of-week alone")
  {
    const Expression e = Expression::parse("0 0 * * 1");
    CHECK(!e.matches_day(3, 1, 0));
    CHECK(e.matches_day(3, 2, 1));
  }
  SECTION("a field starting with * (*/2) makes both required")
  {
    const Expression e = Expression::parse("0 0 */2 * 1");
    CHECK(e.matches_day(3, 9, 1));   // odd day and Monday
    CHECK(!e.matches_day(3, 2, 1));  // Monday, even day
    CHECK(!e.matches_day(3, 3, 2));  // odd day, Tuesday
    const Expression w = Expression::parse("0 0 13 * */7");
    CHECK(!w.matches_day(3, 13, 5)); // the 13th, a Friday, but only Sundays
    CHECK(w.matches_day(9, 13, 0));
  }
  SECTION("1-31 does not start with *: either matches, so every day")
  {
    const Expression e = Expression::parse("0 0 1-31 * 1");
    CHECK(e.matches_day(3, 3, 2));
  }
  SECTION("the month must match in every case")
  {
    CHECK(!Expression::parse("0 0 1 2 1").matches_day(3, 2, 1));
  }
}

TEST_CASE("cron parse errors name the field", "[cron]")
{
  CHECK(parse_error("0 25 * * *", 2) == "field 2 (hour): 25 is out of range 0-23");
  CHECK(parse_error("60 * * * *", 1) == "field 1 (minute): 60 is out of range 0-59");
  CHECK(parse_error("0 0 0 * *", 3) == "field 3 (day-of-month): 0 is out of range 1-31");
  CHECK(parse_error("0 0 32 * *", 3) == "field 3 (day-of-month): 32 is out of range 1-31");
  CHECK(parse_error("0 0 * 13 *", 4) == "field 4 (month): 13 is out of range 1-12");
  CHECK(parse_error("0 0 * * 8", 5) == "field 5 (day-of-week): 8 is out of range 0-7");
  CHECK(parse_error("99999999999999999999 * * * *", 1) ==
        "field 1 (minute): 99999999999999999999 is out of range 0-59");
  CHECK(parse_error("0 20-5 * * *", 2) ==
        "field 2 (hour): range 20-5 is reversed (for a range that wraps around write 20-23,0-5)");
  CHECK(parse_error("0 0 * * FRI-MON", 5) ==
        "field 5 (day-of-week): range FRI-MON is reversed (for a range that wraps around write FRI-SAT,SUN-MON)");
  CHECK(parse_error("0 0 * NOV-FEB *", 4) ==
        "field 4 (month): range NOV-FEB is reversed (for a range that wraps around write NOV-DEC,JAN-FEB)");
  CHECK(parse_error("*/0 * * * *", 1) == "field 1 (minute): step 0 is out of range 1-59");
  CHECK(parse_error("0 */24 * * *", 2) == "field 2 (hour): step 24 is out of range 1-23");
  CHECK(parse_error("*/x * * * *", 1) == "field 1 (minute): step 'x' is not a number");
  CHECK(parse_error("*/ * * * *", 1) == "field 1 (minute): missing step after '/' in '*/'");
  CHECK(parse_error("/5 * * * *", 1) == "field 1 (minute): missing value before '/' in '/5'");
  CHECK(parse_error("0 0 * FOO *", 4) == "field 4 (month): unknown name 'FOO' (expected JAN-DEC)");
  CHECK(parse_error("0 0 * * MONDAY", 5) == "field 5 (day-of-week): unknown name 'MONDAY' (expected SUN-SAT)");
  CHECK(parse_error("0 MON * * *", 2) ==
        "field 2 (hour): 'MON' is not a number (names are allowed in month and day-of-week only)");
  CHECK(parse_error("1x * * * *", 1) == "field 1 (minute): '1x' is not a number");
  CHECK(parse_error("0 0 ? * *", 3) == "field 3 (day-of-month): '?' is not a number");
  CHECK(parse_error("0 0 L * *", 3) ==
        "field 3 (day-of-month): 'L' is not a number (names are allowed in month and day-of-week only)");
  CHECK(parse_error("0 0 * * 1#2", 5) == "field 5 (day-of-week): '1#2' is neither a number nor a name (SUN-SAT)");
  CHECK(parse_error("1,,2 * * * *", 1) == "field 1 (minute): empty item in list '1,,2'");
  CHECK(parse_error("1, * * * *", 1) == "field 1 (minute): empty item in list '1,'");
  CHECK(parse_error("0 1- * * *", 2) == "field 2 (hour): incomplete range '1-'");
  CHECK(parse_error("0 -1 * * *", 2) == "field 2 (hour): incomplete range '-1'");
  CHECK(parse_error("0 1-2-3 * * *", 2) == "field 2 (hour): '1-2-3' is not a range (expected A-B)");
  CHECK(parse_error("*-5 * * * *", 1) == "field 1 (minute): '*' is not a number");
  CHECK(parse_error("0 0 * *", 0) ==
        "expected 5 fields (minute hour day-of-month month day-of-week), got 4 in '0 0 * *'");
  CHECK(parse_error("0 0 0 * * *", 0) ==
        "expected 5 fields (minute hour day-of-month month day-of-week), got 6 in '0 0 0 * * *'");
  CHECK(parse_error("   ", 0) == "empty cron expression (expected 5 fields: minute hour day-of-month month "
                                   "day-of-week, or a macro such as @daily)");
  CHECK(parse_error("@fortnightly", 0) ==
        "unknown macro '@fortnightly' (expected @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)");
  CHECK(parse_error("@reboot", 0) == "@reboot is not supported: a schedule needs fire times (expected @hourly, "
                                     "@daily, @midnight, @weekly, @monthly, @yearly or @annually)");
}

TEST_CASE("cron expressions that can never fire are refused", "[cron]")
{
  CHECK(parse_error("0 0 30 2 *", 0) == "never fires: day-of-month '30' does not occur in month '2'");
  CHECK(parse_error("0 0 31 4,6 *", 0) == "never fires: day-of-month '31' does not occur in month '4,6'");
  CHECK(parse_error("0 0 30-31 FEB */2", 0) == "never fires: day-of-month '30-31' does not occur in month 'FEB'");
  // Possible after all: February 29, and day-of-week standing in for day-of-month.
  CHECK_NOTHROW(Expression::parse("0 0 29 2 *"));
  CHECK_NOTHROW(Expression::parse("0 0 31 4,5 *"));
  CHECK_NOTHROW(Expression::parse("0 0 30 2 MON"));
}

TEST_CASE("cron first_match_from jumps over fields on the wall clock", "[cron]")
{
  constexpr std::int64_t day = 1440;
  // 2026-01-01T00:00 as wall minutes.
  const std::int64_t jan1 = 20454 * day;
  CHECK(Expression::parse("* * * * *").first_match_from(jan1 + 7) == jan1 + 7);
  CHECK(Expression::parse("30 2 * * *").first_match_from(jan1 + 151) == jan1 + day + 150);
  CHECK(Expression::parse("0 0 1 1 *").first_match_from(jan1 + 1) == jan1 + 365 * day);
  // 2028-02-29 is day 21243.
  CHECK(Expression::parse("0 0 29 2 *").first_match_from(jan1) == 21243 * day);
  // Sparse and rare: February 29 on a Sunday (AND, as day-of-week starts with *): 2032-02-29.
  CHECK(Expression::parse("0 0 29 2 */7").first_match_from(jan1) == 22704 * day);
}
