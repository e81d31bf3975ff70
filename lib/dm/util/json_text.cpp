#include "dm/util/json_text.hpp"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <cmath>

namespace dm::util {

namespace {

void append_string(std::string& out, boost::json::string_view s)
{
  out += boost::json::serialize(s);
}

} // namespace

void append_json_text(std::string& out, const boost::json::value& value)
{
  switch (value.kind()) {
  case boost::json::kind::null:
    out += "null";
    return;
  case boost::json::kind::bool_:
    out += value.get_bool() ? "true" : "false";
    return;
  case boost::json::kind::int64:
    fmt::format_to(std::back_inserter(out), "{}", value.get_int64());
    return;
  case boost::json::kind::uint64:
    fmt::format_to(std::back_inserter(out), "{}", value.get_uint64());
    return;
  case boost::json::kind::double_: {
    const double d = value.get_double();
    if (!std::isfinite(d)) {
      out += "null";
      return;
    }
    const auto start = out.size();
    fmt::format_to(std::back_inserter(out), "{}", d == 0 ? 0.0 : d);
    // A double stays a double when read back: 3.0, not 3.
    if (out.find_first_of(".e", start) == std::string::npos)
      out += ".0";
    return;
  }
  case boost::json::kind::string:
    append_string(out, value.get_string());
    return;
  case boost::json::kind::array: {
    out += '[';
    bool first = true;
    for (const auto& element : value.get_array()) {
      if (!first)
        out += ',';
      first = false;
      append_json_text(out, element);
    }
    out += ']';
    return;
  }
  case boost::json::kind::object: {
    out += '{';
    bool first = true;
    for (const auto& member : value.get_object()) {
      if (!first)
        out += ',';
      first = false;
      append_string(out, member.key());
      out += ':';
      append_json_text(out, member.value());
    }
    out += '}';
    return;
  }
  }
}

std::string json_text(const boost::json::value& value)
{
  std::string out;
  append_json_text(out, value);
  return out;
}

} // namespace dm::util
