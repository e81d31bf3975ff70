#include "dm/render/json_reader.hpp"

#include "dm/util/time.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_stack.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>

namespace dm::render {

namespace json = boost::json;

namespace {

using report::Cell;
using report::ColumnType;

/// 2^53: the writer spells integers of a larger magnitude as strings.
constexpr std::int64_t max_exact_integer = std::int64_t{1} << 53;

/// Builds a json::value like boost::json::parser does, except that doubles
/// are converted from their text with std::from_chars: Boost.JSON 1.81 parses
/// some shortest-form doubles one unit in the last place off, which would
/// break the byte-identical round trip.
class ExactNumberHandler {
public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack st;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&)
  {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&)
  {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&)
  {
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&)
  {
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&)
  {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&)
  {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&)
  {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&)
  {
    number_.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&)
  {
    number_.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view s, json::error_code&)
  {
    number_.append(s.data(), s.size());
    double exact = 0;
    const auto [end, ec] = std::from_chars(number_.data(), number_.data() + number_.size(), exact);
    // Out of range (1e400) keeps the parser's value, as boost::json::parse does.
    if (ec == std::errc() && end == number_.data() + number_.size())
      d = exact;
    number_.clear();
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&)
  {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&)
  {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

private:
  std::string number_;
};

} // namespace

json::value parse_json_exact(std::string_view text)
{
  json::basic_parser<ExactNumberHandler> parser(json::parse_options{});
  parser.handler().st.reset();
  json::error_code ec;
  const std::size_t used = parser.write_some(true, text.data(), text.size(), ec);
  if (!ec && used < text.size())
    ec = json::error::extra_data;
  if (!ec)
    parser.write_some(false, nullptr, 0, ec);
  if (ec)
    throw ReportJsonError(fmt::format("malformed JSON: {} (byte {})", ec.message(), used));
  return parser.handler().st.release();
}

namespace {

/// Reads one part of the document, naming where it is in every error.
class Reader {
public:
  [[noreturn]] static void fail(const std::string& path, std::string_view expected)
  {
    throw ReportJsonError(fmt::format("report JSON: {}: expected {}", path, expected));
  }

  static const json::object& object(const json::value& v, const std::string& path)
  {
    if (!v.is_object())
      fail(path, "an object");
    return v.as_object();
  }

  static const json::array& array(const json::value& v, const std::string& path)
  {
    if (!v.is_array())
      fail(path, "an array");
    return v.as_array();
  }

  static const json::value& member(const json::object& o, std::string_view name, const std::string& path)
  {
    const json::value* v = o.if_contains(name);
    if (v == nullptr)
      fail(path.empty() ? std::string(name) : path + "." + std::string(name), "a member");
    return *v;
  }

  static std::string string(const json::value& v, const std::string& path)
  {
    if (!v.is_string())
      fail(path, "a string");
    return std::string(v.as_string());
  }

  static std::string string_member(const json::object& o, std::string_view name, const std::string& path)
  {
    return string(member(o, name, path), join(path, name));
  }

  static std::string join(const std::string& path, std::string_view name)
  {
    return path.empty() ? std::string(name) : path + "." + std::string(name);
  }

