// dmanalytics report generate | list | show | get | rm | diff
//
// Through dmanalyticsd by default (DESIGN 11); --local works on the database
// in this process instead. Both paths print the same: the daemon's metadata is
// read into the StoredReport the local path prints, and artifacts are the
// stored bytes either way.

#include "args.hpp"
#include "context.hpp"

#include "dm/render/json_reader.hpp"
#include "dm/report/calendar.hpp"
#include "dm/report/generator.hpp"
#include "dm/report/runner.hpp"
#include "dm/report/store.hpp"
#include "dm/util/error.hpp"
#include "dm/util/json_text.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace dm::cli {

namespace {

struct GenerateCommand {
  std::string type;
  std::string period;
  std::string from, to;
  std::string tz = "UTC";
  std::string format = "json";
  std::string output = "-";
  std::string section;
  bool exact = false;
  bool local = false;
};

/// Writes bytes to FILE atomically (temp file, fsync, rename) or to stdout.
/// A PDF is never written to a terminal.
void write_output(const std::string& output, const std::string& format, const std::string& bytes)
{
  if (output == "-" || output.empty()) {
    if (format == "pdf" && isatty(1) == 1)
      throw UsageError("refusing to write a PDF to the terminal: use -o FILE or redirect stdout");
    std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::cout.flush();
    return;
  }
  const std::filesystem::path target(output);
  std::error_code ec;
  const auto status = std::filesystem::status(target, ec);
  if (!ec && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    // /dev/null, a FIFO, /dev/stdout: write in place; renaming over them would replace the device.
    std::ofstream out(target, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out)
      throw std::runtime_error(fmt::format("cannot write {}", output));
    return;
  }
  const std::filesystem::path temp = target.string() + fmt::format(".tmp-{}", getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out)
      throw std::runtime_error(fmt::format("cannot write {}", temp.string()));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::filesystem::remove(temp, ec);
      throw std::runtime_error(fmt::format("cannot write {}", temp.string()));
    }
  }
  if (FILE* f = std::fopen(temp.c_str(), "rb")) {
    fsync(fileno(f));
    std::fclose(f);
  }
  std::filesystem::rename(temp, target);
}

} // namespace

report::GenerateRequest request_for(Context& ctx, report::ReportType type, const report::Period& period, bool exact)
{
  return report::request_from_config(ctx.config(), type, period, exact);
}

StoredGeneration generate_and_store(Context& ctx, pqxx::connection_base& conn, const report::GenerateRequest& request,
                                    const std::vector<std::pair<std::string, std::string>>& params,
                                    const std::string& csv_section)
{
  auto run = report::run_report(conn, request, params, ctx.config().reports.keep_days, csv_section);
  return {std::move(run.report), std::move(run.artifacts), std::move(run.section_csv)};
}

namespace {

namespace json = boost::json;

/// `--format` of a command that writes an artifact.
void check_artifact_format(const std::string& format)
{
  if (format != "json" && format != "csv" && format != "pdf")
    throw UsageError(fmt::format("unknown --format '{}': expected json, csv or pdf", format));
}

/// Refuses a PDF for a terminal before any work is done.
void check_pdf_destination(const std::string& format, const std::string& output)
{
  if (format == "pdf" && (output == "-" || output.empty()) && isatty(1) == 1)
    throw UsageError("refusing to write a PDF to the terminal: use -o FILE or redirect stdout");
}

std::string report_target(std::int64_t id)
{
  return fmt::format("/reports/{}", id);
}

/// `GET /reports/:id/artifact` with its query.
std::string artifact_target(std::int64_t id, const std::string& format, const std::string& section)
{
  return report_target(id) + "/artifact" + query_string({{"format", format}, {"section", section}});
}

// --- the daemon's metadata (report::metadata_json) as a StoredReport -------

const json::object& object_member(const json::object& o, std::string_view name)
{
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_object())
    throw std::runtime_error(fmt::format("the daemon's report metadata lacks the object '{}'", name));
  return v->as_object();
}

