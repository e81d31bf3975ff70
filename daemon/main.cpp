// dmanalyticsd: loads the configuration, starts the daemon, and stops it
// cleanly on SIGTERM or SIGINT.

#include "daemon/daemon.hpp"

#include "dm/config/config.hpp"
#include "dm/util/error.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>
#include <thread>

namespace {

struct Options {
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

int run(const Options& o)
{
  std::optional<std::filesystem::path> file;
  if (!o.config_file.empty())
    file = o.config_file;
  dm::daemon::DaemonOptions options;
  options.config = dm::config::load_config(file);
  setup_logging(options.config);
  if (!o.database_url.empty())
    options.config.database.url = o.database_url;
  options.state_dir = !o.state_dir.empty()                   ? std::filesystem::path(o.state_dir)
                      : !options.config.state.dir.empty() ? std::filesystem::path(options.config.state.dir)
                                                          : dm::config::default_state_dir();
  options.listen = o.listen;

  // Signals are taken by a thread of their own, before any other thread
  // starts, so that every thread inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR2); // only to release the waiting thread at exit
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  dm::daemon::Daemon daemon(std::move(options));
  const auto endpoint = daemon.endpoint();
  spdlog::info("listening on {}:{}", endpoint.address().to_string(), endpoint.port());
  // Scripts and tests read the bound address (port 0 picks one) from here.
  std::cout << fmt::format("listening on {}:{}", endpoint.address().to_string(), endpoint.port()) << std::endl;

  std::thread waiter([&daemon, signals] {
    int signal = 0;
    sigwait(&signals, &signal);
    if (signal == SIGUSR2)
      return;
    spdlog::info("signal {}: stopping", signal);
    daemon.stop();
  });
  daemon.run();
  // run() also returns when something else stopped the daemon: release the waiter.
  pthread_kill(waiter.native_handle(), SIGUSR2);
  waiter.join();
  spdlog::info("stopped");
  return 0;
}

} // namespace

int main(int argc, char** argv)
{
  CLI::App app{"dmanalyticsd — the DriveMaster analytics daemon", "dmanalyticsd"};
  app.set_version_flag("--version", std::string("dmanalyticsd ") + DM_VERSION);
  Options o;
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