  static std::string index(const std::string& path, std::size_t i) { return fmt::format("{}[{}]", path, i); }
};

/// `text` as the integer the writer spelt as a string, when it is one.
std::optional<std::int64_t> big_integer(std::string_view text)
{
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    return std::nullopt;
  if (v >= -max_exact_integer && v <= max_exact_integer)
    return std::nullopt;
  // Only the canonical spelling: "+5", "007" were never written by the writer.
  char digits[24];
  const auto out = std::to_chars(digits, digits + sizeof digits, v).ptr;
  if (std::string_view(digits, static_cast<std::size_t>(out - digits)) != text)
    return std::nullopt;
  return v;
}

/// A cell; `integer_strings` reads a big-integer string as an integer.
Cell cell(const json::value& v, bool integer_strings, const std::string& path)
{
  switch (v.kind()) {
  case json::kind::null:
    return std::monostate{};
  case json::kind::int64:
    return v.get_int64();
  case json::kind::uint64:
    Reader::fail(path, "an integer within the range of a 64-bit signed integer");
  case json::kind::double_:
    return v.get_double();
  case json::kind::string: {
    const std::string_view s(v.get_string().data(), v.get_string().size());
    if (integer_strings)
      if (const auto i = big_integer(s))
        return *i;
    return std::string(s);
  }
  default:
    Reader::fail(path, "null, a number or a string");
  }
}

/// A number where the writer wrote a double (NaN as null).
double number(const json::value& v, const std::string& path)
{
  if (v.is_null())
    return std::numeric_limits<double>::quiet_NaN();
  if (v.is_double())
    return v.get_double();
  if (v.is_int64())
    return static_cast<double>(v.get_int64());
  Reader::fail(path, "a number or null");
}

std::int64_t integer(const json::value& v, const std::string& path)
{
  if (v.is_int64())
    return v.get_int64();
  if (v.is_string())
    if (const auto i = big_integer(std::string_view(v.get_string().data(), v.get_string().size())))
      return *i;
  Reader::fail(path, "an integer");
}

util::Micros instant(const json::value& v, const std::string& path)
{
  const std::string text = Reader::string(v, path);
  const auto t = util::parse_rfc3339(text);
  if (!t)
    Reader::fail(path, "an RFC 3339 timestamp");
  return *t;
}

ColumnType column_type(const std::string& name, const std::string& path)
{
  static constexpr std::pair<std::string_view, ColumnType> types[] = {
      {"text", ColumnType::text},   {"integer", ColumnType::integer}, {"number", ColumnType::number},
      {"ratio", ColumnType::ratio}, {"date", ColumnType::date},       {"timestamp", ColumnType::timestamp}};
  for (const auto& [n, t] : types)
    if (n == name)
      return t;
  Reader::fail(path, "text, integer, number, ratio, date or timestamp");
}

report::Trend trend(const std::string& name, const std::string& path)
{
  if (name == "up")
    return report::Trend::up;
  if (name == "down")
    return report::Trend::down;
  if (name == "flat")
    return report::Trend::flat;
  Reader::fail(path, "up, down or flat");
}

void read_header(const json::object& header, report::Report& r)
{
  const std::string path = "report";
  r.id = integer(Reader::member(header, "id", path), "report.id");
  const std::string type = Reader::string_member(header, "type", path);
  const auto t = report::report_type_from_name(type);
  if (!t)
    Reader::fail("report.type", "performance, engagement, learning or business");
  r.type = *t;
  const std::int64_t version = integer(Reader::member(header, "version", path), "report.version");
  if (version < 0 || version > std::numeric_limits<int>::max())
    Reader::fail("report.version", "a version number");
  r.version = static_cast<int>(version);
  r.generated_at = instant(Reader::member(header, "generated_at", path), "report.generated_at");

  const auto& period = Reader::object(Reader::member(header, "period", path), "report.period");
  r.period.from = instant(Reader::member(period, "from", "report.period"), "report.period.from");
  r.period.to = instant(Reader::member(period, "to", "report.period"), "report.period.to");
  r.period.tz = Reader::string_member(period, "tz", "report.period");

  const auto& params = Reader::object(Reader::member(header, "params", path), "report.params");
  for (const auto& kv : params) {
    const std::string key(kv.key());
    r.params.emplace_back(key, Reader::string(kv.value(), "report.params." + key));
  }
  r.source = Reader::string_member(header, "source", path);
}

report::Kpi read_kpi(std::string name, const json::value& v)
{
  const std::string path = "kpis." + name;
  report::Kpi kpi;
  kpi.name = std::move(name);
  if (v.is_object()) {
    const auto& o = v.as_object();
    kpi.has_comparison = true;
    kpi.value = cell(Reader::member(o, "value", path), true, path + ".value");
    kpi.previous = cell(Reader::member(o, "previous", path), true, path + ".previous");
    const json::value& change = Reader::member(o, "change", path);
    // The writer writes an absent change and a NaN one alike as null.
    if (!change.is_null())
      kpi.change = number(change, path + ".change");
    kpi.trend = trend(Reader::string_member(o, "trend", path), path + ".trend");
  } else {
    kpi.value = cell(v, true, path);
  }
  kpi.type = std::holds_alternative<std::int64_t>(kpi.value) ? ColumnType::integer : ColumnType::number;
  return kpi;
}

report::Section read_section(const json::value& v, const std::string& path)
{
  const auto& o = Reader::object(v, path);
  report::Section s;
  s.name = Reader::string_member(o, "name", path);
  s.title = Reader::string_member(o, "title", path);
  const std::string columns_path = path + ".columns";
  const auto& columns = Reader::array(Reader::member(o, "columns", path), columns_path);
  s.columns.reserve(columns.size());
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const std::string column_path = Reader::index(columns_path, i);
    const auto& c = Reader::object(columns[i], column_path);
    report::Column column;
    column.name = Reader::string_member(c, "name", column_path);
    column.type = column_type(Reader::string_member(c, "type", column_path), column_path + ".type");
    s.columns.push_back(std::move(column));
  }
  const std::string rows_path = path + ".rows";
  const auto& rows = Reader::array(Reader::member(o, "rows", path), rows_path);
  s.rows.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string row_path = Reader::index(rows_path, i);
    const auto& cells = Reader::array(rows[i], row_path);
    if (cells.size() != s.columns.size())
      Reader::fail(row_path, fmt::format("{} cells, one per column (got {})", s.columns.size(), cells.size()));
    std::vector<Cell> row;
    row.reserve(cells.size());
    for (std::size_t j = 0; j < cells.size(); ++j)
      row.push_back(cell(cells[j], s.columns[j].type == ColumnType::integer, Reader::index(row_path, j)));
    s.rows.push_back(std::move(row));
  }
  return s;
}