std::string text_member(const json::object& o, std::string_view name)
{
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null())
    return {};
  if (!v->is_string())
    throw std::runtime_error(fmt::format("the daemon's report metadata has a non-text '{}'", name));
  return std::string(v->as_string());
}

std::int64_t integer_member(const json::object& o, std::string_view name)
{
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_int64())
    throw std::runtime_error(fmt::format("the daemon's report metadata lacks the integer '{}'", name));
  return v->as_int64();
}

report::StoredReport stored_from_metadata(const json::value& value)
{
  if (!value.is_object())
    throw std::runtime_error("the daemon's report metadata is not a JSON object");
  const json::object& o = value.as_object();
  report::StoredReport s;
  s.id = integer_member(o, "id");
  s.type = text_member(o, "type");
  s.version = static_cast<int>(integer_member(o, "version"));
  s.status = text_member(o, "status");
  if (const json::value* p = o.if_contains("params"); p != nullptr && !p->is_null())
    s.params = json::serialize(*p);
  const json::object& period = object_member(o, "period");
  s.period_from = text_member(period, "from");
  s.period_to = text_member(period, "to");
  s.tz = text_member(period, "tz");
  s.source = text_member(o, "source");
  s.started_at = text_member(o, "started_at");
  s.finished_at = text_member(o, "finished_at");
  s.error = text_member(o, "error");
  if (const json::value* k = o.if_contains("kpis"); k != nullptr && !k->is_null())
    s.kpis = json::serialize(*k);
  if (const json::value* a = o.if_contains("artifacts"); a != nullptr && a->is_object())
    for (const auto& kv : a->as_object()) {
      if (!kv.value().is_object())
        continue;
      const auto& artifact = kv.value().as_object();
      s.artifacts[std::string(kv.key())] = {integer_member(artifact, "size"), text_member(artifact, "sha256")};
    }
  return s;
}

// --- output shared by both paths ---------------------------------------------

void print_reports(const std::vector<report::StoredReport>& reports, const std::string& format)
{
  if (format == "json") {
    json::array arr;
    for (const auto& s : reports)
      arr.push_back({{"id", s.id}, {"type", s.type}, {"version", s.version}, {"status", s.status},
                     {"period", {{"from", s.period_from}, {"to", s.period_to}, {"tz", s.tz}}},
                     {"started_at", s.started_at}, {"finished_at", s.finished_at}, {"error", s.error}});
    std::cout << json::serialize(arr) << "\n";
    return;
  }
  if (format == "csv") {
    std::cout << "id,type,version,status,from,to,tz,started_at,finished_at\r\n";
    for (const auto& s : reports)
      std::cout << fmt::format("{},{},{},{},{},{},{},{},{}\r\n", s.id, s.type, s.version, s.status, s.period_from,
                               s.period_to, s.tz, s.started_at, s.finished_at);
    return;
  }
  std::cout << fmt::format("{:>6}  {:<12} {:>3}  {:<10} {:<21} {:<21} {}\n", "ID", "TYPE", "V", "STATUS", "FROM", "TO", "TZ");
  for (const auto& s : reports)
    std::cout << fmt::format("{:>6}  {:<12} {:>3}  {:<10} {:<21} {:<21} {}\n", s.id, s.type, s.version, s.status,
                             s.period_from, s.period_to, s.tz);
}

/// KPI values of a stored report: name -> number (the value of compared KPIs).
std::vector<std::pair<std::string, std::optional<double>>> kpi_values(const std::string& json)
{
  std::vector<std::pair<std::string, std::optional<double>>> out;
  if (json.empty())
    return out;
  const auto doc = render::parse_json_exact(json);
  if (!doc.is_object())
    return out;
  for (const auto& kv : doc.as_object()) {
    const json::value* v = &kv.value();
    if (v->is_object())
      v = v->as_object().if_contains("value");
    std::optional<double> d;
    if (v != nullptr && v->is_number())
      d = v->to_number<double>();
    else if (v != nullptr && v->is_string())
      d = std::stod(std::string(v->as_string()));
    out.emplace_back(std::string(kv.key()), d);
  }
  return out;
}

