#include "dm/render/csv_renderer.hpp"

#include "dm/util/error.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>
#include <variant>

namespace dm::render {

namespace {

using report::Cell;

/// Leading characters that make a spreadsheet read a cell as a formula
/// (OWASP "CSV injection").
bool looks_like_formula(std::string_view s) noexcept
{
  if (s.empty())
    return false;
  switch (s.front()) {
  case '=':
  case '+':
  case '-':
  case '@':
  case '\t':
  case '\r':
    return true;
  default:
    return false;
  }
}

/// Builds one record at a time and hands it to the stream whole, so the
/// output grows line by line and the buffer is reused across rows.
///
/// Not thread-safe: one writer per render.
class RecordWriter {
public:
  explicit RecordWriter(std::ostream& os) : os_(os) {}

  void text(std::string_view s)
  {
    separate();
    const bool guarded = looks_like_formula(s);
    if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
      if (guarded)
        line_ += '\'';
      line_ += s;
      return;
    }
    line_ += '"';
    if (guarded)
      line_ += '\'';
    for (char c : s) {
      if (c == '"')
        line_ += '"';
      line_ += c;
    }
    line_ += '"';
  }

  void integer(std::int64_t v)
  {
    separate();
    char digits[24];
    line_.append(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
  }

  void number(double v)
  {
    separate();
    if (!std::isfinite(v))
      return;
    if (v == 0)
      v = 0; // folds -0 into 0
    char digits[32]; // the longest shortest form, -2.2250738585072014e-308, has 24
    line_.append(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
  }

  void empty() { separate(); }

  void cell(const Cell& c)
  {
    struct Visitor {
      RecordWriter& w;
      void operator()(std::monostate) const { w.empty(); }
      void operator()(const std::string& s) const { w.text(s); }
      void operator()(std::int64_t v) const { w.integer(v); }
      void operator()(double v) const { w.number(v); }
    };
    std::visit(Visitor{*this}, c);
  }

  /// Ends the record and writes it out.
  void end_record()
  {
    // A lone empty field would be a blank line, which readers skip.
    if (fields_ == 1 && line_.empty())
      line_ = "\"\"";
    line_ += "\r\n";
    os_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
    if (!os_)
      throw std::runtime_error("writing CSV failed after " + std::to_string(records_) + " records");
    ++records_;
    line_.clear();
    fields_ = 0;
  }

private:
  void separate()
  {
    if (fields_ != 0)
      line_ += ',';
    ++fields_;
  }

  std::ostream& os_;
  std::string line_;
  std::size_t fields_ = 0; ///< in the current record
  std::size_t records_ = 0;
};

void write_kpis(const report::Report& r, RecordWriter& w)
{
  const bool compared = r.type == report::ReportType::business ||
                        std::any_of(r.kpis.begin(), r.kpis.end(), [](const report::Kpi& k) { return k.has_comparison; });
  w.text("name");
  w.text("value");
  if (compared) {
    w.text("previous");
    w.text("change");
    w.text("trend");
  }
  w.end_record();

  for (const report::Kpi& kpi : r.kpis) {
    w.text(kpi.name);
    w.cell(kpi.value);
    if (compared) {
      if (kpi.has_comparison) {
        w.cell(kpi.previous);
        if (kpi.change)
          w.number(*kpi.change);
        else
          w.empty();
        w.text(report::name_of(kpi.trend));
      } else {
        w.empty();
        w.empty();
        w.empty();
      }
    }
    w.end_record();
  }
}

void check_row_widths(const report::Section& s)
{
  for (std::size_t i = 0; i < s.rows.size(); ++i)
    if (s.rows[i].size() != s.columns.size())
      throw std::logic_error("row " + std::to_string(i) + " of section '" + s.name + "' has " +
                             std::to_string(s.rows[i].size()) + " cells for " +
                             std::to_string(s.columns.size()) + " columns");
}

void write_section(const report::Section& s, RecordWriter& w)
{
  for (const report::Column& c : s.columns)
    w.text(c.name);
  w.end_record();
  for (const auto& row : s.rows) {
    for (const Cell& c : row)
      w.cell(c);
    w.end_record();
  }
}

[[noreturn]] void throw_unknown_section(const report::Report& r, std::string_view name)
{
  std::string message = "unknown section '";
  message += name;
  message += "' (sections of this ";
  message += report::name_of(r.type);
  message += " report: kpis";
  for (const report::Section& s : r.sections) {
    message += ", ";
    message += s.name;
  }
  message += ')';
  throw UsageError(message);
}

} // namespace

std::string csv_text_field(std::string_view text)
{
  std::string out;
  const bool guarded = looks_like_formula(text);
  const bool quoted = text.find_first_of(",\"\r\n") != std::string_view::npos;
  if (quoted)
    out += '"';
  if (guarded)
    out += '\'';
  for (char c : text) {
    if (c == '"')
      out += '"';
    out += c;
  }
  if (quoted)
    out += '"';
  return out;
}

void render_csv(const report::Report& report, std::string_view section, std::ostream& os)
{
  RecordWriter writer(os);
  if (section == "kpis") {
    write_kpis(report, writer);
    return;
  }
  const report::Section* s = report.section(section);
  if (s == nullptr)
    throw_unknown_section(report, section);
  check_row_widths(*s);
  write_section(*s, writer);
}

} // namespace dm::render
