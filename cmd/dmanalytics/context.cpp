#include "context.hpp"

#include "dm/auth/local_token.hpp"
#include "dm/auth/secret_file.hpp"
#include "dm/db/migrator.hpp"
#include "dm/db/two_phase.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <cstdlib>
#include <unistd.h>

namespace dm::cli {

void Context::start()
{
  if (started_)
    return;
  started_ = true;
  auto logger = spdlog::stderr_color_mt(
      "dmanalytics", std::getenv("NO_COLOR") != nullptr ? spdlog::color_mode::never : spdlog::color_mode::automatic);
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(options_.quiet          ? spdlog::level::err
                    : options_.verbose >= 2 ? spdlog::level::debug
                    : options_.verbose == 1 ? spdlog::level::info
                                            : spdlog::level::warn);
}

const config::Config& Context::config()
{
  if (!config_) {
    std::optional<std::filesystem::path> file;
    if (!options_.config_file.empty())
      file = options_.config_file;
    config_ = config::load_config(file);
  }
  return *config_;
}

std::filesystem::path Context::state_dir()
{
  if (!options_.state_dir.empty())
    return options_.state_dir;
  if (!config().state.dir.empty())
    return config().state.dir;
  return config::default_state_dir();
}

db::Database& Context::database()
{
  if (!database_) {
    const std::string url = !options_.database_url.empty() ? options_.database_url : config().database.url;
    database_ = std::make_unique<db::Database>(db::Database::Options{
        .url = url,
        .state_dir = state_dir(),
        .stop_when_unused = true,
        .unsafe_fast = false,
        .statement_timeout_s = 0});
    auto conn = database_->connect();
    // Loads cut short between their two commits are finished first: their
    // prepared transactions hold locks that loads and migrations wait for.
    db::resolve_prepared(*conn);
    if (const int applied = db::migrate(*conn); applied > 0)
      spdlog::info("applied {} database migration(s)", applied);
  }
  return *database_;
}

std::unique_ptr<pqxx::connection> Context::connect()
{
  return database().connect();
}

DaemonClient::CredentialSource Context::credential_source()
{
  if (!options_.token.empty())
    return [token = options_.token] { return Credentials{token, "the token of --token / DMANALYTICS_TOKEN"}; };
  return [this] {
    // Short-lived: it only has to outlive this command's requests (or, for a
    // watch, one connection: it is minted anew for each).
    std::string token = auth::mint_local_token(config(), state_dir(), std::chrono::minutes(15));
    return Credentials{std::move(token),
                       fmt::format("the token signed with {} (run as the daemon's user with its --config and "
                                   "--state-dir, or pass --token)",
                                   auth::secret_path(config(), state_dir()).string())};
  };
}

std::string Context::daemon_url() const
{
  return options_.url.empty() ? std::string(default_daemon_url) : options_.url;
}

DaemonClient Context::daemon_client(bool offers_local)
{
  return DaemonClient(daemon_url(), credential_source(), offers_local);
}

bool Context::stderr_is_terminal() noexcept
{
  return isatty(2) == 1;
}

bool Context::stdout_is_terminal() noexcept
{
  return isatty(1) == 1;
}

void setup_global_options(CLI::App& app, GlobalOptions& o)
{
  app.add_option("--config", o.config_file, "Configuration file (TOML)")
      ->envname("DMANALYTICS_CONFIG")
      ->type_name("FILE");
  app.add_option("--state-dir", o.state_dir, "State folder (embedded database, secrets)")
      ->envname("DMANALYTICS_STATE_DIR")
      ->type_name("DIR");
  app.add_option("--database", o.database_url, "PostgreSQL URL; empty runs the embedded database")
      ->envname("DMANALYTICS_DATABASE_URL")
      ->type_name("URL");
  app.add_option("--url", o.url, "Daemon URL")
      ->envname("DMANALYTICS_URL")
      ->default_str("http://127.0.0.1:8470")
      ->type_name("URL");
  app.add_option("--token", o.token, "Bearer token for the daemon")->envname("DMANALYTICS_TOKEN");
  app.add_flag("-q,--quiet", o.quiet, "Only errors on stderr");
  app.add_flag("-v,--verbose", o.verbose, "More messages on stderr (twice: debug)");
}

} // namespace dm::cli
