#include "dm/config/config_error.hpp"

#include <algorithm>
#include <tuple>
#include <utility>

namespace dm::config {

namespace {

// Sorts in place and returns its argument, so the constructor can sort before
// it builds the message of the base class.
std::vector<Diagnostic>& sort_by_position(std::vector<Diagnostic>& diagnostics)
{
  std::stable_sort(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  return diagnostics;
}

std::string joined(const std::vector<Diagnostic>& diagnostics)
{
  std::string text;
  for (const Diagnostic& d : diagnostics) {
    if (!text.empty())
      text += '\n';
    text += to_string(d);
  }
  return text;
}

} // namespace

std::string to_string(const Diagnostic& d)
{
  std::string text = d.file;
  if (d.line > 0) {
    text += ':';
    text += std::to_string(d.line);
    text += ':';
    text += std::to_string(d.column);
  }
  text += ": ";
  text += d.message;
  return text;
}

ConfigError::ConfigError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(joined(sort_by_position(diagnostics))), diagnostics_(std::move(diagnostics))
{
}

ConfigError::ConfigError(Diagnostic diagnostic)
    : ConfigError(std::vector<Diagnostic>{std::move(diagnostic)})
{
}

} // namespace dm::config
