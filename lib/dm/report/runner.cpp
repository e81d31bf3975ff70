#include "dm/report/runner.hpp"

#include "dm/render/csv_renderer.hpp"
#include "dm/render/json_renderer.hpp"
#include "dm/render/pdf_renderer.hpp"
#include "dm/report/store.hpp"
#include "dm/util/error.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <regex>
#include <set>
#include <unistd.h>
#include <sstream>

namespace dm::report {

boost::json::object metadata_json(const StoredReport& s)
{
  boost::json::object o{{"id", s.id},
                        {"type", s.type},
                        {"version", s.version},
                        {"status", s.status},
                        {"period", {{"from", s.period_from}, {"to", s.period_to}, {"tz", s.tz}}},
                        {"source", s.source},
                        {"started_at", s.started_at}};
  auto parse_or_empty = [](const std::string& text) -> boost::json::value {
    if (text.empty())
      return boost::json::object{};
    boost::json::error_code ec;
    auto v = boost::json::parse(text, ec);
    return ec ? boost::json::value(boost::json::object{}) : v;
  };
  o["params"] = parse_or_empty(s.params);
  o["finished_at"] = s.finished_at.empty() ? boost::json::value(nullptr) : boost::json::value(s.finished_at);
  o["error"] = s.error.empty() ? boost::json::value(nullptr) : boost::json::value(s.error);
  o["kpis"] = parse_or_empty(s.kpis);
  boost::json::object artifacts;
  for (const auto& [format, meta] : s.artifacts)
    artifacts[format] = {{"size", meta.first}, {"sha256", meta.second}};
  o["artifacts"] = std::move(artifacts);
  return o;
}

GenerateRequest request_from_config(const config::Config& cfg, ReportType type, const Period& period, bool exact)
{
  GenerateRequest request;
  request.type = type;
  request.period = period;
  request.exact = exact;
  request.struggling_accuracy = cfg.reports.struggling_accuracy;
  request.slo_p99_ms = cfg.dashboard.alert_thresholds.response_time_ms;
  request.max_error_rate = cfg.dashboard.alert_thresholds.error_rate;
  request.saturated_cpu = cfg.dashboard.alert_thresholds.system_load;
  request.export_dir = cfg.reports.export_dir;
  return request;
}

std::string render_report(const Report& r, std::string_view format, const std::string& section)
{
  if (format == "json")
    return render::render_json(r) + "\n";
  if (format == "csv") {
    if (!section.empty()) {
      const auto& known = section_names_of(r.type);
      if (std::find(known.begin(), known.end(), section) == known.end()) {
        std::string list;
        for (auto n : known)
          list += (list.empty() ? "" : ", ") + std::string(n);
        throw UsageError(fmt::format("section '{}': a {} report has the sections {}", section,
                                     name_of(r.type), list));
      }
    }
    std::ostringstream out;
    render::render_csv(r, section.empty() ? main_section_of(r.type) : section, out);
    return out.str();
  }
  if (format == "pdf")
    return render::render_pdf(r);
  throw UsageError(fmt::format("unknown format '{}': expected json, csv or pdf", format));
}

std::string params_json(const std::vector<std::pair<std::string, std::string>>& params)
{
  boost::json::object o;
  for (const auto& [k, v] : params)
    o[k] = v;
  return boost::json::serialize(o);
}

std::string export_file_name(std::string_view type, std::int64_t id, int version, std::string_view format)
{
  return fmt::format("dmanalytics-{}-{}-v{}.{}", type, id, version, format);
}

void export_artifacts(const std::filesystem::path& dir, const Report& report,
                      const std::map<std::string, std::string>& artifacts)
{
  std::vector<std::filesystem::path> written;
  auto undo = [&written] {
    std::error_code ec;
    for (const auto& p : written)
      std::filesystem::remove(p, ec);
  };
  for (const auto& [format, bytes] : artifacts) {
    const auto path = dir / export_file_name(name_of(report.type), report.id, report.version, format);
    const auto temporary = dir / ("." + path.filename().string() + ".part");
    std::FILE* f = std::fopen(temporary.c_str(), "wb");
    const bool ok = f != nullptr && std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() &&
                    std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    const int error = errno;
    if (f != nullptr)
      std::fclose(f);
    std::error_code ec;
    if (ok)
      std::filesystem::rename(temporary, path, ec);
    if (!ok || ec) {
      std::filesystem::remove(temporary, ec);
      undo();
      throw std::runtime_error(fmt::format("reports.export_dir: cannot write {}: {}", path.string(),
                                           ok ? ec.message() : std::strerror(error)));
    }
    written.push_back(path);
  }
}

std::int64_t prune_exports(pqxx::connection_base& conn, const std::filesystem::path& dir)
{
  // dmanalytics-TYPE-ID-vVERSION.FORMAT, exactly as export_file_name makes it.
  static const std::regex name(R"(dmanalytics-(performance|engagement|learning|business)-([0-9]{1,18})-v[0-9]{1,9}\.(json|csv|pdf))");
  std::vector<std::pair<std::filesystem::path, std::int64_t>> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (entry.is_regular_file() && std::regex_match(file, m, name))
      files.emplace_back(entry.path(), std::stoll(m[2].str()));
  }
  if (files.empty())
    return 0;
  std::set<std::int64_t> existing;
  {
    std::string ids = "{";
    for (const auto& f : files)
      ids += (ids.size() > 1 ? "," : "") + std::to_string(f.second);
    ids += "}";
    pqxx::read_transaction txn{conn};
    for (const auto& r : txn.exec_params("SELECT id FROM dm.reports WHERE id = ANY($1::bigint[])", ids))
      existing.insert(r[0].as<std::int64_t>());
  }
  std::int64_t removed = 0;
  for (const auto& [path, id] : files)
    if (!existing.count(id) && std::filesystem::remove(path, ec))
      ++removed;
  return removed;
}

