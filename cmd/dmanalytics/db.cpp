// dmanalytics db migrate | status | url | shell

#include "context.hpp"

#include "dm/db/migrator.hpp"
#include "dm/db/two_phase.hpp"
#include "dm/util/process.hpp"

#include <fmt/format.h>

#include <iostream>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

namespace dm::cli {

namespace {

void run_migrate(Context& ctx)
{
  // Context::database() migrates on open; run it again to report the state.
  auto conn = ctx.connect();
  const int applied = db::migrate(*conn);
  const auto& all = db::bundled_migrations();
  std::cout << fmt::format("schema at version {} ({} applied now)\n", all.empty() ? 0 : all.back().version,
                           applied);
}

void run_status(Context& ctx)
{
  auto& database = ctx.database();
  auto conn = database.connect();
  std::cout << fmt::format("database  {}\n", db::redact_url(database.url()));
  std::cout << fmt::format("server    PostgreSQL {}.{}\n", conn->server_version() / 10000, conn->server_version() % 10000);
  if (database.embedded())
    std::cout << fmt::format("embedded  {} (log {})\n", database.cluster()->data_dir().string(),
                             database.cluster()->log_file().string());
  const auto loads = db::waiting_loads(*conn);
  if (loads.empty())
    std::cout << "loads     none waiting between their two commits\n";
  for (const auto& l : loads)
    std::cout << fmt::format("load      {} prepared {}: {}, {}\n", l.gid, l.prepared_at,
                             l.recorded ? "rows committed, rollups to commit" : "rows not committed, to roll back",
                             l.owner_alive ? "its session still at work"
                                           : "its session ended: the next command finishes it");
  for (const auto& m : db::migration_status(*conn))
    std::cout << fmt::format("{:04}  {:<28} {}{}\n", m.version, m.name, m.applied_at.value_or("pending"),
                             m.changed ? "  CHANGED since it was applied" : "");
}

void run_url(Context& ctx)
{
  std::cout << ctx.database().url() << "\n";
}

void run_shell(Context& ctx)
{
  // The embedded server must outlive psql: it is stopped when this process
  // exits, so psql runs as a child rather than replacing us.
  const std::string url = ctx.database().url();
  std::cout.flush();
  const pid_t pid = fork();
  if (pid < 0)
    throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    try {
      util::exec_process({"psql", url});
    } catch (const std::exception& e) {
      std::cerr << "dmanalytics: " << e.what() << "\n";
    }
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(fmt::format("psql ended with status {}", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)));
}

} // namespace

void setup_db(CLI::App& app, Context& ctx)
{
  auto* db = app.add_subcommand("db", "The database: migrations, status, connection URL, psql");
  db->require_subcommand(1);
  db->add_subcommand("migrate", "Apply pending schema migrations")->callback(ctx.command([&ctx] { run_migrate(ctx); }));
  db->add_subcommand("status", "Server, schema version and migrations")->callback(ctx.command([&ctx] { run_status(ctx); }));
  db->add_subcommand("url", "Print the libpq connection string")->callback(ctx.command([&ctx] { run_url(ctx); }));
  db->add_subcommand("shell", "Open psql on the database")->callback(ctx.command([&ctx] { run_shell(ctx); }));
}

} // namespace dm::cli
