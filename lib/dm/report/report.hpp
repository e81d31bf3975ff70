#pragma once
// The one in-memory form of a generated report (DESIGN 5): KPIs plus named
// sections of typed columns and rows. Every renderer (JSON, CSV, PDF) reads
// this and nothing else; the generators fill it.

#include "dm/util/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace dm::report {

enum class ReportType { performance, engagement, learning, business };

/// How a column's values are meant: the renderers format and align by it.
enum class ColumnType {
  text,      ///< std::string
  integer,   ///< std::int64_t
  number,    ///< double (ms, rps, averages)
  ratio,     ///< double in [0, 1] shown as a percentage in the PDF, plain in JSON/CSV
  date,      ///< std::string "YYYY-MM-DD" (a local day)
  timestamp, ///< std::string RFC 3339 with offset
};

/// A cell: NULL, text, integer or number.
using Cell = std::variant<std::monostate, std::string, std::int64_t, double>;

struct Column {
  std::string name;
  ColumnType type = ColumnType::text;
  std::string label; ///< for people (PDF headers); empty = name
};

/// How the PDF draws a section besides its table.
enum class Chart { none, line, bar };

struct Section {
  std::string name;  ///< `daily`, `topics`, ...: the --section name
  std::string title; ///< "Daily activity"
  std::vector<Column> columns;
  std::vector<std::vector<Cell>> rows;
  Chart chart = Chart::none;
  std::string chart_x;              ///< column on the x axis (line: a date or timestamp; bar: a category)
  std::vector<std::string> chart_y; ///< numeric columns drawn
};

/// Direction of a business KPI against the previous period (DESIGN 5).
enum class Trend { up, down, flat };

struct Kpi {
  std::string name;   ///< `active_users`
  std::string label;  ///< "Active users"
  ColumnType type = ColumnType::integer; ///< integer, number or ratio
  Cell value;
  /// Business KPIs only: the same KPI over the previous period of equal length.
  bool has_comparison = false;
  Cell previous;                ///< when has_comparison
  std::optional<double> change; ///< (value - previous) / previous; nullopt when previous = 0
  Trend trend = Trend::flat;
};

struct Recommendation {
  std::string rule;    ///< `p99_above_slo`
  std::string subject; ///< `api /v1/answers`
  double value = 0;
  double threshold = 0;
  std::string text;
};

struct Period {
  util::Micros from = 0; ///< inclusive
  util::Micros to = 0;   ///< exclusive
  std::string tz = "UTC";
};

struct Report {
  std::int64_t id = 0; ///< 0 until stored
  ReportType type = ReportType::engagement;
  int version = 0; ///< 0 until stored
  util::Micros generated_at = 0;
  Period period;
  std::vector<std::pair<std::string, std::string>> params; ///< e.g. {"exact","false"}
  std::string source = "rollup";                           ///< rollup | exact
  std::vector<Kpi> kpis;
  std::vector<Section> sections;
  std::vector<Recommendation> recommendations; ///< performance only

  /// The section named `name`, or nullptr.
  const Section* section(std::string_view name) const;
};

std::string_view name_of(ReportType t) noexcept;
std::optional<ReportType> report_type_from_name(std::string_view name) noexcept;
/// The sections a type's report has, in order, `kpis` (the KPIs as rows) first.
const std::vector<std::string_view>& section_names_of(ReportType t);
/// The section --format csv writes by default for a type.
std::string_view main_section_of(ReportType t) noexcept;
std::string_view name_of(Trend t) noexcept;
/// A human title: "Engagement report".
std::string title_of(ReportType t);

} // namespace dm::report
