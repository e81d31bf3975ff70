#pragma once
// Errors of the configuration file. Each diagnostic points at the place in the
// file that is wrong, so an operator can fix a config without guessing.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace dm::config {

/// One problem in a config file. `line` and `column` are 1-based; 0 means the
/// problem is the file as a whole (missing, unreadable).
struct Diagnostic {
  std::string file;
  std::size_t line = 0;
  std::size_t column = 0;
  std::string message;

  bool operator==(const Diagnostic&) const = default;
};

/// `FILE:LINE:COLUMN: message`, or `FILE: message` when the line is unknown.
std::string to_string(const Diagnostic& d);

/// A config that cannot be used. Holds every problem found, in file order;
/// what() is one `FILE:LINE:COLUMN: message` line per problem, joined by
/// newlines (a single line in the common case of one problem).
class ConfigError : public std::runtime_error {
public:
  /// `diagnostics` must not be empty; they are sorted by position here.
  explicit ConfigError(std::vector<Diagnostic> diagnostics);
  explicit ConfigError(Diagnostic diagnostic);

  const std::vector<Diagnostic>& diagnostics() const noexcept { return diagnostics_; }

private:
  std::vector<Diagnostic> diagnostics_;
};

} // namespace dm::config
