#pragma once
// Generated reports in PostgreSQL: a `reports` row per generation (running,
// then succeeded or failed) and its artifacts. A failed generation keeps its
// row with the error and has no artifact.

#include "dm/report/report.hpp"

#include <pqxx/pqxx>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dm::report {

struct StoredReport {
  std::int64_t id = 0;
  std::string type;
  int version = 0;
  std::string status;
  std::string params; ///< JSON
  std::string period_from, period_to, tz;
  std::string source;
  std::string started_at, finished_at; ///< RFC 3339 UTC; finished empty while running
  std::string error;
  std::string kpis; ///< JSON object name -> value (or {value, previous, change, trend})
  std::map<std::string, std::pair<std::int64_t, std::string>> artifacts; ///< format -> (size, sha256)
};

struct ListFilter {
  std::optional<std::string> type;
  std::optional<util::Micros> since;
  /// Only reports with a smaller id (the cursor of the page before).
  std::optional<std::int64_t> before_id;
  int limit = 50;
};

class ReportStore {
public:
  explicit ReportStore(pqxx::connection_base& conn) : conn_(conn) {}

  /// Records a running generation; returns its id and version (1 + the latest
  /// version with the same type and parameters).
  std::pair<std::int64_t, int> begin(ReportType type, const Period& period, const std::string& params_json);
  /// Stores the artifacts and marks the report succeeded, in one transaction.
  void succeed(std::int64_t id, const Report& report, const std::map<std::string, std::string>& artifacts);
  /// Marks the report failed with its error; no artifact is kept.
  void fail(std::int64_t id, const std::string& error) noexcept;

  /// Throws dm::NotFound.
  StoredReport get(std::int64_t id);
  std::vector<StoredReport> list(const ListFilter& filter);
  /// The artifact bytes; throws dm::NotFound for an unknown report or format.
  std::string artifact(std::int64_t id, const std::string& format);
  /// Deletes a report and its artifacts; throws dm::NotFound.
  void remove(std::int64_t id);
  /// Marks failed every 'running' report whose generating process on this host
  /// is gone (a crash or kill); returns how many. begin() and list() call it.
  std::int64_t record_crashed_runs();
  /// Deletes reports finished more than `keep_days` days ago; returns how many.
  std::int64_t apply_retention(int keep_days);

private:
  pqxx::connection_base& conn_;
};

/// SHA-256 of bytes, lowercase hex.
std::string sha256_hex(const std::string& bytes);

} // namespace dm::report
