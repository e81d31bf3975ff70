#include "dm/ingest/parser.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

namespace dm::ingest {

ParseError::ParseError(std::uint64_t line, std::string column, const std::string& message)
    : std::runtime_error(column.empty() ? fmt::format("{}: {}", line, message)
                                        : fmt::format("{}: column {}: {}", line, column, message)),
      line_(line), column_(std::move(column)), detail_(message)
{
}

std::optional<Format> format_from_name(std::string_view name) noexcept
{
  if (name == "csv")
    return Format::csv;
  if (name == "ndjson" || name == "jsonl")
    return Format::ndjson;
  return std::nullopt;
}

namespace {

struct ColumnSpec {
  std::string_view name;
  bool required;
};

// Slot order per kind; the record builders below index these slots.
const std::array<std::vector<ColumnSpec>, 5> column_specs{{
    {{"user_id", true}, {"signup_at", false}, {"country", false}, {"platform", false},
     {"channel", false}},
    {{"ts", true}, {"user_id", true}, {"kind", true}, {"session_id", false}, {"topic", false},
     {"correct", false}, {"answer_ms", false}, {"score", false}},
    {{"ts", true}, {"user_id", true}, {"kind", true}, {"plan", false}, {"amount_cents", false},
     {"currency", false}},
    {{"ts", true}, {"service", true}, {"status", true}, {"duration_ms", true}, {"endpoint", false}},
    {{"ts", true}, {"host", true}, {"cpu", false}, {"mem", false}, {"disk", false}, {"load1", false}},
}};

constexpr std::size_t max_slots = 8;

/// One value of a line: CSV gives text, NDJSON typed values.
struct Cell {
  enum class Type { null, text, integer, real, boolean } type = Type::null;
  std::string_view text;
  std::int64_t i = 0;
  double d = 0;
  bool b = false;
};

std::string shown(std::string_view v)
{
  if (v.size() > 40)
    return fmt::format("'{}…'", v.substr(0, 40));
  return fmt::format("'{}'", v);
}

std::string shown(const Cell& c)
{
  switch (c.type) {
  case Cell::Type::text:
    return shown(c.text);
  case Cell::Type::integer:
    return std::to_string(c.i);
  case Cell::Type::real:
    return fmt::format("{}", c.d);
  case Cell::Type::boolean:
    return c.b ? "true" : "false";
  case Cell::Type::null:
    break;
  }
  return "null";
}

/// Converts cells of one line; every failure names the column.
class Line {
public:
  Line(std::uint64_t line, const std::vector<ColumnSpec>& specs, const std::array<Cell, max_slots>& cells)
      : line_(line), specs_(specs), cells_(cells)
  {
  }

  bool null(std::size_t slot) const { return cells_[slot].type == Cell::Type::null; }

  [[noreturn]] void fail(std::size_t slot, const std::string& message) const
  {
    throw ParseError(line_, std::string(specs_[slot].name), message);
  }

  const Cell& required(std::size_t slot) const
  {
    if (null(slot))
      fail(slot, "a value is required");
    return cells_[slot];
  }

  std::int64_t int64(std::size_t slot) const
  {
    const Cell& c = required(slot);
    switch (c.type) {
    case Cell::Type::integer:
      return c.i;
    case Cell::Type::text: {
      std::int64_t v = 0;
      const char* end = c.text.data() + c.text.size();
      auto [p, ec] = std::from_chars(c.text.data(), end, v);
      if (ec == std::errc::result_out_of_range)
        fail(slot, fmt::format("integer {} out of range", shown(c)));
      if (ec == std::errc{} && p == end)
        return v;
      break;
    }
    case Cell::Type::real:
      if (std::floor(c.d) == c.d && std::fabs(c.d) < 9.0e15)
        return static_cast<std::int64_t>(c.d);
      break;
    default:
      break;
    }
    fail(slot, fmt::format("expected an integer, got {}", shown(c)));
  }

  std::int64_t int64_in(std::size_t slot, std::int64_t lo, std::int64_t hi) const
  {
    const std::int64_t v = int64(slot);
    if (v < lo || v > hi)
      fail(slot, fmt::format("{} is out of range {}..{}", v, lo, hi));
    return v;
  }

  double real(std::size_t slot) const
  {
    const Cell& c = required(slot);
    double v = 0;
    bool ok = false;
    switch (c.type) {
    case Cell::Type::integer:
      v = static_cast<double>(c.i);
      ok = true;
      break;
    case Cell::Type::real:
      v = c.d;
      ok = true;
      break;
    case Cell::Type::text: {
      const char* end = c.text.data() + c.text.size();
      auto [p, ec] = std::from_chars(c.text.data(), end, v);
      ok = ec == std::errc{} && p == end;
      break;
    }
    default:
      break;
    }
    if (!ok || !std::isfinite(v))
      fail(slot, fmt::format("expected a number, got {}", shown(c)));
    return v;
  }

