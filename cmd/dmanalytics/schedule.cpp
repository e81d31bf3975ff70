// dmanalytics schedule add | list | show | rm | run | enable | disable | next
//
// add, list, show, rm, run, enable and disable work on the database in this
// process (the embedded cluster unless --database says otherwise); run
// generates and delivers as a daemon's runner does; next is pure computation.

#include "args.hpp"
#include "context.hpp"

#include "dm/cron/parse_error.hpp"
#include "dm/cron/schedule.hpp"
#include "dm/report/calendar.hpp"
#include "dm/schedule/json.hpp"
#include "dm/schedule/runner.hpp"
#include "dm/schedule/store.hpp"
#include "dm/render/csv_renderer.hpp"
#include "dm/util/error.hpp"
#include "dm/util/json_text.hpp"
#include "dm/util/time.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

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

// --- schedule add | list | show | rm | enable | disable ----------------------

namespace json = boost::json;

struct AddCommand {
  std::string name, cron, tz = "UTC", type, period = "last-7d", keep, catchup = "last";
  std::vector<std::string> formats{"pdf"};
  std::vector<std::string> notify;
};

struct ListCommand {
  std::string format = "table";
};

struct ShowCommand {
  std::string id, format = "table";
};

struct IdCommand {
  std::string id;
};

std::string local_time(const std::optional<util::Micros>& t, const std::string& tz)
{
  return t ? report::format_local(*t, tz) : std::string();
}

std::string csv_field(std::string_view text)
{
  return render::csv_text_field(text);
}

void print_schedules(const std::vector<schedule::StoredSchedule>& schedules, const std::string& format)
{
  if (format == "json") {
    json::array arr;
    for (const auto& s : schedules)
      arr.push_back(schedule::schedule_json(s));
    std::cout << util::json_text(arr) << "\n";
    return;
  }
  if (format == "csv") {
    std::string out = "id,name,cron,tz,type,next_run,last_run,last_status,enabled\r\n";
    for (const auto& s : schedules)
      out += fmt::format("{},{},{},{},{},{},{},{},{}\r\n", s.id, csv_field(s.spec.name), csv_field(s.spec.cron),
                         csv_field(s.spec.tz), s.spec.report_type, local_time(s.next_run_at, s.spec.tz),
                         local_time(s.last_run_at, s.spec.tz), s.last_status, s.enabled ? "true" : "false");
    std::cout << out;
    return;
  }
  std::size_t name_width = 4, cron_width = 4, tz_width = 2;
  for (const auto& s : schedules) {
    name_width = std::max(name_width, s.spec.name.size());
    cron_width = std::max(cron_width, s.spec.cron.size());
    tz_width = std::max(tz_width, s.spec.tz.size());
  }
  auto dash = [](const std::string& text) { return text.empty() ? std::string("-") : text; };
  std::string out = fmt::format("{:>6}  {:<{}}  {:<{}}  {:<{}}  {:<11}  {:<25}  {:<25}  {:<11}  {}\n", "ID", "NAME",
                                name_width, "CRON", cron_width, "TZ", tz_width, "TYPE", "NEXT RUN", "LAST RUN",
                                "LAST STATUS", "ENABLED");
  for (const auto& s : schedules)
    out += fmt::format("{:>6}  {:<{}}  {:<{}}  {:<{}}  {:<11}  {:<25}  {:<25}  {:<11}  {}\n", s.id, s.spec.name,
                       name_width, s.spec.cron, cron_width, s.spec.tz, tz_width, s.spec.report_type,
                       dash(local_time(s.next_run_at, s.spec.tz)), dash(local_time(s.last_run_at, s.spec.tz)),
                       dash(s.last_status), s.enabled ? "yes" : "no");
  std::cout << out;
}