void print_report(const report::StoredReport& s)
{
  std::cout << fmt::format("report    {} ({} v{})\nstatus    {}\nperiod    {} to {} ({})\nsource    {}\nstarted   {}\nfinished  {}\n",
                           s.id, s.type, s.version, s.status, s.period_from, s.period_to, s.tz, s.source,
                           s.started_at, s.finished_at);
  if (!s.error.empty())
    std::cout << "error     " << s.error << "\n";
  for (const auto& [format, a] : s.artifacts)
    std::cout << fmt::format("artifact  {:<4} {:>9} bytes  sha256 {}\n", format, a.first, a.second);
  for (const auto& [name, v] : kpi_values(s.kpis))
    std::cout << fmt::format("  {:<22} {}\n", name, v ? fmt::format("{:.6g}", *v) : "null");
}

void print_diff(const report::StoredReport& a, const report::StoredReport& b)
{
  const auto av = kpi_values(a.kpis);
  std::map<std::string, std::optional<double>> bv;
  for (const auto& [k, v] : kpi_values(b.kpis))
    bv[k] = v;
  std::cout << fmt::format("{:<22} {:>16} {:>16} {:>12}\n", "kpi", fmt::format("#{}", a.id), fmt::format("#{}", b.id), "change");
  for (const auto& [name, x] : av) {
    const auto it = bv.find(name);
    const bool has_y = it != bv.end() && it->second.has_value();
    const double y = has_y ? *it->second : 0.0;
    std::string change = "n/a";
    if (x && has_y && *x != 0)
      change = fmt::format("{:+.1f} %", (y - *x) / *x * 100);
    std::cout << fmt::format("{:<22} {:>16} {:>16} {:>12}\n", name, x ? fmt::format("{:.6g}", *x) : "null",
                             has_y ? fmt::format("{:.6g}", y) : "null", change);
  }
}

// --- report generate -----------------------------------------------------------

/// What a generation gives the caller, whichever path made it.
struct Generated {
  std::string bytes; ///< the artifact asked for
  std::int64_t id = 0;
  int version = 0;
  report::Period period;
  std::string source;
};

Generated generate_local(Context& ctx, const GenerateCommand& cmd, report::ReportType type,
                         const report::Period& period)
{
  std::vector<std::pair<std::string, std::string>> params{{"exact", cmd.exact ? "true" : "false"}};
  if (!cmd.period.empty())
    params.emplace_back("period", cmd.period);
  auto conn = ctx.connect();
  StoredGeneration g = generate_and_store(ctx, *conn, request_for(ctx, type, period, cmd.exact), params, cmd.section);
  Generated out;
  out.bytes = cmd.format == "csv" && !cmd.section.empty() ? std::move(g.section_csv) : std::move(g.artifacts.at(cmd.format));
  out.id = g.report.id;
  out.version = g.report.version;
  out.period = period;
  out.source = g.report.source;
  return out;
}

