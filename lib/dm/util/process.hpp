#pragma once
// Running helper programs (initdb, pg_ctl, psql) without a shell.

#include <string>
#include <vector>

namespace dm::util {

struct ProcessResult {
  int exit_code = -1; ///< the exit status, or 128 + signal
  std::string output; ///< stdout and stderr, interleaved
};

/// Runs argv[0] (looked up in PATH when it has no slash) with the working
/// directory `cwd`, stdin from /dev/null, and waits for it. Throws
/// std::system_error only when the program cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& cwd = "/");

/// Replaces this process with argv (for `db shell`). Returns only on failure,
/// by throwing std::system_error.
[[noreturn]] void exec_process(const std::vector<std::string>& argv);

/// True when a file is executable by this process.
bool is_executable(const std::string& path);

} // namespace dm::util