void print_schedule(const schedule::StoredSchedule& s)
{
  auto dash = [](const std::string& text) { return text.empty() ? std::string("-") : text; };
  auto join = [](const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items)
      out += (out.empty() ? "" : ",") + i;
    return out;
  };
  std::string out;
  out += fmt::format("id:          {}\n", s.id);
  out += fmt::format("name:        {}\n", s.spec.name);
  out += fmt::format("cron:        {}\n", s.spec.cron);
  out += fmt::format("tz:          {}\n", s.spec.tz);
  out += fmt::format("type:        {}\n", s.spec.report_type);
  out += fmt::format("period:      {}\n", s.spec.period);
  out += fmt::format("formats:     {}\n", join(s.spec.formats));
  out += fmt::format("keep:        {}\n", s.spec.keep ? std::to_string(*s.spec.keep) : std::string("-"));
  out += fmt::format("notify:      {}\n", dash(join(s.spec.notify)));
  out += fmt::format("catchup:     {}\n", s.spec.catchup);
  out += fmt::format("source:      {}\n", s.spec.source);
  out += fmt::format("enabled:     {}\n", s.enabled ? "yes" : "no");
  out += fmt::format("next run:    {}\n", dash(local_time(s.next_run_at, s.spec.tz)));
  out += fmt::format("last run:    {}\n", dash(local_time(s.last_run_at, s.spec.tz)));
  out += fmt::format("last status: {}\n", dash(s.last_status));
  out += fmt::format("last success:{}\n", s.last_success_at ? " " + local_time(s.last_success_at, s.spec.tz) : " -");
  if (s.missed_since)
    out += fmt::format("missed since:{} (no success within twice its interval)\n",
                       " " + local_time(s.missed_since, s.spec.tz));
  out += fmt::format("created:     {}\n", util::format_rfc3339_utc(s.created_at));
  std::cout << out;
}

void print_runs(const std::vector<schedule::RunRecord>& runs, const std::string& tz)
{
  if (runs.empty()) {
    std::cout << "\nno runs yet\n";
    return;
  }
  std::string out = fmt::format("\n{:>6}  {:<25}  {:<8}  {:<9}  {:<10}  {:<8}  {}\n", "RUN", "FIRE TIME", "TRIGGER",
                                "STATUS", "REPORTS", "MAIL", "ERROR");
  for (const auto& r : runs) {
    std::string reports;
    for (const auto id : r.report_ids)
      reports += (reports.empty() ? "" : ",") + std::to_string(id);
    std::string mail = r.delivery_status.empty() || r.delivery_status == "none" ? "-" : r.delivery_status;
    if (r.attempts > 1)
      mail += fmt::format(" ({}x)", r.attempts);
    out += fmt::format("{:>6}  {:<25}  {:<8}  {:<9}  {:<10}  {:<8}  {}\n", r.id, local_time(r.fire_time, tz), r.trigger,
                       r.status, reports.empty() ? "-" : reports, mail, r.error.empty() ? "-" : r.error);
  }
  std::cout << out;
}

void run_add(Context& ctx, const AddCommand& cmd)
{
  schedule::ScheduleSpec spec;
  spec.name = cmd.name;
  spec.cron = cmd.cron;
  spec.tz = cmd.tz;
  spec.report_type = cmd.type;
  spec.period = cmd.period;
  spec.formats = cmd.formats;
  spec.notify = cmd.notify;
  spec.catchup = cmd.catchup;
  if (!cmd.keep.empty()) {
    try {
      std::size_t used = 0;
      const int keep = std::stoi(cmd.keep, &used);
      if (used != cmd.keep.size())
        throw std::invalid_argument(cmd.keep);
      spec.keep = keep;
    } catch (const std::exception&) {
      throw FieldError("keep", fmt::format("keep '{}': expected a number of reports >= 1", cmd.keep));
    }
  }
  // Checked before the database is opened, so a bad value exits 2 at once.
  schedule::validate(spec);
  auto conn = ctx.connect();
  const auto s = schedule::ScheduleStore(*conn).create(spec);
  std::cout << fmt::format("{}\t{}\n", s.id, local_time(s.next_run_at, s.spec.tz));
  std::cout.flush();
  if (!ctx.quiet())
    std::cerr << fmt::format("schedule {} '{}' added: {} {} report, next run {}\n", s.id, s.spec.name, s.spec.period,
                             s.spec.report_type, local_time(s.next_run_at, s.spec.tz));
}

