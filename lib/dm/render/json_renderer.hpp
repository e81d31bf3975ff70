#pragma once
// The JSON form of a Report (DESIGN 5), the one the CLI prints with
// --format json and the HTTP API serves.

#include "dm/report/report.hpp"

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <iosfwd>
#include <string>

namespace dm::render {

/// The report as a JSON value of exactly this shape, keys in this order:
///
///     {"report":{"id","type","version","generated_at","period":{"from","to","tz"},
///                "params":{name: text},"source"},
///      "kpis":{name: number | {"value","previous","change","trend"}},
///      "sections":[{"name","title","columns":[{"name","type"}],"rows":[[cell, ...]]}],
///      "recommendations":[{"rule","subject","value","threshold","text"}]}
///
/// - Instants (generated_at, from, to) are RFC 3339 UTC strings.
/// - A KPI with has_comparison is the object form; its change is null when
///   absent and its trend is "up", "down" or "flat". Other KPIs are bare values.
/// - Cells and KPI values: NULL -> null, text -> string, integer -> number,
///   double -> number. An integer of magnitude above 2^53 is written as a
///   decimal string, so that a reader holding numbers as doubles (JavaScript)
///   never gets a silently rounded value: every JSON number written is exact.
/// - NaN and infinities, which JSON cannot express, are written as null;
///   negative zero as 0.
/// - A name given twice in params or kpis keeps its first position and its
///   last value.
/// Allocates from `sp` (the default resource when null).
/// Throws std::logic_error when a row's cell count differs from its
/// section's column count: the report is malformed and nothing is produced.
boost::json::value to_json(const report::Report& report, boost::json::storage_ptr sp = {});

/// Writes to_json(report) compactly to `os`, without a trailing newline.
void render_json(const report::Report& report, std::ostream& os);

/// to_json(report) serialised compactly, without a trailing newline.
std::string render_json(const report::Report& report);

} // namespace dm::render
