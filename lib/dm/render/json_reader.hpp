#pragma once
// The inverse of json_renderer: a Report read back from its JSON form, so
// that a stored JSON artifact can be rendered again in another shape (one CSV
// section) without generating the report a second time.

#include "dm/report/report.hpp"

#include <boost/json/value.hpp>

#include <stdexcept>
#include <string_view>

namespace dm::render {

/// The JSON text is not the form render_json() writes. The message names the
/// place (`sections[1].rows[4][2]`) and what was expected there.
class ReportJsonError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// `text` parsed as one JSON document (trailing whitespace allowed), with
/// every double the one nearest to its decimal text, as std::from_chars reads
/// it: Boost.JSON 1.81's own parser is off by one unit in the last place for
/// some numbers, so that a value written and read back would change.
/// Throws ReportJsonError for malformed JSON, naming the byte.
boost::json::value parse_json_exact(std::string_view text);

/// The Report whose render_json() is `text` (trailing whitespace allowed).
///
/// Round trip: for a Report `r`, render_json(read_report_json(render_json(r)))
/// equals render_json(r), and every CSV section of the result equals that of
/// `r`, byte for byte.
/// - Numbers are read exactly: a number with a fraction or an exponent is the
///   double nearest to its decimal text (the one that was written), an
///   integer stays an integer.
/// - A decimal string in an integer column, or as a KPI value or previous
///   value, is read as the integer it stands for when its magnitude is above
///   2^53 (the writer's form of such integers); any other string stays text.
/// - null reads as a NULL cell; a null recommendation value or threshold as
///   NaN (the writer's form of NaN).
/// - What the JSON does not carry keeps its default: column and KPI labels
///   (empty: the renderers use the name), charts. A KPI's type is integer for
///   an integer value, number otherwise. Only the PDF uses these.
/// Throws ReportJsonError for malformed JSON or a wrong shape.
report::Report read_report_json(std::string_view text);

} // namespace dm::render