void check_list_format(const std::string& format, bool csv_allowed)
{
  if (format == "table" || format == "json" || (csv_allowed && format == "csv"))
    return;
  throw UsageError(fmt::format("unknown --format '{}': expected {}", format,
                               csv_allowed ? "table, csv or json" : "table or json"));
}

void run_list(Context& ctx, const ListCommand& cmd)
{
  check_list_format(cmd.format, true);
  auto conn = ctx.connect();
  print_schedules(schedule::ScheduleStore(*conn).list(), cmd.format);
}

void run_show(Context& ctx, const ShowCommand& cmd)
{
  check_list_format(cmd.format, false);
  const std::int64_t id = parse_id(cmd.id, "a schedule");
  auto conn = ctx.connect();
  const auto s = schedule::ScheduleStore(*conn).get(id);
  const auto runs = schedule::runs_of(*conn, id, 10);
  if (cmd.format == "json") {
    json::value out = schedule::schedule_json(s);
    json::array arr;
    for (const auto& r : runs)
      arr.push_back(schedule::run_json(r, s.spec.tz));
    out.as_object()["runs"] = std::move(arr);
    std::cout << util::json_text(out) << "\n";
  } else {
    print_schedule(s);
    print_runs(runs, s.spec.tz);
  }
}

void run_rm(Context& ctx, const IdCommand& cmd)
{
  const std::int64_t id = parse_id(cmd.id, "a schedule");
  auto conn = ctx.connect();
  schedule::ScheduleStore(*conn).remove(id);
  if (!ctx.quiet())
    std::cerr << fmt::format("schedule {} removed\n", id);
}

struct RunCommand {
  std::string id, format = "text";
};

void run_run(Context& ctx, const RunCommand& cmd)
{
  check_format(cmd.format, {"text", "json"});
  const std::int64_t id = parse_id(cmd.id, "a schedule");
  const config::Config& config = ctx.config();
  auto conn = ctx.connect();
  const auto claimed = schedule::claim_manual(*conn, id, util::now());
  if (!ctx.quiet())
    std::cerr << fmt::format("schedule {} '{}': run {} started ({} {} report)\n", id, claimed.schedule.spec.name,
                             claimed.run_id, claimed.schedule.spec.period, claimed.schedule.spec.report_type);
  // The run's heartbeat, so that no daemon takes it for a dead process's.
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::thread beat([&] {
    std::unique_ptr<pqxx::connection> beat_conn;
    std::unique_lock lock(mutex);
    while (!done_cv.wait_for(lock, std::chrono::seconds(10), [&] { return done; })) {
      try {
        if (!beat_conn)
          beat_conn = ctx.database().connect();
        schedule::heartbeat(*beat_conn, {claimed.run_id});
      } catch (const std::exception&) {
        beat_conn.reset();
      }
    }
  });
  schedule::RunRecord record;
  std::exception_ptr error;
  try {
    schedule::ExecuteOptions options;
    options.config = &config;
    record = schedule::execute(*conn, claimed, options);
  } catch (...) {
    error = std::current_exception();
  }
  {
    const std::lock_guard lock(mutex);
    done = true;
  }
  done_cv.notify_all();
  beat.join();
  if (error)
    std::rethrow_exception(error);
  std::string reports;
  for (const auto r : record.report_ids)
    reports += (reports.empty() ? "" : ",") + std::to_string(r);
  if (cmd.format == "json")
    std::cout << util::json_text(schedule::run_json(record, claimed.schedule.spec.tz)) << "\n";
  else
    std::cout << fmt::format("{}\t{}\t{}\n", record.id, record.status, reports);
  std::cout.flush();
  if (record.status != "succeeded")
    throw std::runtime_error(fmt::format("schedule {} run {} failed: {}", id, record.id, record.error));
  if (!ctx.quiet())
    std::cerr << fmt::format("schedule {} run {} succeeded: report {}{}\n", id, record.id, reports,
                             record.delivery_status == "sent" ? ", e-mailed" : "");
}

void run_set_enabled(Context& ctx, const IdCommand& cmd, bool enabled)
{
  const std::int64_t id = parse_id(cmd.id, "a schedule");
  auto conn = ctx.connect();
  const auto s = schedule::ScheduleStore(*conn).set_enabled(id, enabled);
  if (!ctx.quiet())
    std::cerr << (enabled ? fmt::format("schedule {} enabled, next run {}\n", id, local_time(s.next_run_at, s.spec.tz))
                          : fmt::format("schedule {} disabled\n", id));
}

