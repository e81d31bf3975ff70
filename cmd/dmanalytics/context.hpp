#pragma once
// What every subcommand shares: the global options, the configuration (loaded
// on first use), the database (opened, and migrated, on first use) and
// clients of the daemon.

#include "daemon_client.hpp"

#include "dm/config/config.hpp"
#include "dm/db/database.hpp"
#include "dm/report/generator.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace dm::cli {

struct GlobalOptions {
  std::string config_file;
  std::string state_dir;
  std::string database_url;
  std::string url;
  std::string token;
  bool quiet = false;
  int verbose = 0;
};

class Context {
public:
  /// `options` is filled in by CLI11 while parsing; it must outlive this.
  explicit Context(const GlobalOptions& options) : options_(options) {}

  /// Wraps a subcommand's work: sets up logging from the global options first.
  template <typename F> std::function<void()> command(F&& work)
  {
    return [this, work = std::forward<F>(work)]() {
      start();
      work();
    };
  }

  const GlobalOptions& options() const noexcept { return options_; }
  /// The configuration; throws config::ConfigError (exit 2) on a bad file.
  const config::Config& config();
  /// The state folder: --state-dir, else [state] dir, else the default.
  std::filesystem::path state_dir();
  /// The database, started (embedded) and migrated on first use.
  db::Database& database();
  /// A new connection to it.
  std::unique_ptr<pqxx::connection> connect();
  /// A client of the daemon at --url (DMANALYTICS_URL, else
  /// default_daemon_url) with --token (DMANALYTICS_TOKEN), else an admin
  /// token minted on first need from the local secret (auth.jwt_secret_file
  /// or <state>/jwt.secret), as the daemon of the same user reads it.
  /// `offers_local`: the command has --local (see DaemonClient).
  DaemonClient daemon_client(bool offers_local = false);
  /// The daemon's URL as daemon_client() uses it.
  std::string daemon_url() const;
  /// The token daemon_client() sends: --token as given, else a fresh
  /// short-lived admin token minted from the local secret on each call.
  DaemonClient::CredentialSource credential_source();

  /// Messages on stderr unless -q.
  bool quiet() const noexcept { return options_.quiet; }
  /// True when stderr is a terminal (progress bars) and NO_COLOR is not set for colour.
  static bool stderr_is_terminal() noexcept;
  static bool stdout_is_terminal() noexcept;

private:
  void start();

  const GlobalOptions& options_;
  bool started_ = false;
  std::optional<config::Config> config_;
  std::unique_ptr<db::Database> database_;
};

/// Adds the global options of DESIGN 11 to the top-level app.
void setup_global_options(CLI::App& app, GlobalOptions& options);

/// A report generated, rendered in every format and stored.
struct StoredGeneration {
  report::Report report;
  std::map<std::string, std::string> artifacts; ///< json, csv (main section), pdf
  std::string section_csv;                      ///< the --section asked for, when one was
};

/// Generates, renders and stores a report; a failure is recorded and rethrown.
StoredGeneration generate_and_store(Context& ctx, pqxx::connection_base& conn, const report::GenerateRequest& request,
                                    const std::vector<std::pair<std::string, std::string>>& params,
                                    const std::string& csv_section = "");
/// A request with the thresholds of the configuration.
report::GenerateRequest request_for(Context& ctx, report::ReportType type, const report::Period& period, bool exact);

/// Subcommand groups, one file each.
void setup_db(CLI::App& app, Context& ctx);
void setup_ingest(CLI::App& app, Context& ctx);
void setup_seed(CLI::App& app, Context& ctx);
void setup_demo(CLI::App& app, Context& ctx);
void setup_report(CLI::App& app, Context& ctx);
void setup_dashboard(CLI::App& app, Context& ctx);
void setup_status(CLI::App& app, Context& ctx);

} // namespace dm::cli
