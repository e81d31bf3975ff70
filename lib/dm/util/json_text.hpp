#pragma once
// JSON text as people and other tools expect it. Boost.JSON 1.81 writes
// doubles in scientific notation with a capital E ("2.5E-1", "0E0"); this
// writes the shortest form that reads back to the same double ("0.25", "3.0",
// "1e+21"; integral values keep ".0" so that they read back as doubles), and
// everything else exactly as boost::json::serialize does.
// Non-finite doubles (which JSON cannot hold) are written as null.

#include <boost/json/value.hpp>

#include <string>

namespace dm::util {

/// The JSON text of `value`.
std::string json_text(const boost::json::value& value);
/// Appends the JSON text of `value` to `out`.
void append_json_text(std::string& out, const boost::json::value& value);

} // namespace dm::util
