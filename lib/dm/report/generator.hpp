#pragma once
// Computes a report from the database (DESIGN 5): from the rollups by
// default, from raw rows with `exact`. Every KPI follows the definitions of
// DESIGN 5 to the letter; the integration tests recompute each one with plain
// SQL over the raw tables.

#include "dm/report/report.hpp"

#include <pqxx/pqxx>

namespace dm::report {

struct GenerateRequest {
  ReportType type = ReportType::engagement;
  Period period;
  bool exact = false;
  double struggling_accuracy = 0.70;     ///< reports.struggling_accuracy
  double slo_p99_ms = 1000;              ///< dashboard.alert_thresholds.response_time_ms
  double max_error_rate = 0.05;          ///< dashboard.alert_thresholds.error_rate
  double saturated_cpu = 0.9;            ///< dashboard.alert_thresholds.system_load
  util::Micros now = 0;                  ///< generated_at; 0 = the current time
  /// reports.export_dir: a stored report's artifacts are also written there
  /// (see export_artifacts in runner.hpp); empty = none.
  std::string export_dir;
};

/// Computes the report in one read-only snapshot of the database.
/// Throws dm::UsageError for an empty or reversed period.
Report generate_report(pqxx::connection_base& conn, const GenerateRequest& request);

/// Whether the rollups can answer a period exactly: its bounds fall on whole
/// hours and the zone only uses whole-hour offsets in it.
bool rollups_exact_for(const Period& period);

namespace detail {
// One function per report type, each in its own file.
void generate_engagement(pqxx::transaction_base& txn, const GenerateRequest& request, bool exact, Report& out);
void generate_learning(pqxx::transaction_base& txn, const GenerateRequest& request, bool exact, Report& out);
void generate_performance(pqxx::transaction_base& txn, const GenerateRequest& request, bool exact, Report& out);
void generate_business(pqxx::transaction_base& txn, const GenerateRequest& request, bool exact, Report& out);
} // namespace detail

} // namespace dm::report
