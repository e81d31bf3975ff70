#pragma once
// Durations as people type them on the command line and in API parameters:
// `90`, `90s`, `15m`, `1h`, `2d`, `1w`, and sums such as `1h30m`.

#include <chrono>
#include <string_view>

namespace dm::util {

/// Parses a duration: either a bare number of seconds (`90`), or one or more
/// `<digits><unit>` parts with unit s, m, h, d (24 h) or w (7 d), added up
/// (`1h30m` = 5400 s). No sign, no fractions, no spaces, lower-case units.
/// Throws dm::UsageError naming the value on anything else, or when the
/// total does not fit in std::chrono::seconds.
std::chrono::seconds parse_duration(std::string_view text);

} // namespace dm::util
