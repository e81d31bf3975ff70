#include "dm/ingest/ingest.hpp"

#include "dm/db/two_phase.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace dm::ingest {

namespace {

std::string join_lines(const std::vector<std::string>& lines, bool more)
{
  std::string s;
  for (const auto& l : lines)
    s += (s.empty() ? "" : "\n") + l;
  if (more)
    s += "\n(more errors not shown; raise --max-errors to see them)";
  return s;
}

double seconds_since(std::chrono::steady_clock::time_point t)
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

bool ends_with(const std::string& s, std::string_view suffix)
{
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

IngestRejected::IngestRejected(std::vector<std::string> errors, bool more)
    : std::runtime_error(join_lines(errors, more)), errors_(std::move(errors))
{
}

std::optional<Format> format_for_path(const std::string& path)
{
  if (ends_with(path, ".csv"))
    return Format::csv;
  if (ends_with(path, ".ndjson") || ends_with(path, ".jsonl") || ends_with(path, ".json"))
    return Format::ndjson;
  return std::nullopt;
}

namespace {

IngestResult ingest_input(db::PgConnection& conn, InputFile& in, std::optional<Format> implied,
                          const IngestOptions& options)
{
  const auto started = std::chrono::steady_clock::now();
  Format format = Format::csv;
  if (options.format)
    format = *options.format;
  else if (implied)
    format = *implied;
  else {
    int c = in.peek();
    format = c == '{' ? Format::ndjson : Format::csv;
  }

  std::vector<std::string> errors;
  const std::uint64_t limit = std::max<std::uint64_t>(options.max_errors, 1);
  bool more_errors = false;
  auto record_error = [&](const ParseError& e) {
    if (errors.size() < limit)
      errors.push_back(fmt::format("{}:{}", in.name(), e.what()));
    else
      more_errors = true;
  };

  db::PgTransaction txn{conn};
  // Declared before the Loader: its rollup task uses the connection until the
  // Loader is gone.
  std::unique_ptr<db::CompanionTransaction> companion;
  if (in.size() == 0 || in.size() >= options.second_connection_min_bytes)
    companion = db::start_companion(txn, options.second_connection);
  IngestResult result;
  result.source = in.name();
  std::optional<Parser> parser;
  try {
    parser.emplace(in, options.kind, format);
  } catch (const ParseError& e) {
    record_error(e);
    throw IngestRejected(std::move(errors), false);
  }

  {
    Loader loader(conn, options.kind, companion ? &companion->connection() : nullptr);
    AnyRecord record;
    std::uint64_t rows = 0;
    for (;;) {
      try {
        if (!parser->next(record))
          break;
      } catch (const ParseError& e) {
        record_error(e);
        if (options.max_errors == 0 || more_errors)
          break;
        continue;
      }
      if (errors.empty())
        std::visit([&loader](const auto& r) { loader.add(r); }, record);
      ++rows;
      if (options.progress && (rows & 0x3fff) == 0)
        options.progress({rows, in.consumed(), in.size()});
    }
    if (!errors.empty())
      throw IngestRejected(std::move(errors), more_errors);
    spdlog::debug("{}: {} rows parsed and sent in {:.3f} s", in.name(), rows, seconds_since(started));
    try {
      result.summary = loader.finish();
    } catch (const std::exception&) {
      std::throw_with_nested(std::runtime_error(fmt::format("{}: loading into the database failed", in.name())));
    }
  }
  spdlog::debug("{}: rollups written at {:.3f} s", in.name(), seconds_since(started));
  commit_loaded(txn, companion.get(), {result.summary});
  spdlog::debug("{}: committed at {:.3f} s", in.name(), seconds_since(started));
  if (options.progress)
    options.progress({result.summary.rows, in.consumed(), in.size()});
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

/// A JSON array of objects as NDJSON, one element per line, so that line N of
/// an error message is element N of the array. Throws IngestRejected naming
/// the first element that is not an object.
std::string array_to_ndjson(const std::string& name, std::string_view text)
{
  boost::json::error_code ec;
  boost::json::value doc = boost::json::parse(text, ec);
  if (ec)
    throw IngestRejected({fmt::format("{}: not a valid JSON array: {}", name, ec.message())}, false);
  std::string out;
  out.reserve(text.size());
  std::size_t index = 0;
  for (const auto& element : doc.as_array()) {
    ++index;
    if (!element.is_object())
      throw IngestRejected({fmt::format("{}:{}: element {} is not a JSON object", name, index, index)}, false);
    out += boost::json::serialize(element);
    out += '\n';
  }
  return out;
}

} // namespace

IngestResult ingest_file(db::PgConnection& conn, const std::string& path, const IngestOptions& options)
{
  InputFile in(path);
  return ingest_input(conn, in, format_for_path(path), options);
}

IngestResult ingest_buffer(db::PgConnection& conn, const std::string& name, std::string data,
                           const IngestOptions& options)
{
  const auto first = data.find_first_not_of(" \t\r\n");
  const bool array = first != std::string::npos && data[first] == '[' &&
                     (!options.format || *options.format == Format::ndjson);
  if (array)
    data = array_to_ndjson(name, data);
  InputFile in(name, std::move(data));
  return ingest_input(conn, in, array ? std::optional<Format>(Format::ndjson) : std::nullopt, options);
}

} // namespace dm::ingest
