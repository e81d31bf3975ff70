// dmanalytics ingest KIND [FILE|-] [--format csv|ndjson] [--max-errors N]

#include "context.hpp"
#include "progress.hpp"

#include "dm/ingest/ingest.hpp"
#include "dm/util/error.hpp"

#include <fmt/format.h>

#include <iostream>

namespace dm::cli {

namespace {

struct IngestCommand {
  std::string kind;
  std::string file = "-";
  std::string format;
  std::uint64_t max_errors = 0;
};

void run_ingest(Context& ctx, const IngestCommand& cmd)
{
  ingest::IngestOptions options;
  const auto kind = ingest::kind_from_name(cmd.kind);
  if (!kind)
    throw UsageError(fmt::format("unknown kind '{}': expected users, learning, payments, requests or host",
                                 cmd.kind));
  options.kind = *kind;
  if (!cmd.format.empty()) {
    options.format = ingest::format_from_name(cmd.format);
    if (!options.format)
      throw UsageError(fmt::format("unknown --format '{}': expected csv or ndjson", cmd.format));
  }
  options.max_errors = cmd.max_errors;
  Progress progress(cmd.kind, Context::stderr_is_terminal() && !ctx.quiet());
  options.progress = [&](const ingest::IngestProgress& p) { progress.update(p.rows, p.bytes, p.total_bytes); };

  auto conn = ctx.database().connect_raw();
  options.second_connection = [&ctx] { return ctx.database().connect_raw(); };
  const auto result = ingest::ingest_file(*conn, cmd.file, options);
  progress.finish();
  if (!ctx.quiet())
    std::cerr << fmt::format("{}: loaded {} {} rows into {} in {:.2f} s ({}), {} rollup rows\n",
                             result.source, result.summary.rows, cmd.kind, ingest::table_of(*kind),
                             result.seconds, rate_text(result.summary.rows, result.seconds),
                             result.summary.rollup_rows);
}

} // namespace

void setup_ingest(CLI::App& app, Context& ctx)
{
  auto cmd = std::make_shared<IngestCommand>();
  auto* sub = app.add_subcommand("ingest", "Load events from a CSV or NDJSON file, all or nothing");
  sub->add_option("kind", cmd->kind, "users | learning | payments | requests | host")->required();
  sub->add_option("file", cmd->file, "File to load; - or nothing for stdin")->type_name("FILE|-");
  sub->add_option("--format", cmd->format, "csv | ndjson (default: from the file name, else sniffed)");
  sub->add_option("--max-errors", cmd->max_errors,
                  "List up to N bad lines instead of stopping at the first (nothing is loaded either way)");
  sub->callback(ctx.command([cmd, &ctx] { run_ingest(ctx, *cmd); }));
}

} // namespace dm::cli
