#pragma once
// Reading the text files of /proc, shared by the host sampler and the process
// metrics.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace dm::metrics {

/// The whole contents of a /proc file (they report a size of 0, so they are
/// read to the end). Throws std::system_error naming the path when it cannot
/// be opened or read.
std::string read_proc_file(const std::filesystem::path& path);

/// The whitespace-separated fields of `line`.
std::vector<std::string_view> split_fields(std::string_view line);

/// The line of `text` whose first field is `key` (e.g. "cpu", "MemTotal:"),
/// or an empty view when there is none.
std::string_view find_line(std::string_view text, std::string_view key) noexcept;

} // namespace dm::metrics