  float real_in(std::size_t slot, double lo, double hi) const
  {
    const double v = real(slot);
    if (v < lo || v > hi) {
      if (hi == std::numeric_limits<double>::max())
        fail(slot, fmt::format("{} is below {}", v, lo));
      fail(slot, fmt::format("{} is out of range {}..{}", v, lo, hi));
    }
    return static_cast<float>(v);
  }

  bool boolean(std::size_t slot) const
  {
    const Cell& c = required(slot);
    if (c.type == Cell::Type::boolean)
      return c.b;
    if (c.type == Cell::Type::integer && (c.i == 0 || c.i == 1))
      return c.i == 1;
    if (c.type == Cell::Type::text) {
      const std::string_view t = c.text;
      if (t == "true" || t == "1" || t == "TRUE" || t == "True" || t == "t")
        return true;
      if (t == "false" || t == "0" || t == "FALSE" || t == "False" || t == "f")
        return false;
    }
    fail(slot, fmt::format("expected true, false, 1 or 0, got {}", shown(c)));
  }

  /// Text; `allow_empty` for optional columns, where "" (quoted in CSV) is a value.
  std::string_view text(std::size_t slot, bool allow_empty = false) const
  {
    const Cell& c = required(slot);
    if (c.type != Cell::Type::text)
      fail(slot, fmt::format("expected text, got {}", shown(c)));
    if (c.text.empty() && !allow_empty)
      fail(slot, "a non-empty value is required");
    return c.text;
  }

  util::Micros timestamp(std::size_t slot) const
  {
    const Cell& c = required(slot);
    if (c.type == Cell::Type::text)
      if (auto t = util::parse_rfc3339(c.text))
        return *t;
    fail(slot, fmt::format("expected an RFC 3339 timestamp such as 2026-11-02T08:15:00Z, got {}",
                           shown(c)));
  }

  template <typename Enum, std::size_t N>
  Enum enumeration(std::size_t slot, const std::array<std::string_view, N>& names) const
  {
    const Cell& c = required(slot);
    if (c.type == Cell::Type::text)
      for (std::size_t i = 0; i < N; ++i)
        if (names[i] == c.text)
          return static_cast<Enum>(i);
    std::string allowed;
    for (std::size_t i = 0; i < N; ++i)
      allowed += (i == 0 ? "" : "|") + std::string(names[i]);
    fail(slot, fmt::format("expected one of {}, got {}", allowed, shown(c)));
  }

