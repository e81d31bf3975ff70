#include "dm/alert/state.hpp"

namespace dm::alert {

const char* phase_name(Phase phase) noexcept
{
  switch (phase) {
  case Phase::pending:
    return "pending";
  case Phase::firing:
    return "firing";
  case Phase::inactive:
    break;
  }
  return "inactive";
}

std::optional<Transition> step(RuleState& state, bool condition, double value, util::Micros at, int for_s,
                               int resolve_for_s)
{
  const util::Micros hold = static_cast<util::Micros>(for_s) * util::micros_per_second;
  const util::Micros clear_for = static_cast<util::Micros>(resolve_for_s) * util::micros_per_second;
  switch (state.phase) {
  case Phase::inactive:
    if (!condition)
      return std::nullopt;
    state.condition_since = at;
    state.clear_since = 0;
    state.phase = for_s <= 0 ? Phase::firing : Phase::pending;
    return Transition{"inactive", phase_name(state.phase), at, value};
  case Phase::pending:
    if (!condition) {
      state = RuleState{};
      return Transition{"pending", "resolved", at, value};
    }
    if (at - state.condition_since >= hold) {
      state.phase = Phase::firing;
      state.clear_since = 0;
      return Transition{"pending", "firing", at, value};
    }
    return std::nullopt;
  case Phase::firing:
    if (condition) {
      state.clear_since = 0;
      return std::nullopt;
    }
    if (state.clear_since == 0)
      state.clear_since = at;
    if (at - state.clear_since >= clear_for) {
      state = RuleState{};
      return Transition{"firing", "resolved", at, value};
    }
    return std::nullopt;
  }
  return std::nullopt;
}

} // namespace dm::alert
