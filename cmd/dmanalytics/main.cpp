// dmanalytics: wires the subcommand groups together and turns errors into
// exit codes (DESIGN 11) in one place.

#include "context.hpp"

#include "dm/util/error.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <iostream>

namespace dm::cli {
void setup_token(CLI::App& app, Context& ctx);
void setup_schedule(CLI::App& app, Context& ctx);
void setup_anomaly(CLI::App& app, Context& ctx);
void setup_alert(CLI::App& app, Context& ctx);
void setup_rule(CLI::App& app, Context& ctx);
} // namespace dm::cli

int main(int argc, char** argv)
{
  CLI::App app{"dmanalytics — DriveMaster analytics: reports, ingest, seed data, alerts", "dmanalytics"};
  app.set_version_flag("--version", std::string("dmanalytics ") + DM_VERSION);
  app.require_subcommand(1);
  app.fallthrough();

  dm::cli::GlobalOptions options;
  dm::cli::setup_global_options(app, options);
  dm::cli::Context ctx{options};
  dm::cli::setup_report(app, ctx);
  dm::cli::setup_schedule(app, ctx);
  dm::cli::setup_dashboard(app, ctx);
  dm::cli::setup_status(app, ctx);
  dm::cli::setup_db(app, ctx);
  dm::cli::setup_ingest(app, ctx);
  dm::cli::setup_seed(app, ctx);
  dm::cli::setup_demo(app, ctx);
  dm::cli::setup_token(app, ctx);
  dm::cli::setup_alert(app, ctx);
  dm::cli::setup_rule(app, ctx);
  dm::cli::setup_anomaly(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : static_cast<int>(dm::ExitCode::usage);
  } catch (const std::exception& e) {
    std::cerr << "dmanalytics: " << dm::full_message(e) << "\n";
    return static_cast<int>(dm::exit_code_for(e));
  }
  return 0;
}