report::Recommendation read_recommendation(const json::value& v, const std::string& path)
{
  const auto& o = Reader::object(v, path);
  report::Recommendation rec;
  rec.rule = Reader::string_member(o, "rule", path);
  rec.subject = Reader::string_member(o, "subject", path);
  rec.value = number(Reader::member(o, "value", path), path + ".value");
  rec.threshold = number(Reader::member(o, "threshold", path), path + ".threshold");
  rec.text = Reader::string_member(o, "text", path);
  return rec;
}

} // namespace

report::Report read_report_json(std::string_view text)
{
  json::value doc;
  try {
    doc = parse_json_exact(text);
  } catch (const ReportJsonError& e) {
    throw ReportJsonError(fmt::format("report JSON: {}", e.what()));
  }
  const auto& root = Reader::object(doc, "the document");
  report::Report r;
  read_header(Reader::object(Reader::member(root, "report", ""), "report"), r);

  for (const auto& kv : Reader::object(Reader::member(root, "kpis", ""), "kpis"))
    r.kpis.push_back(read_kpi(std::string(kv.key()), kv.value()));

  const auto& sections = Reader::array(Reader::member(root, "sections", ""), "sections");
  r.sections.reserve(sections.size());
  for (std::size_t i = 0; i < sections.size(); ++i)
    r.sections.push_back(read_section(sections[i], Reader::index("sections", i)));

  const auto& recommendations = Reader::array(Reader::member(root, "recommendations", ""), "recommendations");
  r.recommendations.reserve(recommendations.size());
  for (std::size_t i = 0; i < recommendations.size(); ++i)
    r.recommendations.push_back(read_recommendation(recommendations[i], Reader::index("recommendations", i)));
  return r;
}

} // namespace dm::render
