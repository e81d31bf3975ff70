// dmanalytics report generate | list | show | get | rm | diff

#include "context.hpp"

#include "dm/render/csv_renderer.hpp"
#include "dm/render/json_renderer.hpp"
#include "dm/render/pdf_renderer.hpp"
#include "dm/report/calendar.hpp"
#include "dm/report/generator.hpp"
#include "dm/report/store.hpp"
#include "dm/util/error.hpp"

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

std::string render(const report::Report& r, const std::string& format, const std::string& section)
{
  if (format == "json")
    return render::render_json(r) + "\n";
  if (format == "csv") {
    std::ostringstream out;
    render::render_csv(r, section.empty() ? report::main_section_of(r.type) : section, out);
    return out.str();
  }
  return render::render_pdf(r);
}

} // namespace

report::GenerateRequest request_for(Context& ctx, report::ReportType type, const report::Period& period, bool exact)
{
  const auto& cfg = ctx.config();
  report::GenerateRequest request;
  request.type = type;
  request.period = period;
  request.exact = exact;
  request.struggling_accuracy = cfg.reports.struggling_accuracy;
  request.slo_p99_ms = cfg.dashboard.alert_thresholds.response_time_ms;
  request.max_error_rate = cfg.dashboard.alert_thresholds.error_rate;
  request.saturated_cpu = cfg.dashboard.alert_thresholds.system_load;
  return request;
}

StoredGeneration generate_and_store(Context& ctx, pqxx::connection_base& conn, const report::GenerateRequest& request,
                                    const std::vector<std::pair<std::string, std::string>>& params,
                                    const std::string& csv_section)
{
  report::ReportStore store(conn);
  boost::json::object params_json;
  for (const auto& [k, v] : params)
    params_json[k] = v;
  const auto [id, version] = store.begin(request.type, request.period, boost::json::serialize(params_json));
  StoredGeneration out;
  try {
    out.report = report::generate_report(conn, request);
    out.report.id = id;
    out.report.version = version;
    out.report.params = params;
    out.artifacts["json"] = render(out.report, "json", "");
    out.artifacts["csv"] = render(out.report, "csv", "");
    out.artifacts["pdf"] = render(out.report, "pdf", "");
    // A requested section is rendered (and so validated) before anything is stored.
    if (!csv_section.empty())
      out.section_csv = render(out.report, "csv", csv_section);
  } catch (const std::exception& e) {
    store.fail(id, full_message(e));
    throw;
  }
  store.succeed(id, out.report, out.artifacts);
  if (const auto removed = store.apply_retention(ctx.config().reports.keep_days); removed > 0)
    spdlog::info("removed {} report(s) older than {} days", removed, ctx.config().reports.keep_days);
  return out;
}

namespace {

void run_generate(Context& ctx, const GenerateCommand& cmd)
{
  const auto type = report::report_type_from_name(cmd.type);
  if (!type)
    throw UsageError(fmt::format("unknown report type '{}': expected performance, engagement, learning or business", cmd.type));
  if (cmd.format != "json" && cmd.format != "csv" && cmd.format != "pdf")
    throw UsageError(fmt::format("unknown --format '{}': expected json, csv or pdf", cmd.format));
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
  if (cmd.format == "pdf" && (cmd.output == "-" || cmd.output.empty()) && isatty(1) == 1)
    throw UsageError("refusing to write a PDF to the terminal: use -o FILE or redirect stdout");
  auto opt = [](const std::string& s) { return s.empty() ? std::nullopt : std::optional<std::string>(s); };
  const report::Period period = report::resolve_period(opt(cmd.period), opt(cmd.from), opt(cmd.to), cmd.tz, util::now());
  std::vector<std::pair<std::string, std::string>> params{{"exact", cmd.exact ? "true" : "false"}};
  if (!cmd.period.empty())
    params.emplace_back("period", cmd.period);
  auto conn = ctx.connect();
  const bool show_progress = Context::stderr_is_terminal() && !ctx.quiet();
  if (show_progress)
    std::cerr << fmt::format("generating the {} report…", cmd.type) << std::flush;
  auto clear_line = [show_progress] {
    if (show_progress)
      std::cerr << "\r\033[K" << std::flush;
  };
  StoredGeneration g;
  try {
    g = generate_and_store(ctx, *conn, request_for(ctx, *type, period, cmd.exact), params, cmd.section);
  } catch (...) {
    clear_line();
    throw;
  }
  clear_line();
  write_output(cmd.output, cmd.format,
               cmd.format == "csv" && !cmd.section.empty() ? g.section_csv : g.artifacts.at(cmd.format));
  if (!ctx.quiet())
    std::cerr << fmt::format("report {} ({} v{}, {} to {}, {})\n", g.report.id, cmd.type, g.report.version,
                             report::format_local(period.from, period.tz), report::format_local(period.to, period.tz),
                             g.report.source);
}

std::int64_t parse_id(const std::string& text)
{
  try {
    std::size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v > 0)
      return v;
  } catch (const std::exception&) {
  }
  throw UsageError(fmt::format("'{}' is not a report id", text));
}