/// POST /reports/generate, then the artifact in the asked format (and section).
/// The daemon resolves the period from the same options, so its versioning
/// and its period are those of a local generation.
Generated generate_remote(Context& ctx, const GenerateCommand& cmd)
{
  DaemonClient client = ctx.daemon_client(true);
  json::object body{{"type", cmd.type}, {"tz", cmd.tz}, {"exact", cmd.exact}};
  if (!cmd.period.empty())
    body["period"] = cmd.period;
  if (!cmd.from.empty())
    body["from"] = cmd.from;
  if (!cmd.to.empty())
    body["to"] = cmd.to;
  const report::StoredReport meta = stored_from_metadata(client.post_json("/reports/generate", body));
  Generated out;
  out.id = meta.id;
  out.version = meta.version;
  const auto from = util::parse_rfc3339(meta.period_from);
  const auto to = util::parse_rfc3339(meta.period_to);
  if (!from || !to)
    throw std::runtime_error(fmt::format("the daemon's report {} has the period '{}' to '{}'", meta.id,
                                         meta.period_from, meta.period_to));
  out.period = {*from, *to, meta.tz};
  out.source = meta.source;
  out.bytes = client.get(artifact_target(meta.id, cmd.format, cmd.section));
  return out;
}

void run_generate(Context& ctx, const GenerateCommand& cmd)
{
  const auto type = report::report_type_from_name(cmd.type);
  if (!type)
    throw UsageError(fmt::format("unknown report type '{}': expected performance, engagement, learning or business", cmd.type));
  check_artifact_format(cmd.format);
  if (!cmd.section.empty() && cmd.format != "csv")
    throw UsageError("--section applies to --format csv");
  if (!cmd.section.empty()) {
    const auto& known = report::section_names_of(*type);
    if (std::find(known.begin(), known.end(), cmd.section) == known.end()) {
      std::string list;
      for (auto n : known)
        list += (list.empty() ? "" : ", ") + std::string(n);
      throw UsageError(fmt::format("--section '{}': a {} report has the sections {}", cmd.section, cmd.type, list));
    }
  }
  check_pdf_destination(cmd.format, cmd.output);
  // Resolved here on both paths, so that bad dates, zones and periods exit 2
  // with the same message whether or not a daemon is running.
  auto opt = [](const std::string& s) { return s.empty() ? std::nullopt : std::optional<std::string>(s); };
  const report::Period period = report::resolve_period(opt(cmd.period), opt(cmd.from), opt(cmd.to), cmd.tz, util::now());
  const bool show_progress = Context::stderr_is_terminal() && !ctx.quiet();
  if (show_progress)
    std::cerr << fmt::format("generating the {} report…", cmd.type) << std::flush;
  auto clear_line = [show_progress] {
    if (show_progress)
      std::cerr << "\r\033[K" << std::flush;
  };
  Generated g;
  try {
    g = cmd.local ? generate_local(ctx, cmd, *type, period) : generate_remote(ctx, cmd);
  } catch (...) {
    clear_line();
    throw;
  }
  clear_line();
  write_output(cmd.output, cmd.format, g.bytes);
  if (!ctx.quiet())
    std::cerr << fmt::format("report {} ({} v{}, {} to {}, {})\n", g.id, cmd.type, g.version,
                             report::format_local(g.period.from, g.period.tz),
                             report::format_local(g.period.to, g.period.tz), g.source);
}

// --- report list | show | get | rm | diff ------------------------------------

struct ListCommand {
  std::string type, since, format = "table";
  int limit = 50;
  bool local = false;
};

/// The daemon answers at most this many reports per page.
constexpr int max_page = 1000;

