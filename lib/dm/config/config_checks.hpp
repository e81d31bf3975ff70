#pragma once
// Pure checks on the text of config values, shared by the parser and its
// tests. No I/O.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dm::config {

/// The text as a TOML basic string (`"a\"b"`), cut after 60 characters.
std::string toml_quoted(std::string_view text);

/// The candidate `text` was most likely meant as: the nearest by edit distance
/// (a swap of neighbours counts 1) within a third of its length, ignoring
/// case, or one that starts with the other (`warning` -> `warn`). nullopt when
/// none is close.
std::optional<std::string_view> closest(std::string_view text, const std::vector<std::string_view>& candidates);

/// `postgres://...`, `postgresql://...` or a libpq key=value string (its
/// first word is `keyword=`). The empty string is not one.
bool is_postgres_connection_string(std::string_view text) noexcept;

/// True when `url` starts with one of `schemes` (`"smtp://"`) followed by a
/// host, i.e. a character other than `/`, `?`, `#`.
bool has_scheme_and_host(std::string_view url, std::initializer_list<std::string_view> schemes) noexcept;

/// The URL with the password of `scheme://user:password@host` replaced by
/// `***`, for messages; other text unchanged.
std::string redact_password(std::string_view url);

/// Why `expression` does not have the shape of a cron expression (five
/// whitespace-separated fields, or one of @hourly @daily @weekly @monthly
/// @yearly), as a phrase such as "has 4 fields"; nullopt when it has.
/// The fields themselves are the cron parser's business.
std::optional<std::string> cron_shape_problem(std::string_view expression);

} // namespace dm::config
