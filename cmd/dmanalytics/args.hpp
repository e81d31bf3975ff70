#pragma once
// Checks of command-line values shared by the subcommands, each throwing
// dm::UsageError (exit 2) that names the value.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace dm::cli {

/// A positive integer id; `what` names the thing ("a report", "an alert").
std::int64_t parse_id(const std::string& text, std::string_view what);

/// `format` must be one of `allowed`: "unknown --format 'x': expected a, b or c".
void check_format(const std::string& format, std::initializer_list<std::string_view> allowed);

} // namespace dm::cli
