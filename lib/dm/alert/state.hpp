#pragma once
// The state machine of one alert rule (DESIGN 7), pure: pending while the
// condition holds for less than `for`, firing after, resolved once the
// condition has stayed clear for `resolve_for` (no flapping).

#include "dm/util/time.hpp"

#include <optional>
#include <string>

namespace dm::alert {

enum class Phase { inactive, pending, firing };

/// The state of a rule between two evaluations. condition_since: the
/// evaluation at which the condition began (the alert's started_at).
/// clear_since: while firing, the first evaluation since which the condition
/// has been clear; 0 while it holds (and in the other phases).
struct RuleState {
  Phase phase = Phase::inactive;
  util::Micros condition_since = 0;
  util::Micros clear_since = 0;
};

/// A change of state. from: inactive|pending|firing; to: pending|firing|resolved.
/// value: the metric at that evaluation, NaN when there was no data.
struct Transition {
  std::string from, to;
  util::Micros at = 0;
  double value = 0;
};

/// Advances `state` by one evaluation at `at` (evaluations come in increasing
/// order of `at`) and returns the transition it makes, if any:
/// - inactive, condition: pending (condition_since = at); with for_s = 0 the
///   rule goes straight to firing, reported as one transition inactive ->
///   firing (no pending step, as Prometheus does for `for: 0`).
/// - pending, condition held since condition_since for >= for_s: firing.
/// - pending, condition false: resolved (the alert never fired), inactive.
/// - firing, condition false: clear_since is set at the first such evaluation;
///   once at - clear_since >= resolve_for_s: resolved, inactive. A condition
///   that comes back before that resets clear_since and the alert stays
///   firing, without a transition.
/// The caller turns "no data" into condition = false (see evaluate.hpp).
std::optional<Transition> step(RuleState& state, bool condition, double value, util::Micros at, int for_s,
                               int resolve_for_s);

/// "inactive", "pending", "firing".
const char* phase_name(Phase phase) noexcept;

} // namespace dm::alert
