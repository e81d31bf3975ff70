// dmanalytics anomaly scan [FILE|-] [--sensitivity S] [--format csv|json]
//
// Runs the streaming anomaly detector (dm/stats/anomaly.hpp) over a
// `timestamp,value` CSV and prints the alarms. Pure computation: no database,
// no daemon.

#include "args.hpp"
#include "context.hpp"

#include "dm/ingest/input.hpp"
#include "dm/ingest/parser.hpp"
#include "dm/stats/anomaly.hpp"
#include "dm/util/error.hpp"
#include "dm/util/json_text.hpp"
#include "dm/util/time.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dm::cli {

namespace {

struct ScanCommand {
  std::string file = "-";
  double sensitivity = stats::AnomalyOptions{}.sensitivity;
  std::string format = "csv";
};

struct Alarm {
  std::string timestamp; ///< as written in the input
  std::string value_text;
  double value;
  double score;
  std::string_view severity;
};

/// An RFC 3339 timestamp, or one without an offset (`YYYY-MM-DD HH:MM:SS`,
/// NAB's format), read as UTC.
std::optional<util::Micros> parse_timestamp(std::string_view text)
{
  if (auto t = util::parse_rfc3339(text))
    return t;
  std::string with_zone(text);
  with_zone += 'Z';
  return util::parse_rfc3339(with_zone);
}

std::string_view trim(std::string_view s) noexcept
{
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// A CSV cell: quoted when it holds a separator, a quote or a line break.
std::string csv_cell(std::string_view s)
{
  if (s.find_first_of(",\"\r\n") == std::string_view::npos)
    return std::string(s);
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"')
      out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::vector<Alarm> scan(const ScanCommand& cmd)
{
  stats::AnomalyOptions options;
  options.sensitivity = cmd.sensitivity;
  stats::AnomalyDetector detector(options);

  ingest::InputFile in(cmd.file);
  ingest::CsvReader reader(in);
  const std::string& name = in.name();
  auto bad = [&](std::uint64_t line, std::string_view field, const std::string& message) {
    return UsageError(fmt::format("{} line {}: field '{}': {}", name, line, field, message));
  };

  std::vector<ingest::CsvReader::Field> fields;
  std::size_t ts_col = 0, value_col = 0, columns = 0;
  try {
    if (!reader.next(fields))
      throw UsageError(fmt::format("{}: empty input, expected a header 'timestamp,value'", name));
    std::optional<std::size_t> ts, value;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const auto h = trim(fields[i].text);
      if (h == "timestamp")
        ts = i;
      else if (h == "value")
        value = i;
    }
    if (!ts || !value)
      throw UsageError(fmt::format("{} line {}: the header must name the columns 'timestamp' and 'value'", name,
                                   reader.line()));
    ts_col = *ts;
    value_col = *value;
    columns = fields.size();
  } catch (const ingest::ParseError& e) {
    throw UsageError(fmt::format("{} line {}: {}", name, e.line(), e.detail()));
  }

  std::vector<Alarm> alarms;
  for (;;) {
    try {
      if (!reader.next(fields))
        break;
    } catch (const ingest::ParseError& e) {
      throw UsageError(fmt::format("{} line {}: {}", name, e.line(), e.detail()));
    }
    const std::uint64_t line = reader.line();
    if (fields.size() == 1 && trim(fields[0].text).empty())
      continue; // a blank line
    if (fields.size() != columns)
      throw UsageError(fmt::format("{} line {}: {} fields, the header has {}", name, line, fields.size(), columns));

    const std::string_view ts_text = trim(fields[ts_col].text);
    const auto ts = parse_timestamp(ts_text);
    if (!ts)
      throw bad(line, "timestamp",
                fmt::format("'{}' is not a timestamp (expected YYYY-MM-DD HH:MM:SS or RFC 3339)", ts_text));

    const std::string_view value_text = trim(fields[value_col].text);
    double value = 0;
    const char* end = value_text.data() + value_text.size();
    const auto [ptr, ec] = std::from_chars(value_text.data(), end, value);
    if (value_text.empty() || ec != std::errc() || ptr != end)
      throw bad(line, "value", fmt::format("'{}' is not a number", value_text));
    if (!std::isfinite(value))
      throw bad(line, "value", fmt::format("'{}' is not a finite number", value_text));

    const auto result = detector.observe(*ts, value);
    if (result.alarm)
      alarms.push_back({std::string(ts_text), std::string(value_text), value, result.score, result.severity});
  }
  return alarms;
}

void run_scan(const ScanCommand& cmd)
{
  if (!(cmd.sensitivity >= 0 && cmd.sensitivity <= 1))
    throw UsageError(fmt::format("--sensitivity {}: must be between 0 and 1 (default {})", cmd.sensitivity,
                                 stats::AnomalyOptions{}.sensitivity));
  check_format(cmd.format, {"csv", "json"});

  // Alarms are few (one per incident): the whole input is checked before
  // anything is printed, so a bad line leaves no partial output.
  const std::vector<Alarm> alarms = scan(cmd);
  std::string out;
  if (cmd.format == "csv") {
    out = "timestamp,value,score,severity\n";
    for (const Alarm& a : alarms)
      out += fmt::format("{},{},{:.3f},{}\n", csv_cell(a.timestamp), csv_cell(a.value_text), a.score, a.severity);
  } else {
    boost::json::array array;
    for (const Alarm& a : alarms)
      array.push_back(boost::json::object{{"timestamp", a.timestamp},
                                          {"value", a.value},
                                          {"score", std::round(a.score * 1000) / 1000},
                                          {"severity", std::string(a.severity)}});
    out = util::json_text(array);
    out += '\n';
  }
  std::cout << out;
  std::cout.flush();
}

} // namespace

void setup_anomaly(CLI::App& app, Context& ctx)
{
  auto* group = app.add_subcommand("anomaly", "Anomaly detection over a time series, without the database");
  group->require_subcommand(1);
  auto cmd = std::make_shared<ScanCommand>();
  auto* sub = group->add_subcommand(
      "scan", "Run the anomaly detector over a timestamp,value CSV and print its alarms (one per incident)");
  sub->add_option("file", cmd->file, "CSV with a header timestamp,value; - or nothing for stdin")->type_name("FILE|-");
  sub->add_option("--sensitivity", cmd->sensitivity, "0 (fewest alarms) to 1 (most); default 0.5")->type_name("S");
  sub->add_option("--format", cmd->format, "csv (default) | json: a JSON array of alarm objects")
      ->type_name("csv|json");
  sub->callback(ctx.command([cmd] { run_scan(*cmd); }));
}

} // namespace dm::cli
