#pragma once
// One generation of a stored report, the same for the CLI (`report generate
// --local`) and the daemon (POST /reports/generate, schedules): record it as
// running, compute it, render every format, store the artifacts, apply the
// retention. A failure is recorded on the report row and rethrown.

#include "dm/config/config.hpp"
#include "dm/report/generator.hpp"
#include "dm/report/report.hpp"

#include <boost/json/object.hpp>
#include <pqxx/pqxx>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace dm::report {

/// The formats every stored report has.
inline constexpr std::string_view stored_formats[] = {"json", "csv", "pdf"};

struct RunOutput {
  Report report;
  std::map<std::string, std::string> artifacts; ///< json, csv (main section), pdf
  std::string section_csv;                      ///< the section asked for, when one was
};

struct StoredReport;

/// A stored report's metadata as the API and `report show --format json`
/// give it: id, type, version, status, params, period, source, times, error,
/// kpis and artifacts (format -> size, sha256).
boost::json::object metadata_json(const StoredReport& report);

/// A generation request with the thresholds of the configuration.
GenerateRequest request_from_config(const config::Config& config, ReportType type, const Period& period, bool exact);

/// Renders `report` in one format ("json", "csv" with `section` or the main
/// one, "pdf"). Throws UsageError for an unknown format or section.
std::string render_report(const Report& report, std::string_view format, const std::string& section = "");

/// The params object stored with a report (its identity for versioning).
std::string params_json(const std::vector<std::pair<std::string, std::string>>& params);

/// The file name of an exported artifact: dmanalytics-TYPE-ID-vVERSION.FORMAT.
std::string export_file_name(std::string_view type, std::int64_t id, int version, std::string_view format);

/// Writes every artifact into `dir` under export_file_name, each through a
/// temporary file renamed into place, so a reader never sees half a file.
/// On failure removes what it wrote and throws, naming the file.
void export_artifacts(const std::filesystem::path& dir, const Report& report,
                      const std::map<std::string, std::string>& artifacts);

/// Deletes the files of `dir` named as export_file_name names them whose
/// report is no longer in the database; nothing else is touched. Returns how
/// many were deleted.
std::int64_t prune_exports(pqxx::connection_base& conn, const std::filesystem::path& dir);

/// Step 1: records a running report; returns its id and version.
std::pair<std::int64_t, int> begin_report(pqxx::connection_base& conn, const GenerateRequest& request,
                                          const std::vector<std::pair<std::string, std::string>>& params);

/// Step 2: generates, renders, exports (request.export_dir) and stores
/// report `id`; on failure marks it failed and rethrows. Then applies
/// `keep_days` retention (0 = keep all).
RunOutput finish_report(pqxx::connection_base& conn, std::int64_t id, int version, const GenerateRequest& request,
                        const std::vector<std::pair<std::string, std::string>>& params, int keep_days,
                        const std::string& csv_section = "");

/// Both steps.
RunOutput run_report(pqxx::connection_base& conn, const GenerateRequest& request,
                     const std::vector<std::pair<std::string, std::string>>& params, int keep_days,
                     const std::string& csv_section = "");

} // namespace dm::report
