#include "dm/alert/json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace dm::alert {

namespace {

std::string shown(const boost::json::value& v)
{
  std::string text = boost::json::serialize(v);
  if (text.size() > 60)
    text = text.substr(0, 57) + "...";
  return text;
}

std::string text_of(const boost::json::value& v, const char* field)
{
  if (!v.is_string())
    throw FieldError(field, fmt::format("{} '{}': expected a string", field, shown(v)));
  return std::string(v.get_string());
}

double number_of(const boost::json::value& v, const char* field)
{
  if (!v.is_number())
    throw FieldError(field, fmt::format("{} '{}': expected a number", field, shown(v)));
  return v.to_number<double>();
}

int seconds_of(const boost::json::value& v, const char* field)
{
  const double d = number_of(v, field);
  if (d != std::floor(d) || d < std::numeric_limits<int>::min() || d > std::numeric_limits<int>::max())
    throw FieldError(field, fmt::format("{} '{}': expected a whole number of seconds", field, shown(v)));
  return static_cast<int>(d);
}

} // namespace

boost::json::value rule_json(const StoredRule& rule)
{
  const RuleSpec& s = rule.spec;
  boost::json::object o;
  o["id"] = rule.id;
  o["name"] = s.name;
  o["kind"] = s.kind;
  o["metric"] = s.metric;
  o["service"] = s.service.empty() ? boost::json::value(nullptr) : boost::json::value(s.service);
  o["op"] = s.op;
  o["threshold"] = s.threshold;
  o["for_s"] = s.for_s;
  o["resolve_for_s"] = s.resolve_for_s;
  o["severity"] = s.severity;
  o["sensitivity"] = s.sensitivity ? boost::json::value(*s.sensitivity) : boost::json::value(nullptr);
  o["window_s"] = s.window_s;
  o["enabled"] = s.enabled;
  o["source"] = s.source;
  o["created_at"] = util::format_rfc3339_utc(rule.created_at);
  return o;
}

RuleSpec rule_spec_from_json(const boost::json::value& body)
{
  if (!body.is_object())
    throw FieldError("body", fmt::format("body '{}': expected a JSON object describing the rule", shown(body)));
  RuleSpec spec;
  for (const auto& [key_view, v] : body.get_object()) {
    const std::string key(key_view);
    if (key == "name")
      spec.name = text_of(v, "name");
    else if (key == "kind")
      spec.kind = text_of(v, "kind");
    else if (key == "metric")
      spec.metric = text_of(v, "metric");
    else if (key == "service")
      spec.service = v.is_null() ? std::string() : text_of(v, "service");
    else if (key == "op")
      spec.op = text_of(v, "op");
    else if (key == "threshold")
      spec.threshold = number_of(v, "threshold");
    else if (key == "for_s" || key == "for")
      spec.for_s = seconds_of(v, "for_s");
    else if (key == "resolve_for_s" || key == "resolve_for")
      spec.resolve_for_s = seconds_of(v, "resolve_for_s");
    else if (key == "severity")
      spec.severity = text_of(v, "severity");
    else if (key == "sensitivity")
      spec.sensitivity = v.is_null() ? std::nullopt : std::optional<double>(number_of(v, "sensitivity"));
    else if (key == "window_s" || key == "window")
      spec.window_s = seconds_of(v, "window_s");
    else if (key == "enabled") {
      if (!v.is_bool())
        throw FieldError("enabled", fmt::format("enabled '{}': expected true or false", shown(v)));
      spec.enabled = v.get_bool();
    } else
      throw FieldError(key, fmt::format("{} '{}': not a field of an alert rule (expected name, kind, metric, "
                                          "service, op, threshold, for_s, resolve_for_s, severity, sensitivity, "
                                          "window_s, enabled)",
                                          key, shown(v)));
  }
  validate(spec);
  return spec;
}

boost::json::value backtest_json(const std::vector<BacktestStep>& steps)
{
  boost::json::array out;
  for (const auto& s : steps)
    out.push_back(boost::json::object{{"at", util::format_rfc3339_utc(s.at)},
                                      {"value", s.value ? boost::json::value(*s.value) : boost::json::value(nullptr)},
                                      {"from", s.from},
                                      {"to", s.to}});
  return out;
}

} // namespace dm::alert
