#pragma once
// `dmanalytics ingest`: one file, one transaction, all or nothing.

#include "dm/ingest/loader.hpp"
#include "dm/ingest/parser.hpp"

#include "dm/db/two_phase.hpp"


#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace dm::ingest {

struct IngestProgress {
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  std::uint64_t total_bytes = 0; ///< 0 when unknown (a pipe)
};

struct IngestOptions {
  Kind kind = Kind::learning;
  std::optional<Format> format; ///< nullopt: from the file name, or sniffed on stdin
  /// 0: stop at the first bad line. N: report up to N bad lines. Either way a
  /// file with a bad line commits nothing.
  std::uint64_t max_errors = 0;
  std::function<void(const IngestProgress&)> progress; ///< called every few thousand rows
  /// Opens another connection to the same database. Given, an input of at
  /// least second_connection_min_bytes (or of unknown size: a pipe) has its
  /// rollups written on it in parallel with the raw rows, in a transaction
  /// committed with theirs (db/two_phase.hpp), when the server allows
  /// prepared transactions.
  db::ConnectionFactory second_connection;
  /// Below this the connection and the prepared commit cost more than they
  /// save (4 MiB: about 50 000 learning rows).
  std::uint64_t second_connection_min_bytes = std::uint64_t{4} << 20;
};

struct IngestResult {
  LoadSummary summary;
  double seconds = 0;
  std::string source; ///< file name as used in messages
};

/// The file had bad lines; nothing was committed. what() lists them, one per
/// line, as `FILE:LINE: column COL: message`.
class IngestRejected : public std::runtime_error {
public:
  IngestRejected(std::vector<std::string> errors, bool more);
  const std::vector<std::string>& errors() const noexcept { return errors_; }

private:
  std::vector<std::string> errors_;
};

/// Loads `path` ("-" for stdin) in one transaction on `conn` and commits it
/// with a NOTIFY dm_events. Throws IngestRejected for bad input, and other
/// exceptions (I/O, database) with the file name as context.
IngestResult ingest_file(db::PgConnection& conn, const std::string& path, const IngestOptions& options);

/// Loads an in-memory body (an HTTP request) like ingest_file(); `name`
/// prefixes error messages. A body that is a JSON array of objects is read as
/// NDJSON with one element per line (errors then name the element number).
IngestResult ingest_buffer(db::PgConnection& conn, const std::string& name, std::string data,
                           const IngestOptions& options);

/// The format a file name implies (.csv, .ndjson, .jsonl, .json), if any.
std::optional<Format> format_for_path(const std::string& path);

} // namespace dm::ingest