std::pair<std::int64_t, int> begin_report(pqxx::connection_base& conn, const GenerateRequest& request,
                                          const std::vector<std::pair<std::string, std::string>>& params)
{
  ReportStore store(conn);
  return store.begin(request.type, request.period, params_json(params));
}

RunOutput finish_report(pqxx::connection_base& conn, std::int64_t id, int version, const GenerateRequest& request,
                        const std::vector<std::pair<std::string, std::string>>& params, int keep_days,
                        const std::string& csv_section)
{
  ReportStore store(conn);
  RunOutput out;
  try {
    out.report = generate_report(conn, request);
    out.report.id = id;
    out.report.version = version;
    out.report.params = params;
    for (auto format : stored_formats)
      out.artifacts[std::string(format)] = render_report(out.report, format);
    // A requested section is rendered (and so validated) before anything is stored.
    if (!csv_section.empty())
      out.section_csv = render_report(out.report, "csv", csv_section);
    if (!request.export_dir.empty())
      export_artifacts(request.export_dir, out.report, out.artifacts);
  } catch (const std::exception& e) {
    store.fail(id, full_message(e));
    throw;
  }
  store.succeed(id, out.report, out.artifacts);
  if (const auto removed = store.apply_retention(keep_days); removed > 0) {
    spdlog::info("removed {} report(s) older than {} days", removed, keep_days);
    if (!request.export_dir.empty())
      prune_exports(conn, request.export_dir);
  }
  return out;
}

RunOutput run_report(pqxx::connection_base& conn, const GenerateRequest& request,
                     const std::vector<std::pair<std::string, std::string>>& params, int keep_days,
                     const std::string& csv_section)
{
  const auto [id, version] = begin_report(conn, request, params);
  return finish_report(conn, id, version, request, params, keep_days, csv_section);
}

} // namespace dm::report
