// dmanalyticsd: loads the configuration, starts or joins the database,
// applies migrations, serves HTTP, and stops cleanly on SIGTERM or SIGINT.

#include "http_server.hpp"
#include "readiness.hpp"

#include "dm/config/config.hpp"
#include "dm/db/database.hpp"
#include "dm/db/migrator.hpp"
#include "dm/util/error.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <iostream>
#include <thread>

namespace {

struct DaemonOptions {
  std::string config_file;
  std::string state_dir;
  std::string database_url;
  std::string listen;
};

void setup_logging(const dm::config::Config& config)
{
  auto logger = spdlog::stderr_color_mt(
      "dmanalyticsd", std::getenv("NO_COLOR") != nullptr ? spdlog::color_mode::never : spdlog::color_mode::automatic);
  spdlog::set_default_logger(logger);
  if (config.log.format == "json")
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%v"})", spdlog::pattern_time_type::utc);
  else
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(config.log.level));
}

int run(const DaemonOptions& o)
{
  std::optional<std::filesystem::path> file;
  if (!o.config_file.empty())
    file = o.config_file;
  const dm::config::Config config = dm::config::load_config(file);
  setup_logging(config);

  const std::filesystem::path state_dir = !o.state_dir.empty()        ? std::filesystem::path(o.state_dir)
                                          : !config.state.dir.empty() ? std::filesystem::path(config.state.dir)
                                                                      : dm::config::default_state_dir();
  dm::db::Database database({.url = !o.database_url.empty() ? o.database_url : config.database.url,
                             .state_dir = state_dir,
                             .stop_when_unused = true,
                             .unsafe_fast = false,
                             .statement_timeout_s = config.database.statement_timeout});
  {
    auto conn = database.connect();
    const int applied = dm::db::migrate(*conn);
    spdlog::info("database {} ({} migration(s) applied)", dm::db::redact_url(database.url()), applied);
  }

  dm::daemon::Readiness readiness(database);
  boost::asio::io_context ioc;
  auto state = std::make_shared<const dm::daemon::ServerState>(
      dm::daemon::ServerState{readiness, std::string(DM_VERSION)});
  dm::daemon::HttpServer server(ioc, o.listen.empty() ? config.daemon.listen : o.listen, state);
  const auto endpoint = server.local_endpoint();
  server.start();
  spdlog::info("listening on {}:{}", endpoint.address().to_string(), endpoint.port());
  // Scripts and tests read the bound address (port 0 picks one) from here.
  std::cout << fmt::format("listening on {}:{}", endpoint.address().to_string(), endpoint.port()) << std::endl;

  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec)
      return;
    spdlog::info("signal {}: stopping", signal);
    sd_notify(0, "STOPPING=1");
    server.stop();
    ioc.stop();
  });
  sd_notify(0, "READY=1");

  const int threads = config.daemon.threads > 0 ? config.daemon.threads
                                                : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i)
    pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool)
    t.join();
  spdlog::info("stopped");
  return 0;
}

} // namespace

int main(int argc, char** argv)
{
  CLI::App app{"dmanalyticsd — the DriveMaster analytics daemon", "dmanalyticsd"};
  app.set_version_flag("--version", std::string("dmanalyticsd ") + DM_VERSION);
  DaemonOptions o;
  app.add_option("--config", o.config_file, "Configuration file (TOML)")->envname("DMANALYTICS_CONFIG");
  app.add_option("--state-dir", o.state_dir, "State folder")->envname("DMANALYTICS_STATE_DIR");
  app.add_option("--database", o.database_url, "PostgreSQL URL; empty runs the embedded database")
      ->envname("DMANALYTICS_DATABASE_URL");
  app.add_option("--listen", o.listen, "Address to listen on, overriding daemon.listen (port 0: any free port)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "dmanalyticsd: " << dm::full_message(e) << "\n";
    return static_cast<int>(dm::exit_code_for(e));
  }
}
