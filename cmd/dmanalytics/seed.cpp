// dmanalytics seed [--users N] [--days D] [--seed S] [--end DATE]
// dmanalytics demo

#include "context.hpp"
#include "progress.hpp"

#include "dm/report/calendar.hpp"
#include "dm/seed/seed_database.hpp"
#include "dm/util/error.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

namespace dm::cli {

namespace {

struct SeedCommand {
  int users = 2000;
  int days = 90;
  std::uint64_t seed = 1;
  std::string end;
};

seed::SeedOptions seed_options(const SeedCommand& cmd)
{
  seed::SeedOptions o;
  o.users = cmd.users;
  o.days = cmd.days;
  o.seed = cmd.seed;
  if (!cmd.end.empty()) {
    const auto end = util::parse_date_or_timestamp(cmd.end);
    if (!end || cmd.end.size() != 10)
      throw UsageError(fmt::format("--end '{}': expected a date such as 2026-11-01", cmd.end));
    o.end = *end;
  }
  if (cmd.users < 1)
    throw UsageError(fmt::format("--users {}: must be at least 1", cmd.users));
  if (cmd.days < 1 || cmd.days > 3660)
    throw UsageError(fmt::format("--days {}: must be between 1 and 3660", cmd.days));
  return o;
}

seed::SeedResult seed_with_progress(Context& ctx, db::PgConnection& conn, const seed::SeedOptions& options)
{
  const bool show = Context::stderr_is_terminal() && !ctx.quiet();
  std::map<ingest::Kind, std::unique_ptr<Progress>> bars;
  auto result = seed::seed_database(conn, options, [&](ingest::Kind kind, std::uint64_t rows, std::uint64_t total) {
    auto& bar = bars[kind];
    if (!bar) {
      for (auto& [k, b] : bars)
        if (b)
          b->finish();
      bar = std::make_unique<Progress>(fmt::format("seeding {:<9}", ingest::name_of(kind)), show);
    }
    bar->update(rows, rows, std::max(total, rows));
  }, [&ctx] { return ctx.database().connect_raw(); });
  for (auto& [k, b] : bars)
    b->finish();
  return result;
}

void print_seed_result(const seed::SeedResult& result)
{
  std::uint64_t total = 0;
  for (const auto& s : result.loaded) {
    std::cerr << fmt::format("  {:<9} {:>10} rows\n", ingest::name_of(s.kind), s.rows);
    total += s.rows;
  }
  std::cerr << fmt::format("seeded {} rows in {:.1f} s ({})\n", total, result.seconds,
                           rate_text(total, result.seconds));
}

void run_seed(Context& ctx, const SeedCommand& cmd)
{
  const auto options = seed_options(cmd);
  auto conn = ctx.database().connect_raw();
  const auto result = seed_with_progress(ctx, *conn, options);
  if (!ctx.quiet())
    print_seed_result(result);
}

/// Rows per table and the period they cover.
void print_summary(pqxx::connection& conn)
{
  pqxx::read_transaction txn{conn};
  struct Table {
    const char* name;
    const char* time_column;
  };
  const Table tables[] = {{"dm.users", "signup_at"},          {"dm.learning_events", "ts"},
                          {"dm.payments", "ts"},              {"dm.request_metrics", "ts"},
                          {"dm.host_samples", "ts"},          {"dm.learning_hourly", "hour"},
                          {"dm.learning_sessions", "first_ts"}, {"dm.learning_user_hourly", "hour"},
                          {"dm.request_rollup_1m", "bucket"}};
  std::cout << fmt::format("{:<24} {:>12}  {:<20}  {:<20}\n", "table", "rows", "from", "to");
  for (const Table& t : tables) {
    auto r = txn.exec1(fmt::format(
        "SELECT count(*), to_char(min({1}) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), "
        "to_char(max({1}) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM {0}",
        t.name, t.time_column));
    std::cout << fmt::format("{:<24} {:>12}  {:<20}  {:<20}\n", t.name, r[0].as<std::int64_t>(),
                             r[1].is_null() ? "-" : r[1].as<std::string>(),
                             r[2].is_null() ? "-" : r[2].as<std::string>());
  }
}

/// One report of each type over the last 7 days of the seeded data, in every
/// format, into ./dmanalytics-demo/, and their headline KPIs as a table.
void demo_reports(Context& ctx, pqxx::connection& conn)
{
  const std::filesystem::path dir = "dmanalytics-demo";
  std::filesystem::create_directories(dir);
  // The seed ends at the start of today (UTC): the last 7 whole days hold data.
  const auto period = report::resolve_period(std::string("last-7d"), std::nullopt, std::nullopt, "UTC", util::now());
  std::cout << fmt::format("\nReports for {} to {} (UTC), written to {}/:\n", report::local_date(period.from, "UTC"),
                           report::local_date(period.to - 1, "UTC"), dir.string());
  for (auto type : {report::ReportType::engagement, report::ReportType::learning, report::ReportType::performance,
                    report::ReportType::business}) {
    const auto g = generate_and_store(ctx, conn, request_for(ctx, type, period, false), {{"exact", "false"}, {"period", "last-7d"}});
    for (const auto& [format, bytes] : g.artifacts) {
      const auto file = dir / fmt::format("{}.{}", report::name_of(type), format);
      std::ofstream(file, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    std::cout << fmt::format("\n  {} (report {}, v{})\n", report::title_of(type), g.report.id, g.report.version);
    for (const auto& k : g.report.kpis) {
      std::string value = "-";
      if (const auto* i = std::get_if<std::int64_t>(&k.value))
        value = fmt::format("{}", *i);
      else if (const auto* d = std::get_if<double>(&k.value))
        value = k.type == report::ColumnType::ratio ? fmt::format("{:.1f} %", *d * 100) : fmt::format("{:.2f}", *d);
      std::string trend;
      if (k.has_comparison)
        trend = fmt::format("  {} {}", report::name_of(k.trend), k.change ? fmt::format("{:+.1f} %", *k.change * 100) : "");
      std::cout << fmt::format("    {:<26} {:>14}{}\n", k.label, value, trend);
    }
  }
}

void run_demo(Context& ctx)
{
  auto& database = ctx.database();
  if (database.embedded())
    std::cerr << fmt::format("embedded PostgreSQL in {}\n", database.cluster()->data_dir().string());
  else
    std::cerr << fmt::format("database {}\n", db::redact_url(database.url()));
  auto raw = database.connect_raw();
  if (seed::database_is_empty(*raw)) {
    std::cerr << "the database is empty: seeding 90 days of DriveMaster data\n";
    const auto result = seed_with_progress(ctx, *raw, seed::SeedOptions{});
    if (!ctx.quiet())
      print_seed_result(result);
  } else {
    std::cerr << "the database already holds data: not seeding again\n";
  }
  auto conn = database.connect();
  print_summary(*conn);
  demo_reports(ctx, *conn);
  std::cout << "\nNext:\n"
               "  dmanalytics report generate engagement --local --period last-30d --tz Europe/Berlin\n"
               "  dmanalytics report generate learning --local --format pdf -o learning.pdf\n"
               "  dmanalytics report list --local            stored reports and their versions\n"
               "  dmanalyticsd &                             the daemon: REST API, dashboards at http://127.0.0.1:8470/\n"
               "  dmanalytics status                         (report commands without --local then go through it)\n"
               "  dmanalytics schedule list                  the daemon's report schedules (daily, weekly, monthly)\n"
               "  dmanalytics rule list                      alert rules; rule test ID --from D --to D replays one\n"
               "  dmanalytics alert list --state open        alerts the daemon raised\n"
               "  dmanalytics db status                      schema and server\n"
               "  dmanalytics db shell                       psql on the same database\n"
               "  dmanalytics ingest learning events.csv     load your own events (all or nothing)\n"
               "  dmanalytics seed --users 5000 --days 180   more synthetic data\n";
}

} // namespace

void setup_seed(CLI::App& app, Context& ctx)
{
  auto cmd = std::make_shared<SeedCommand>();
  auto* sub = app.add_subcommand("seed", "Generate realistic synthetic DriveMaster data and load it");
  sub->add_option("--users", cmd->users, "Users who sign up in the period")->capture_default_str();
  sub->add_option("--days", cmd->days, "Days of data")->capture_default_str();
  sub->add_option("--seed", cmd->seed, "Random seed (same seed, same data)")->capture_default_str();
  sub->add_option("--end", cmd->end, "Exclusive end date of the period (default: today, UTC)")->type_name("DATE");
  sub->callback(ctx.command([cmd, &ctx] { run_seed(ctx, *cmd); }));
}

void setup_demo(CLI::App& app, Context& ctx)
{
  auto* sub = app.add_subcommand("demo", "Embedded database, seed data when empty, and a tour");
  sub->callback(ctx.command([&ctx] { run_demo(ctx); }));
}

} // namespace dm::cli
