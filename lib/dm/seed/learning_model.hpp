#pragma once
// Parameters of the learning simulation that both the simulation and the row
// estimate need.

namespace dm::seed {

/// On an active day (other than the sign-up day) a learner has one session,
/// a second one with this probability, and then a third with the next.
inline constexpr double second_session_probability = 0.3;
inline constexpr double third_session_probability = 0.25;

inline constexpr double sessions_per_active_day =
    1 + second_session_probability * (1 + third_session_probability);

/// Average rows per session (start, 10..40 or 30 answers, maybe a lesson or a
/// mock result, end), measured over default data sets.
inline constexpr double rows_per_session = 28;

} // namespace dm::seed
