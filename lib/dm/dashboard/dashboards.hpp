#pragma once
// The names of the dashboards (DESIGN 8 and 9): the `dashboard` field of the
// WebSocket protocol and the keys of the snapshot cache.

#include <array>
#include <string_view>

namespace dm::dashboard {

inline constexpr std::string_view system_performance_dashboard = "system_performance";
inline constexpr std::string_view business_kpis_dashboard = "business_kpis";
inline constexpr std::string_view alerts_dashboard = "alerts";
/// Per user, computed on demand (UserProgressCache), never in the snapshot cache.
inline constexpr std::string_view user_progress_dashboard = "user_progress";

/// The dashboards the Refresher keeps in the snapshot cache.
inline constexpr std::array<std::string_view, 3> cached_dashboards{
    system_performance_dashboard, business_kpis_dashboard, alerts_dashboard};

} // namespace dm::dashboard