  template <typename T, typename F> std::optional<T> optional(std::size_t slot, F&& get) const
  {
    if (null(slot))
      return std::nullopt;
    return get(slot);
  }

private:
  std::uint64_t line_;
  const std::vector<ColumnSpec>& specs_;
  const std::array<Cell, max_slots>& cells_;
};

constexpr std::int64_t max_int32 = std::numeric_limits<std::int32_t>::max();
constexpr double unbounded = std::numeric_limits<double>::max();

UserRecord build_user(const Line& l)
{
  UserRecord r;
  r.user_id = l.int64(0);
  r.signup_at = l.optional<util::Micros>(1, [&](std::size_t s) { return l.timestamp(s); });
  r.country = l.optional<std::string>(2, [&](std::size_t s) { return std::string(l.text(s, true)); });
  r.platform = l.optional<Platform>(
      3, [&](std::size_t s) { return l.enumeration<Platform>(s, platform_names); });
  r.channel = l.optional<Channel>(
      4, [&](std::size_t s) { return l.enumeration<Channel>(s, channel_names); });
  return r;
}

LearningRecord build_learning(const Line& l)
{
  LearningRecord r;
  r.ts = l.timestamp(0);
  r.user_id = l.int64(1);
  r.kind = l.enumeration<LearningKind>(2, learning_kind_names);
  r.session_id = l.optional<std::int64_t>(3, [&](std::size_t s) { return l.int64(s); });
  r.topic = l.optional<std::string>(4, [&](std::size_t s) { return std::string(l.text(s, true)); });
  r.correct = l.optional<bool>(5, [&](std::size_t s) { return l.boolean(s); });
  r.answer_ms = l.optional<std::int32_t>(
      6, [&](std::size_t s) { return static_cast<std::int32_t>(l.int64_in(s, 0, max_int32)); });
  r.score = l.optional<float>(7, [&](std::size_t s) { return l.real_in(s, 0, 1); });
  return r;
}

PaymentRecord build_payment(const Line& l)
{
  PaymentRecord r;
  r.ts = l.timestamp(0);
  r.user_id = l.int64(1);
  r.kind = l.enumeration<PaymentKind>(2, payment_kind_names);
  r.plan = l.optional<Plan>(3, [&](std::size_t s) { return l.enumeration<Plan>(s, plan_names); });
  r.amount_cents = l.optional<std::int64_t>(
      4, [&](std::size_t s) { return l.int64_in(s, 0, std::numeric_limits<std::int64_t>::max()); });
  r.currency = l.optional<std::string>(5, [&](std::size_t s) {
    std::string_view c = l.text(s);
    if (c.size() != 3 || !std::all_of(c.begin(), c.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; }))
      l.fail(s, fmt::format("expected an ISO 4217 code such as EUR, got {}", shown(c)));
    return std::string(c);
  });
  const bool paid = r.kind == PaymentKind::subscribe || r.kind == PaymentKind::renew;
  if (paid && !r.plan)
    l.fail(3, fmt::format("a plan is required for a {}", payment_kind_names[static_cast<std::size_t>(r.kind)]));
  if ((paid || r.kind == PaymentKind::refund) && !r.amount_cents)
    l.fail(4, fmt::format("an amount is required for a {}",
                          payment_kind_names[static_cast<std::size_t>(r.kind)]));
  return r;
}

RequestRecord build_request(const Line& l)
{
  RequestRecord r;
  r.ts = l.timestamp(0);
  r.service = std::string(l.text(1));
  r.status = static_cast<std::int16_t>(l.int64_in(2, 100, 599));
  r.duration_ms = l.real_in(3, 0, unbounded);
  r.endpoint = l.optional<std::string>(4, [&](std::size_t s) { return std::string(l.text(s, true)); });
  return r;
}

HostRecord build_host(const Line& l)
{
  HostRecord r;
  r.ts = l.timestamp(0);
  r.host = std::string(l.text(1));
  auto fraction = [&](std::size_t s) { return l.real_in(s, 0, 1); };
  r.cpu = l.optional<float>(2, fraction);
  r.mem = l.optional<float>(3, fraction);
  r.disk = l.optional<float>(4, fraction);
  r.load1 = l.optional<float>(5, [&](std::size_t s) { return l.real_in(s, 0, unbounded); });
  return r;
}

} // namespace

struct Parser::Impl {
  InputFile& in;
  Kind kind;
  Format format;
  const std::vector<ColumnSpec>& specs;
  std::vector<int> slot_of_field; ///< CSV: header position -> slot
  CsvReader csv;
  std::vector<CsvReader::Field> fields;
  std::array<Cell, max_slots> cells{};
  std::uint64_t line = 0;
  // Each line is parsed into a fresh monotonic resource over a fixed buffer:
  // short lines cost no heap allocation, and nothing grows from line to line
  // (Boost 1.81's monotonic_resource::release() keeps doubling its next block
  // size, which ends in bad_alloc after some ten thousand lines).
  alignas(std::max_align_t) std::array<unsigned char, 16 * 1024> json_buffer{};
  std::optional<boost::json::monotonic_resource> json_memory;
  boost::json::parser json;

  Impl(InputFile& input, Kind k, Format f)
      : in(input), kind(k), format(f), specs(column_specs[static_cast<std::size_t>(k)]), csv(input)
  {
  }

  int slot_named(std::string_view name) const
  {
    for (std::size_t i = 0; i < specs.size(); ++i)
      if (specs[i].name == name)
        return static_cast<int>(i);
    return -1;
  }

  std::string known_columns() const
  {
    std::string s;
    for (const auto& c : specs)
      s += (s.empty() ? "" : ", ") + std::string(c.name);
    return s;
  }

