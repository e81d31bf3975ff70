#pragma once
// The SQL of the dashboards, in one place, as named prepared statements. The
// names carry a `dm_dashboard_` prefix because the connection may be shared
// with other subsystems.

#include <pqxx/pqxx>

namespace dm::dashboard::detail {

/// Rollup rows of a window: bucket (µs since the epoch), service, n, errors,
/// sketch; $1 <= bucket < $2.
inline constexpr const char* requests_by_minute_stmt = "dm_dashboard_requests_by_minute";
/// The latest sample of each host in $1 <= ts < $2 (host, ts in µs, cpu, mem,
/// disk, load1) with the sum, count and max of its cpu over the window.
inline constexpr const char* latest_host_samples_stmt = "dm_dashboard_latest_host_samples";
/// One user's rows of dm.user_topic_totals, by topic.
inline constexpr const char* user_topics_stmt = "dm_dashboard_user_topics";
/// One user's rows of dm.user_active_days, by day (days since 1970-01-01).
inline constexpr const char* user_days_stmt = "dm_dashboard_user_days";
/// Whether dm.users has the user.
inline constexpr const char* user_exists_stmt = "dm_dashboard_user_exists";

/// Registers every statement above on `conn`. Idempotent: libpqxx accepts the
/// same definition again, and prepares each on the server on first use.
void prepare_statements(pqxx::connection_base& conn);

} // namespace dm::dashboard::detail
