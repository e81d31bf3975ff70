#include "dm/ingest/input.hpp"

#include "dm/ingest/parser.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace dm::ingest {

namespace {
constexpr std::size_t block_size = 1 << 20;
}

InputFile::InputFile(const std::string& path) : buf_(2 * block_size)
{
  if (path == "-") {
    fd_ = 0;
    name_ = "stdin";
  } else {
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
      throw std::system_error(errno, std::generic_category(), "cannot open " + path);
    owns_fd_ = true;
    name_ = path;
  }
  struct stat st {};
  if (fstat(fd_, &st) == 0 && S_ISREG(st.st_mode))
    size_ = static_cast<std::uint64_t>(st.st_size);
  else if (owns_fd_ && fstat(fd_, &st) == 0 && S_ISDIR(st.st_mode))
    throw std::system_error(EISDIR, std::generic_category(), "cannot read " + path);
#ifdef POSIX_FADV_SEQUENTIAL
  if (owns_fd_)
    posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
}

InputFile::InputFile(std::string name, std::string data) : name_(std::move(name))
{
  size_ = data.size();
  end_ = data.size();
  buf_.assign(data.begin(), data.end());
  // Room for the terminating scan; nothing more will be read.
  buf_.resize(buf_.size() + 1);
  eof_ = true;
}

InputFile::~InputFile()
{
  if (owns_fd_)
    close(fd_);
}

bool InputFile::fill()
{
  if (eof_)
    return false;
  // Move what is left to the front, growing the buffer for very long lines.
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buf_.size() - end_ < block_size)
    buf_.resize(buf_.size() * 2);
  for (;;) {
    const ssize_t n = read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno != EINTR)
      throw std::system_error(errno, std::generic_category(), "cannot read " + name_);
  }
}

bool InputFile::next_line(std::string_view& line)
{
  std::size_t scanned = begin_;
  for (;;) {
    const char* start = buf_.data() + scanned;
    const void* nl = std::memchr(start, '\n', end_ - scanned);
    if (nl != nullptr) {
      const auto pos = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.data());
      std::size_t len = pos - begin_;
      if (len > 0 && buf_[pos - 1] == '\r')
        --len;
      line = std::string_view(buf_.data() + begin_, len);
      consumed_ += pos + 1 - begin_;
      begin_ = pos + 1;
      return true;
    }
    const std::size_t offset = end_ - begin_;
    if (!fill()) {
      if (begin_ == end_)
        return false;
      std::size_t len = end_ - begin_;
      if (buf_[begin_ + len - 1] == '\r')
        --len;
      line = std::string_view(buf_.data() + begin_, len);
      consumed_ += end_ - begin_;
      begin_ = end_;
      return true;
    }
    scanned = begin_ + offset;
  }
}

int InputFile::peek()
{
  if (begin_ == end_ && !fill())
    return -1;
  return static_cast<unsigned char>(buf_[begin_]);
}

bool CsvReader::next(std::vector<Field>& fields)
{
  fields.clear();
  std::string_view line;
  if (!in_.next_line(line))
    return false;
  ++line_;
  record_line_ = line_;

  // Fast path: no quote on the line, split at commas in place.
  if (line.find('"') == std::string_view::npos) {
    std::size_t start = 0;
    for (;;) {
      const std::size_t comma = line.find(',', start);
      if (comma == std::string_view::npos) {
        fields.push_back({line.substr(start), false});
        return true;
      }
      fields.push_back({line.substr(start, comma - start), false});
      start = comma + 1;
    }
  }

  // Quoted fields: unescape into scratch_, continuing over line breaks.
  scratch_.clear();
  struct Span {
    std::size_t begin, end;
    bool quoted;
  };
  std::vector<Span> spans;
  std::size_t i = 0;
  for (;;) {
    const std::size_t field_begin = scratch_.size();
    bool quoted = false;
    if (i < line.size() && line[i] == '"') {
      quoted = true;
      ++i;
      for (;;) {
        if (i >= line.size()) {
          // The quoted field goes on on the next line.
          scratch_ += '\n';
          if (!in_.next_line(line))
            throw ParseError(record_line_, "", "unterminated quoted field");
          ++line_;
          i = 0;
          continue;
        }
        const char c = line[i];
        if (c == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            scratch_ += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        scratch_ += c;
        ++i;
      }
      if (i < line.size() && line[i] != ',')
        throw ParseError(record_line_, "", "unexpected text after a closing quote");
    } else {
      while (i < line.size() && line[i] != ',') {
        if (line[i] == '"')
          throw ParseError(record_line_, "", "a quote inside an unquoted field");
        scratch_ += line[i++];
      }
    }
    spans.push_back({field_begin, scratch_.size(), quoted});
    if (i >= line.size())
      break;
    ++i; // the comma
  }
  for (const Span& s : spans)
    fields.push_back({std::string_view(scratch_).substr(s.begin, s.end - s.begin), s.quoted});
  return true;
}

} // namespace dm::ingest
