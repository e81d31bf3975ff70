#pragma once
// A one-line progress indication on stderr, drawn only when stderr is a
// terminal; the final summary line is printed either way (unless -q).

#include <chrono>
#include <cstdint>
#include <string>

namespace dm::cli {

class Progress {
public:
  /// `label` prefixes the line ("learning"); `enabled` = stderr is a terminal and not -q.
  Progress(std::string label, bool enabled);
  ~Progress();

  /// Redraws at most ten times a second. `total` 0 = unknown (no bar, a count).
  void update(std::uint64_t rows, std::uint64_t done, std::uint64_t total);
  /// Clears the line.
  void finish();

private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_;
};

/// "520 k rows/s"
std::string rate_text(std::uint64_t rows, double seconds);

} // namespace dm::cli
