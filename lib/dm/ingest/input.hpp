#pragma once
// Buffered reading of an ingest file or standard input, and the two record
// readers on top of it: RFC 4180 CSV and NDJSON. Both hand out views into the
// buffer that stay valid until the next call.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dm::ingest {

/// Reads a file (or stdin for "-") in large blocks. Not thread-safe.
class InputFile {
public:
  /// Opens `path`; "-" is standard input. Throws std::system_error naming the file.
  explicit InputFile(const std::string& path);
  /// Reads `data` from memory (an HTTP request body); `name` is used in messages.
  InputFile(std::string name, std::string data);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  /// The name used in messages: the path, or "stdin".
  const std::string& name() const noexcept { return name_; }
  /// Size in bytes when known (a regular file), else 0.
  std::uint64_t size() const noexcept { return size_; }
  /// Bytes consumed so far (for progress).
  std::uint64_t consumed() const noexcept { return consumed_; }

  /// Reads the next line (without its "\n" or "\r\n") into a view valid until
  /// the next call. Returns false at the end of the input.
  bool next_line(std::string_view& line);

  /// The next byte without consuming it, or -1 at the end.
  int peek();

private:
  bool fill();

  int fd_ = -1;
  bool owns_fd_ = false;
  std::string name_;
  std::uint64_t size_ = 0;
  std::uint64_t consumed_ = 0;
  std::vector<char> buf_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
};

/// Splits RFC 4180 CSV into records. A quoted field may hold separators,
/// doubled quotes and line breaks. An empty unquoted field is NULL; an empty
/// quoted field ("") is the empty string.
class CsvReader {
public:
  struct Field {
    std::string_view text;
    bool quoted = false;
  };

  explicit CsvReader(InputFile& in) : in_(in) {}

  /// Reads the next record. Returns false at the end. Throws dm::ingest::ParseError
  /// (see parser.hpp) on an unterminated quote or text after a closing quote.
  bool next(std::vector<Field>& fields);
  /// The line the last record started on (1-based).
  std::uint64_t line() const noexcept { return record_line_; }

private:
  InputFile& in_;
  std::string scratch_; ///< holds records that span lines or contain quotes
  std::uint64_t line_ = 0;
  std::uint64_t record_line_ = 0;
};

} // namespace dm::ingest
