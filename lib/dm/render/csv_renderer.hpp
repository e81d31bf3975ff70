#pragma once
// The CSV form of one section of a Report (DESIGN 5), the one the CLI writes
// with --format csv --section NAME.

#include "dm/report/report.hpp"

#include <iosfwd>
#include <string>
#include <string_view>

namespace dm::render {

/// Writes one part of `report` as RFC 4180 CSV to `os`, one record at a time
/// as it goes (memory does not grow with the row count; there is no row cap).
///
/// `section` is a section name of the report, or `kpis` for the KPIs (which
/// wins over a section of that name). Output:
/// - first a header of the column names, then one record per row; every line
///   ends with CRLF; no byte order mark.
/// - `kpis`: header `name,value`, one record per KPI. When the report is a
///   business report or any KPI carries a comparison, the header is
///   `name,value,previous,change,trend` for every record, and those three
///   fields are empty for a KPI without comparison and change is empty when
///   absent: one fixed header per file, so tools see a rectangular table.
/// - a field is quoted only when it holds a comma, a double quote, CR or LF;
///   quotes inside are doubled.
/// - formula injection guard: a text field (every string cell, whatever its
///   column type, and the header and KPI names and trends) that begins with
///   `=`, `+`, `-`, `@`, TAB or CR gets a leading `'`, before quoting.
///   Numbers are never guarded: a negative integer stays `-3`.
/// - integers in full; doubles in the shortest form that reads back as the
///   same double (`0.1`, `3`, `1e+300`), negative zero as `0`; NULL, NaN and
///   infinities as an empty field. A record whose only field is empty is
///   written `""`, since a blank line is skipped by most readers.
///
/// Throws dm::UsageError, before writing anything, when the report has no
/// such section; its message names the section and lists the known ones
/// (`kpis` first). Throws std::logic_error, before writing anything, when a
/// row's cell count differs from the section's column count.
/// Throws std::runtime_error when `os` fails while writing (a partial file
/// may have been written).
void render_csv(const report::Report& report, std::string_view section, std::ostream& os);

/// One text field as render_csv writes it: the formula guard, then quoting
/// when needed. For the other tables the CLI prints as CSV.
std::string csv_text_field(std::string_view text);

} // namespace dm::render
