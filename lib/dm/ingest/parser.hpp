#pragma once
// Turns CSV or NDJSON text into typed records of one kind, validating every
// value against DESIGN section 4. Errors carry the line and the column.

#include "dm/ingest/input.hpp"
#include "dm/ingest/records.hpp"


#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace dm::ingest {

enum class Format { csv, ndjson };

/// Parses `csv|ndjson` (also `jsonl`); nullopt otherwise.
std::optional<Format> format_from_name(std::string_view name) noexcept;

/// A bad value or a malformed line: `LINE: column COL: message` once the
/// file name is put in front (see Parser::describe).
class ParseError : public std::runtime_error {
public:
  ParseError(std::uint64_t line, std::string column, const std::string& message);
  std::uint64_t line() const noexcept { return line_; }
  const std::string& column() const noexcept { return column_; }
  const std::string& detail() const noexcept { return detail_; }

private:
  std::uint64_t line_;
  std::string column_;
  std::string detail_;
};

using AnyRecord = std::variant<UserRecord, LearningRecord, PaymentRecord, RequestRecord, HostRecord>;

/// Reads one kind's records from an InputFile. Not thread-safe.
class Parser {
public:
  /// Reads the CSV header at once; throws ParseError on an unknown or
  /// duplicate column, or a missing required one.
  Parser(InputFile& in, Kind kind, Format format);
  ~Parser();

  /// Parses the next record into `out` (of the kind's alternative). Returns
  /// false at the end. Throws ParseError for a bad line; the parser then
  /// stands after that line, so reading may go on to collect more errors.
  bool next(AnyRecord& out);

  /// The line of the record last returned or failed.
  std::uint64_t line() const noexcept;

  /// The columns a kind accepts, required ones first.
  static const std::vector<std::string_view>& columns_of(Kind kind);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace dm::ingest