void setup_add(CLI::App& schedule, Context& ctx)
{
  auto cmd = std::make_shared<AddCommand>();
  auto* add = schedule.add_subcommand(
      "add", "Add a schedule; prints its id and next fire time (RFC 3339 in its zone), separated by a tab");
  add->add_option("--name", cmd->name, "Unique name")->required()->type_name("NAME");
  add->add_option("--cron", cmd->cron, "Cron expression, as for `schedule next`; quote it")
      ->required()
      ->type_name("EXPR");
  add->add_option("--tz", cmd->tz, "IANA time zone of the expression and of the report")
      ->capture_default_str()
      ->type_name("ZONE");
  add->add_option("--type", cmd->type, "performance | engagement | learning | business")->required()->type_name("TYPE");
  add->add_option("--period", cmd->period, "today | yesterday | last-7d | last-30d | this-month | last-month")
      ->capture_default_str()
      ->type_name("PERIOD");
  add->add_option("--format", cmd->formats, "Formats generated for each run: json, csv, pdf (comma-separated)")
      ->delimiter(',')
      ->capture_default_str()
      ->type_name("F,...");
  add->add_option("--keep", cmd->keep, "Keep this schedule's newest N reports (default: only reports.keep_days)")
      ->type_name("N");
  add->add_option("--notify", cmd->notify, "E-mail the artifacts of each successful run to these addresses")
      ->delimiter(',')
      ->type_name("ADDR,...");
  add->add_option("--catchup", cmd->catchup, "After downtime: none, or last (one run for the missed window)")
      ->capture_default_str()
      ->type_name("MODE");
  add->callback(ctx.command([cmd, &ctx] { run_add(ctx, *cmd); }));

  auto list = std::make_shared<ListCommand>();
  auto* l = schedule.add_subcommand("list", "List schedules with their next run, last run and last status");
  l->add_option("--format", list->format, "table | csv | json")->capture_default_str();
  l->callback(ctx.command([list, &ctx] { run_list(ctx, *list); }));

  auto show = std::make_shared<ShowCommand>();
  auto* sh = schedule.add_subcommand("show", "Show one schedule");
  sh->add_option("ID", show->id)->required();
  sh->add_option("--format", show->format, "table | json")->capture_default_str();
  sh->callback(ctx.command([show, &ctx] { run_show(ctx, *show); }));

  auto rm = std::make_shared<IdCommand>();
  auto* r = schedule.add_subcommand("rm", "Delete a schedule and its run history (its reports are kept)");
  r->add_option("ID", rm->id)->required();
  r->callback(ctx.command([rm, &ctx] { run_rm(ctx, *rm); }));

  auto run = std::make_shared<RunCommand>();
  auto* ru = schedule.add_subcommand(
      "run", "Run a schedule now, here: generate its report, keep, e-mail; prints run id, status and report ids");
  ru->add_option("ID", run->id)->required();
  ru->add_option("--format", run->format, "text | json")->capture_default_str();
  ru->callback(ctx.command([run, &ctx] { run_run(ctx, *run); }));

  auto enable = std::make_shared<IdCommand>();
  auto* en = schedule.add_subcommand("enable", "Enable a schedule; its next run is computed from now");
  en->add_option("ID", enable->id)->required();
  en->callback(ctx.command([enable, &ctx] { run_set_enabled(ctx, *enable, true); }));

  auto disable = std::make_shared<IdCommand>();
  auto* dis = schedule.add_subcommand("disable", "Disable a schedule until it is enabled again");
  dis->add_option("ID", disable->id)->required();
  dis->callback(ctx.command([disable, &ctx] { run_set_enabled(ctx, *disable, false); }));
}

} // namespace

void setup_schedule(CLI::App& app, Context& ctx)
{
  auto* schedule = app.add_subcommand("schedule", "Report schedules (cron expressions in a time zone)");
  schedule->require_subcommand(1);

  setup_add(*schedule, ctx);

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
