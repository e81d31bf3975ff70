#include "dm/metrics/proc_file.hpp"

#include <cerrno>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

namespace dm::metrics {

namespace {

bool is_space(char c) noexcept
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

} // namespace

std::string read_proc_file(const std::filesystem::path& path)
{
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw std::system_error(errno, std::generic_category(), "cannot open " + path.string());
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      const int err = errno;
      ::close(fd);
      throw std::system_error(err, std::generic_category(), "cannot read " + path.string());
    }
  }
  ::close(fd);
  return text;
}

std::vector<std::string_view> split_fields(std::string_view line)
{
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i]))
      ++i;
    const std::size_t start = i;
    while (i < line.size() && !is_space(line[i]))
      ++i;
    if (i > start)
      fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

std::string_view find_line(std::string_view text, std::string_view key) noexcept
{
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos)
      end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    std::size_t first = 0;
    while (first < line.size() && is_space(line[first]))
      ++first;
    line.remove_prefix(first);
    if (line.starts_with(key) && (line.size() == key.size() || is_space(line[key.size()])))
      return line;
    pos = end + 1;
  }
  return {};
}

} // namespace dm::metrics