void run_list(Context& ctx, const ListCommand& cmd)
{
  report::ListFilter f;
  if (!cmd.type.empty()) {
    if (!report::report_type_from_name(cmd.type))
      throw UsageError(fmt::format("unknown report type '{}'", cmd.type));
    f.type = cmd.type;
  }
  if (!cmd.since.empty()) {
    f.since = util::parse_date_or_timestamp(cmd.since);
    if (!f.since)
      throw UsageError(fmt::format("--since '{}': expected a date or an RFC 3339 timestamp", cmd.since));
  }
  check_format(cmd.format, {"table", "csv", "json"});
  f.limit = cmd.limit;
  if (cmd.local) {
    auto conn = ctx.connect();
    print_reports(report::ReportStore(*conn).list(f), cmd.format);
    return;
  }
  DaemonClient client = ctx.daemon_client(true);
  std::vector<report::StoredReport> reports;
  std::string cursor;
  while (static_cast<int>(reports.size()) < cmd.limit) {
    const int page = std::min(cmd.limit - static_cast<int>(reports.size()), max_page);
    const json::value answer = client.get_json(
        "/reports" + query_string({{"type", cmd.type}, {"since", cmd.since}, {"limit", std::to_string(page)},
                                   {"cursor", cursor}}));
    const json::value* items = answer.is_object() ? answer.as_object().if_contains("reports") : nullptr;
    if (items == nullptr || !items->is_array())
      throw std::runtime_error("the daemon's report list lacks 'reports'");
    for (const auto& item : items->as_array())
      reports.push_back(stored_from_metadata(item));
    const json::value* next = answer.as_object().if_contains("next_cursor");
    if (next == nullptr || !next->is_string() || items->as_array().empty())
      break;
    cursor = std::string(next->as_string());
  }
  print_reports(reports, cmd.format);
}

struct ShowCommand {
  std::string id, format = "table";
  bool local = false;
};

void run_show(Context& ctx, const ShowCommand& cmd)
{
  const std::int64_t id = parse_id(cmd.id, "a report");
  check_format(cmd.format, {"table", "json"});
  if (cmd.local) {
    auto conn = ctx.connect();
    const auto s = report::ReportStore(*conn).get(id);
    if (cmd.format == "json")
      std::cout << util::json_text(report::metadata_json(s)) << "\n";
    else
      print_report(s);
    return;
  }
  const json::value meta = ctx.daemon_client(true).get_json(report_target(id));
  // The daemon's metadata is report::metadata_json() already: printed as it
  // came (numbers read exactly), it is what the local path prints.
  if (cmd.format == "json")
    std::cout << util::json_text(meta) << "\n";
  else
    print_report(stored_from_metadata(meta));
}

struct GetCommand {
  std::string id, format = "json", output = "-", section;
  bool local = false;
};

void run_get(Context& ctx, const GetCommand& cmd)
{
  const std::int64_t id = parse_id(cmd.id, "a report");
  check_artifact_format(cmd.format);
  if (!cmd.section.empty() && cmd.format != "csv")
    throw UsageError("--section applies to --format csv");
  check_pdf_destination(cmd.format, cmd.output);
  std::string bytes;
  if (!cmd.local) {
    bytes = ctx.daemon_client(true).get(artifact_target(id, cmd.format, cmd.section));
  } else {
    auto conn = ctx.connect();
    report::ReportStore store(*conn);
    if (cmd.section.empty())
      bytes = store.artifact(id, cmd.format);
    else // the daemon's way: the section rendered from the stored JSON
      bytes = report::render_report(render::read_report_json(store.artifact(id, "json")), "csv", cmd.section);
  }
  write_output(cmd.output, cmd.format, bytes);
}

struct RmCommand {
  std::string id;
  bool local = false;
};

void run_rm(Context& ctx, const RmCommand& cmd)
{
  const std::int64_t id = parse_id(cmd.id, "a report");
  if (cmd.local) {
    auto conn = ctx.connect();
    report::ReportStore(*conn).remove(id);
    return;
  }
  ctx.daemon_client(true).delete_json(report_target(id));
}

struct DiffCommand {
  std::string a, b;
  bool local = false;
};

void run_diff(Context& ctx, const DiffCommand& cmd)
{
  const std::int64_t a = parse_id(cmd.a, "a report");
  const std::int64_t b = parse_id(cmd.b, "a report");
  if (cmd.local) {
    auto conn = ctx.connect();
    report::ReportStore store(*conn);
    const auto first = store.get(a);
    print_diff(first, store.get(b));
    return;
  }
  DaemonClient client = ctx.daemon_client(true);
  const auto first = stored_from_metadata(client.get_json(report_target(a)));
  print_diff(first, stored_from_metadata(client.get_json(report_target(b))));
}

