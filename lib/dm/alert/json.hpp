#pragma once
// Alert rules and backtests as JSON, the same for the API (GET/POST
// /alert-rules) and `rule list|add|test --format json`.

#include "dm/alert/evaluate.hpp"
#include "dm/alert/rule.hpp"

#include <boost/json/value.hpp>

#include <vector>

namespace dm::alert {

/// `{"id","name","kind","metric","service","op","threshold","for_s",
/// "resolve_for_s","severity","sensitivity","window_s","enabled","source",
/// "created_at"}`; service and sensitivity null when absent.
boost::json::value rule_json(const StoredRule& rule);

/// A rule from a JSON object (POST /alert-rules). Keys as rule_json writes
/// them; "for", "resolve_for" and "window" are accepted for "for_s",
/// "resolve_for_s" and "window_s"; "id", "created_at" and "source" are
/// refused (a rule made through the API is a person's). Missing keys keep
/// RuleSpec's defaults. Throws FieldError naming the key for an unknown
/// key or a value of the wrong type, and validate()'s errors.
RuleSpec rule_spec_from_json(const boost::json::value& body);

/// `[{"at","value","from","to"}]`, at RFC 3339 UTC, value null without data.
boost::json::value backtest_json(const std::vector<BacktestStep>& steps);

} // namespace dm::alert