  void read_header()
  {
    if (!csv.next(fields))
      throw ParseError(1, "", "the file is empty: expected a header row naming the columns");
    line = csv.line();
    std::vector<bool> seen(specs.size(), false);
    for (std::size_t i = 0; i < fields.size(); ++i) {
      std::string_view name = fields[i].text;
      if (i == 0 && name.substr(0, 3) == "\xEF\xBB\xBF") // UTF-8 byte order mark
        name.remove_prefix(3);
      while (!name.empty() && name.front() == ' ')
        name.remove_prefix(1);
      while (!name.empty() && name.back() == ' ')
        name.remove_suffix(1);
      const int slot = slot_named(name);
      if (slot < 0)
        throw ParseError(line, std::string(name),
                         fmt::format("unknown column for {} (expected: {})", name_of(kind),
                                     known_columns()));
      if (seen[static_cast<std::size_t>(slot)])
        throw ParseError(line, std::string(name), "duplicate column");
      seen[static_cast<std::size_t>(slot)] = true;
      slot_of_field.push_back(slot);
    }
    for (std::size_t s = 0; s < specs.size(); ++s)
      if (specs[s].required && !seen[s])
        throw ParseError(line, std::string(specs[s].name), "required column missing from the header");
  }

  /// Fills `cells` from the next line; false at the end.
  bool read_cells()
  {
    cells.fill(Cell{});
    if (format == Format::csv) {
      if (!csv.next(fields))
        return false;
      line = csv.line();
      if (fields.size() != slot_of_field.size())
        throw ParseError(line, "",
                         fmt::format("expected {} fields as in the header, got {}",
                                     slot_of_field.size(), fields.size()));
      for (std::size_t i = 0; i < fields.size(); ++i) {
        const auto& f = fields[i];
        if (f.text.empty() && !f.quoted)
          continue; // NULL
        Cell& c = cells[static_cast<std::size_t>(slot_of_field[i])];
        c.type = Cell::Type::text;
        c.text = f.text;
      }
      return true;
    }
    std::string_view text;
    do {
      if (!in.next_line(text))
        return false;
      ++line;
    } while (text.find_first_not_of(" \t\r") == std::string_view::npos);
    json.reset();
    json_memory.reset();
    json_memory.emplace(json_buffer.data(), json_buffer.size());
    json.reset(&*json_memory);
    boost::system::error_code ec;
    json.write(text.data(), text.size(), ec);
    if (ec)
      throw ParseError(line, "", fmt::format("invalid JSON: {}", ec.message()));
    const boost::json::value& v = json.release();
    if (!v.is_object())
      throw ParseError(line, "", "expected a JSON object");
    for (const auto& kv : v.get_object()) {
      const std::string_view key = kv.key();
      const int slot = slot_named(key);
      if (slot < 0)
        throw ParseError(line, std::string(key),
                         fmt::format("unknown field for {} (expected: {})", name_of(kind), known_columns()));
      Cell& c = cells[static_cast<std::size_t>(slot)];
      const boost::json::value& x = kv.value();
      switch (x.kind()) {
      case boost::json::kind::null:
        break;
      case boost::json::kind::string:
        c.type = Cell::Type::text;
        c.text = x.get_string();
        break;
      case boost::json::kind::int64:
        c.type = Cell::Type::integer;
        c.i = x.get_int64();
        break;
      case boost::json::kind::uint64:
        if (x.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
          throw ParseError(line, std::string(key), "integer out of range");
        c.type = Cell::Type::integer;
        c.i = static_cast<std::int64_t>(x.get_uint64());
        break;
      case boost::json::kind::double_:
        c.type = Cell::Type::real;
        c.d = x.get_double();
        break;
      case boost::json::kind::bool_:
        c.type = Cell::Type::boolean;
        c.b = x.get_bool();
        break;
      default:
        throw ParseError(line, std::string(key), "expected a string, number, boolean or null");
      }
    }
    return true;
  }
};

Parser::Parser(InputFile& in, Kind kind, Format format) : impl_(std::make_unique<Impl>(in, kind, format))
{
  if (format == Format::csv)
    impl_->read_header();
}

Parser::~Parser() = default;

std::uint64_t Parser::line() const noexcept
{
  return impl_->line;
}

bool Parser::next(AnyRecord& out)
{
  Impl& p = *impl_;
  if (!p.read_cells())
    return false;
  const Line l(p.line, p.specs, p.cells);
  switch (p.kind) {
  case Kind::users:
    out = build_user(l);
    break;
  case Kind::learning:
    out = build_learning(l);
    break;
  case Kind::payments:
    out = build_payment(l);
    break;
  case Kind::requests:
    out = build_request(l);
    break;
  case Kind::host:
    out = build_host(l);
    break;
  }
  return true;
}

const std::vector<std::string_view>& Parser::columns_of(Kind kind)
{
  static const auto all = [] {
    std::array<std::vector<std::string_view>, 5> out;
    for (std::size_t k = 0; k < 5; ++k)
      for (const auto& c : column_specs[k])
        out[k].push_back(c.name);
    return out;
  }();
  return all[static_cast<std::size_t>(kind)];
}

} // namespace dm::ingest