constexpr const char* local_help = "Work on the database in this process instead of through dmanalyticsd";

} // namespace

void setup_report(CLI::App& app, Context& ctx)
{
  auto* report = app.add_subcommand("report", "Generate, list, show, fetch and compare reports");
  report->require_subcommand(1);

  auto gen = std::make_shared<GenerateCommand>();
  auto* g = report->add_subcommand("generate", "Generate a report and store it");
  g->add_option("type", gen->type, "performance | engagement | learning | business")->required();
  g->add_option("--period", gen->period, "today | yesterday | last-7d | last-30d | this-month | last-month");
  g->add_option("--from", gen->from, "Start: a date (local midnight in --tz) or an RFC 3339 timestamp");
  g->add_option("--to", gen->to, "End (exclusive)");
  g->add_option("--tz", gen->tz, "IANA time zone of days and weeks")->capture_default_str();
  g->add_option("--format", gen->format, "json | csv | pdf")->capture_default_str();
  g->add_option("-o,--output", gen->output, "Output file, - for stdout")->type_name("FILE|-");
  g->add_option("--section", gen->section, "CSV: the section to write (kpis for the KPIs)");
  g->add_flag("--exact", gen->exact, "Compute from raw rows instead of rollups");
  g->add_flag("--local", gen->local, "Generate in this process, on the database, instead of through dmanalyticsd");
  g->callback(ctx.command([gen, &ctx] { run_generate(ctx, *gen); }));

  auto list = std::make_shared<ListCommand>();
  auto* l = report->add_subcommand("list", "List stored reports, newest first");
  l->add_option("--type", list->type, "Only this type");
  l->add_option("--since", list->since, "Only reports started since DATE or timestamp");
  l->add_option("--limit", list->limit, "At most N reports")->capture_default_str()->check(CLI::PositiveNumber);
  l->add_option("--format", list->format, "table | csv | json")->capture_default_str();
  l->add_flag("--local", list->local, local_help);
  l->callback(ctx.command([list, &ctx] { run_list(ctx, *list); }));

  auto show = std::make_shared<ShowCommand>();
  auto* sh = report->add_subcommand("show", "A stored report's metadata and KPIs");
  sh->add_option("id", show->id, "Report id")->required();
  sh->add_option("--format", show->format, "table | json (the API's metadata)")->capture_default_str();
  sh->add_flag("--local", show->local, local_help);
  sh->callback(ctx.command([show, &ctx] { run_show(ctx, *show); }));

  auto get = std::make_shared<GetCommand>();
  auto* gt = report->add_subcommand("get", "Write a stored report's artifact");
  gt->add_option("id", get->id, "Report id")->required();
  gt->add_option("--format", get->format, "json | csv | pdf")->capture_default_str();
  gt->add_option("-o,--output", get->output, "Output file, - for stdout")->type_name("FILE|-");
  gt->add_option("--section", get->section, "CSV: the section to write (kpis for the KPIs)");
  gt->add_flag("--local", get->local, local_help);
  gt->callback(ctx.command([get, &ctx] { run_get(ctx, *get); }));

  auto rm = std::make_shared<RmCommand>();
  auto* r = report->add_subcommand("rm", "Delete a stored report");
  r->add_option("id", rm->id, "Report id")->required();
  r->add_flag("--local", rm->local, local_help);
  r->callback(ctx.command([rm, &ctx] { run_rm(ctx, *rm); }));

  auto diff = std::make_shared<DiffCommand>();
  auto* df = report->add_subcommand("diff", "Compare the KPIs of two stored reports");
  df->add_option("a", diff->a, "First report id")->required();
  df->add_option("b", diff->b, "Second report id")->required();
  df->add_flag("--local", diff->local, local_help);
  df->callback(ctx.command([diff, &ctx] { run_diff(ctx, *diff); }));
}

} // namespace dm::cli
