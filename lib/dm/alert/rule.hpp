#pragma once
// Alert rules (DESIGN 7): `dm.alert_rules`, checked before they reach the
// database, and the default rules of [dashboard.alert_thresholds].
//
// Not thread-safe: one RuleStore per connection, used by one thread.

#include "dm/config/config.hpp"
#include "dm/util/error.hpp"
#include "dm/util/time.hpp"

#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dm::alert {

/// What a rule is made of. kind "threshold": the condition is
/// `metric op threshold` over [at - window_s, at). kind "anomaly": the
/// condition is the anomaly detector's score at `at` (op and threshold are
/// kept but not used; sensitivity is required).
struct RuleSpec {
  std::string name;
  std::string kind = "threshold"; ///< threshold | anomaly
  std::string metric;             ///< p95_ms p99_ms error_rate rps active_users cpu mem disk load1
  std::string service;            ///< request metrics only; "" = every service
  std::string op = ">";           ///< > | <
  double threshold = 0;
  int for_s = 60;
  int resolve_for_s = 300;
  std::string severity = "medium"; ///< low | medium | high | critical
  std::optional<double> sensitivity; ///< anomaly rules, 0..1
  int window_s = 300;
  bool enabled = true;
  std::string source = "user"; ///< user | config
};

struct StoredRule {
  std::int64_t id = 0;
  RuleSpec spec;
  util::Micros created_at = 0;
};

/// The metrics a rule may watch, and those that take a service label.
bool is_metric(std::string_view metric) noexcept;
bool is_request_metric(std::string_view metric) noexcept;
bool is_severity(std::string_view severity) noexcept;

/// Checks every field; throws FieldError naming the first bad one and its
/// value. Limits: name 1..200 bytes without control characters; for_s and
/// resolve_for_s 0..604800; window_s 1..86400; threshold finite.
void validate(const RuleSpec& spec);

class RuleStore {
public:
  explicit RuleStore(pqxx::connection_base& conn) : conn_(conn) {}

  /// Validates and stores a rule. Throws FieldError, or dm::Conflict when
  /// the name is taken.
  StoredRule create(const RuleSpec& spec);
  /// Every rule, by id.
  std::vector<StoredRule> list();
  /// Throws dm::NotFound "no alert rule with id N".
  StoredRule get(std::int64_t id);
  /// Deletes a rule; its alerts stay (rule_id becomes NULL) and an open one
  /// resolves at the next evaluation. Throws dm::NotFound.
  void remove(std::int64_t id);
  /// Enables or disables a rule; returns it as stored. Throws dm::NotFound.
  StoredRule set_enabled(std::int64_t id, bool enabled);

private:
  pqxx::connection_base& conn_;
};

/// The rules [dashboard.alert_thresholds] asks for, source "config":
///   default-p95          p95_ms > response_time_ms      high
///   default-error-rate   error_rate > error_rate         high
///   default-active-users active_users < active_users     medium (only when > 0; over the last hour)
///   default-cpu          cpu > system_load                medium
/// every one with for_s 60, window_s 300 (3600 for active users) and the
/// given resolve_for_s ([alerts] resolve_for).
std::vector<RuleSpec> default_rules(const config::AlertThresholds& thresholds, int resolve_for_s);

/// Names of every rule default_rules() can make, set or not.
const std::vector<std::string>& default_rule_names();

/// Creates the default rules that are missing, updates threshold and
/// resolve_for_s of config rules whose values changed (re-enabling them), and
/// disables a config rule the configuration no longer asks for
/// (active_users = 0). A rule of the same name made by a person is never
/// touched. Idempotent and safe with several daemons starting at once
/// (INSERT ... ON CONFLICT). Returns how many rules it created, changed or
/// disabled.
int ensure_default_rules(pqxx::connection_base& conn, const config::AlertThresholds& thresholds, int resolve_for_s);

namespace detail {
/// SELECT of every column of dm.alert_rules in the order rule_from_row reads
/// them, ending before WHERE / ORDER BY.
extern const char* const rule_select_sql;
StoredRule rule_from_row(const pqxx::row& r);
} // namespace detail

} // namespace dm::alert