void print_reports(const std::vector<report::StoredReport>& reports, const std::string& format)
{
  if (format == "json") {
    boost::json::array arr;
    for (const auto& s : reports)
      arr.push_back({{"id", s.id}, {"type", s.type}, {"version", s.version}, {"status", s.status},
                     {"period", {{"from", s.period_from}, {"to", s.period_to}, {"tz", s.tz}}},
                     {"started_at", s.started_at}, {"finished_at", s.finished_at}, {"error", s.error}});
    std::cout << boost::json::serialize(arr) << "\n";
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
  const auto doc = boost::json::parse(json);
  for (const auto& kv : doc.as_object()) {
    const boost::json::value* v = &kv.value();
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
  g->add_flag("--local", gen->local, "Generate in this process, on the database");
  g->callback(ctx.command([gen, &ctx] { run_generate(ctx, *gen); }));

  struct ListCommand {
    std::string type, since, format = "table";
    int limit = 50;
  };
  auto list = std::make_shared<ListCommand>();
  auto* l = report->add_subcommand("list", "List stored reports, newest first");
  l->add_option("--type", list->type, "Only this type");
  l->add_option("--since", list->since, "Only reports started since DATE or timestamp");
  l->add_option("--limit", list->limit, "At most N reports")->capture_default_str();
  l->add_option("--format", list->format, "table | csv | json")->capture_default_str();
  l->callback(ctx.command([list, &ctx] {
    report::ListFilter f;
    if (!list->type.empty()) {
      if (!report::report_type_from_name(list->type))
        throw UsageError(fmt::format("unknown report type '{}'", list->type));
      f.type = list->type;
    }
    if (!list->since.empty()) {
      f.since = util::parse_date_or_timestamp(list->since);
      if (!f.since)
        throw UsageError(fmt::format("--since '{}': expected a date or an RFC 3339 timestamp", list->since));
    }
    if (list->format != "table" && list->format != "csv" && list->format != "json")
      throw UsageError(fmt::format("unknown --format '{}': expected table, csv or json", list->format));
    f.limit = list->limit;
    auto conn = ctx.connect();
    print_reports(report::ReportStore(*conn).list(f), list->format);
  }));

  auto show_id = std::make_shared<std::string>();
  auto* sh = report->add_subcommand("show", "A stored report's metadata and KPIs");
  sh->add_option("id", *show_id, "Report id")->required();
  sh->callback(ctx.command([show_id, &ctx] {
    auto conn = ctx.connect();
    const auto s = report::ReportStore(*conn).get(parse_id(*show_id));
    std::cout << fmt::format("report    {} ({} v{})\nstatus    {}\nperiod    {} to {} ({})\nsource    {}\nstarted   {}\nfinished  {}\n",
                             s.id, s.type, s.version, s.status, s.period_from, s.period_to, s.tz, s.source,
                             s.started_at, s.finished_at);
    if (!s.error.empty())
      std::cout << "error     " << s.error << "\n";
    for (const auto& [format, a] : s.artifacts)
      std::cout << fmt::format("artifact  {:<4} {:>9} bytes  sha256 {}\n", format, a.first, a.second);
    for (const auto& [name, v] : kpi_values(s.kpis))
      std::cout << fmt::format("  {:<22} {}\n", name, v ? fmt::format("{:.6g}", *v) : "null");
  }));

  struct GetCommand {
    std::string id, format = "json", output = "-";
  };
  auto get = std::make_shared<GetCommand>();
  auto* gt = report->add_subcommand("get", "Write a stored report's artifact");
  gt->add_option("id", get->id, "Report id")->required();
  gt->add_option("--format", get->format, "json | csv | pdf")->capture_default_str();
  gt->add_option("-o,--output", get->output, "Output file, - for stdout");
  gt->callback(ctx.command([get, &ctx] {
    if (get->format != "json" && get->format != "csv" && get->format != "pdf")
      throw UsageError(fmt::format("unknown --format '{}': expected json, csv or pdf", get->format));
    auto conn = ctx.connect();
    write_output(get->output, get->format, report::ReportStore(*conn).artifact(parse_id(get->id), get->format));
  }));

  auto rm_id = std::make_shared<std::string>();
  auto* rm = report->add_subcommand("rm", "Delete a stored report");
  rm->add_option("id", *rm_id, "Report id")->required();
  rm->callback(ctx.command([rm_id, &ctx] {
    auto conn = ctx.connect();
    report::ReportStore(*conn).remove(parse_id(*rm_id));
  }));

  auto diff_ids = std::make_shared<std::pair<std::string, std::string>>();
  auto* df = report->add_subcommand("diff", "Compare the KPIs of two stored reports");
  df->add_option("a", diff_ids->first, "First report id")->required();
  df->add_option("b", diff_ids->second, "Second report id")->required();
  df->callback(ctx.command([diff_ids, &ctx] {
    auto conn = ctx.connect();
    report::ReportStore store(*conn);
    const auto a = store.get(parse_id(diff_ids->first));
    const auto b = store.get(parse_id(diff_ids->second));
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
  }));
}

} // namespace dm::cli
