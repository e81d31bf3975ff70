// dmanalytics schedule next EXPR [--tz Z] [-n N] [--after INSTANT]

#include "context.hpp"

#include "dm/cron/parse_error.hpp"
#include "dm/cron/schedule.hpp"
#include "dm/report/calendar.hpp"
#include "dm/util/error.hpp"
#include "dm/util/time.hpp"

#include <fmt/format.h>

#include <exception>
#include <iostream>
#include <memory>
#include <string>

namespace dm::cli {

namespace {

struct NextCommand {
  std::string expression;
  std::string tz = "UTC";
  int count = 5;
  std::string after;
};

void run_next(const NextCommand& cmd)
{
  util::Micros after = util::now();
  if (!cmd.after.empty()) {
    const auto parsed = util::parse_rfc3339(cmd.after);
    if (!parsed)
      throw UsageError(fmt::format("--after '{}': invalid timestamp (expected RFC 3339 with an offset, such as "
                                   "2026-11-02T09:15:00+01:00)",
                                   cmd.after));
    after = *parsed;
  }
  try {
    report::check_zone(cmd.tz);
  } catch (const UsageError& e) {
    throw UsageError(std::string("--tz: ") + e.what());
  }
  std::unique_ptr<cron::Schedule> schedule;
  try {
    schedule = std::make_unique<cron::Schedule>(cmd.expression, cmd.tz);
  } catch (const cron::ParseError&) {
    std::throw_with_nested(UsageError(fmt::format("cron expression '{}'", cmd.expression)));
  }
  const std::vector<util::Micros> times = schedule->next_fire_times(after, static_cast<std::size_t>(cmd.count));
  std::string out;
  for (const util::Micros t : times) {
    out += report::format_local(t, cmd.tz);
    out += '\n';
  }
  std::cout << out;
  std::cout.flush();
  if (times.size() < static_cast<std::size_t>(cmd.count))
    throw std::runtime_error(fmt::format("'{}' has only {} fire times before the year 10000", cmd.expression,
                                         times.size()));
}

} // namespace

void setup_schedule(CLI::App& app, Context& ctx)
{
  auto* schedule = app.add_subcommand("schedule", "Report schedules (cron expressions in a time zone)");
  schedule->require_subcommand(1);

  auto cmd = std::make_shared<NextCommand>();
  auto* next = schedule->add_subcommand(
      "next", "Print the next fire times of a cron expression, one RFC 3339 timestamp with the zone's offset per line");
  next->add_option("EXPR", cmd->expression,
                   "Five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, "
                   "@monthly, @yearly; quote it")
      ->required();
  next->add_option("--tz", cmd->tz, "IANA time zone the expression is read in")
      ->capture_default_str()
      ->type_name("ZONE");
  next->add_option("-n,--count", cmd->count, "How many fire times")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000))
      ->type_name("N");
  next->add_option("--after", cmd->after, "Print fire times strictly after this RFC 3339 instant (default now)")
      ->type_name("INSTANT");
  next->callback(ctx.command([cmd] { run_next(*cmd); }));
}

} // namespace dm::cli
