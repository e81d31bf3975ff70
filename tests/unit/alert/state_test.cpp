// The state machine of one alert rule: pending, firing after `for`, resolved
// after `resolve_for` clear, no flapping.

#include "dm/alert/state.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using dm::alert::Phase;
using dm::alert::RuleState;
using dm::alert::Transition;
using dm::util::Micros;

namespace {

constexpr Micros s = dm::util::micros_per_second;
constexpr Micros t0 = 1'767'571'200LL * s;

/// Evaluates every 15 s from t0; conditions[i] is the condition at t0 + 15 s * i.
/// Returns "from>to@seconds" for each transition.
std::vector<std::string> run(const std::vector<bool>& conditions, int for_s, int resolve_for_s,
                             RuleState* final_state = nullptr)
{
  RuleState state;
  std::vector<std::string> out;
  for (std::size_t i = 0; i < conditions.size(); ++i) {
    const Micros at = t0 + static_cast<Micros>(i) * 15 * s;
    if (const auto tr = dm::alert::step(state, conditions[i], static_cast<double>(i), at, for_s, resolve_for_s)) {
      CHECK(tr->at == at);
      CHECK(tr->value == static_cast<double>(i));
      out.push_back(tr->from + ">" + tr->to + "@" + std::to_string((at - t0) / s));
    }
  }
  if (final_state != nullptr)
    *final_state = state;
  return out;
}

std::vector<bool> pattern(std::initializer_list<std::pair<bool, int>> runs)
{
  std::vector<bool> out;
  for (const auto& [value, count] : runs)
    out.insert(out.end(), static_cast<std::size_t>(count), value);
  return out;
}

} // namespace

TEST_CASE("alert state: pending at the first true evaluation, firing once the condition held for `for`", "[alert][state]")
{
  // Condition from 30 s on; for 60 s: firing at 90 s; clear from 300 s,
  // resolve_for 120 s: resolved at 420 s.
  const auto conditions = pattern({{false, 2}, {true, 18}, {false, 20}});
  RuleState end;
  CHECK(run(conditions, 60, 120, &end) ==
        std::vector<std::string>{"inactive>pending@30", "pending>firing@90", "firing>resolved@420"});
  CHECK(end.phase == Phase::inactive);
}

TEST_CASE("alert state: a blip shorter than `for` never fires and resolves as soon as it ends", "[alert][state]")
{
  const auto conditions = pattern({{false, 1}, {true, 3}, {false, 4}, {true, 2}, {false, 2}});
  CHECK(run(conditions, 60, 300) == std::vector<std::string>{"inactive>pending@15", "pending>resolved@60",
                                                             "inactive>pending@120", "pending>resolved@150"});
}

TEST_CASE("alert state: a condition that oscillates while firing never resolves before resolve_for", "[alert][state]")
{
  // Firing at 60 s, then alternating 2 evaluations false (30 s) and one true
  // for 20 minutes: the clear stretches never reach 120 s.
  std::vector<bool> conditions = pattern({{true, 5}});
  for (int i = 0; i < 26; ++i) {
    conditions.push_back(false);
    conditions.push_back(false);
    conditions.push_back(i % 3 == 0);
    conditions.push_back(false);
    conditions.push_back(true);
  }
  RuleState end;
  const auto transitions = run(conditions, 60, 120, &end);
  CHECK(transitions == std::vector<std::string>{"inactive>pending@0", "pending>firing@60"});
  CHECK(end.phase == Phase::firing);
  CHECK(end.clear_since == 0); // the last evaluation had the condition
  // Then clear for good: resolved exactly 120 s after the first clear evaluation.
  std::vector<bool> longer = conditions;
  longer.insert(longer.end(), 10, false);
  const auto more = run(longer, 60, 120);
  REQUIRE(more.size() == 3);
  const std::size_t first_clear = conditions.size();
  CHECK(more[2] == "firing>resolved@" + std::to_string(first_clear * 15 + 120));
}

TEST_CASE("alert state: for 0 fires at once and resolve_for 0 resolves at the first clear evaluation", "[alert][state]")
{
  const auto conditions = pattern({{false, 1}, {true, 2}, {false, 1}, {true, 1}});
  CHECK(run(conditions, 0, 0) ==
        std::vector<std::string>{"inactive>firing@15", "firing>resolved@45", "inactive>firing@60"});
}

TEST_CASE("alert state: clear_since is kept while firing and reset when the condition returns", "[alert][state]")
{
  RuleState state;
  REQUIRE(dm::alert::step(state, true, 1, t0, 0, 300));
  CHECK(state.phase == Phase::firing);
  CHECK(state.condition_since == t0);
  CHECK_FALSE(dm::alert::step(state, false, 0, t0 + 15 * s, 0, 300));
  CHECK(state.clear_since == t0 + 15 * s);
  CHECK_FALSE(dm::alert::step(state, false, 0, t0 + 30 * s, 0, 300));
  CHECK(state.clear_since == t0 + 15 * s);
  CHECK_FALSE(dm::alert::step(state, true, 2, t0 + 45 * s, 0, 300));
  CHECK(state.clear_since == 0);
  CHECK(state.phase == Phase::firing);
  // 299 s clear is not enough, 300 s is.
  CHECK_FALSE(dm::alert::step(state, false, 0, t0 + 60 * s, 0, 300));
  CHECK_FALSE(dm::alert::step(state, false, 0, t0 + 359 * s, 0, 300));
  const auto tr = dm::alert::step(state, false, 0, t0 + 360 * s, 0, 300);
  REQUIRE(tr);
  CHECK(tr->from == "firing");
  CHECK(tr->to == "resolved");
  CHECK(state.phase == Phase::inactive);
}
