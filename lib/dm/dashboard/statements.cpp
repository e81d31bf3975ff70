#include "dm/dashboard/statements.hpp"

namespace dm::dashboard::detail {

void prepare_statements(pqxx::connection_base& conn)
{
  // Instants leave the server as exact microseconds (extract gives numeric),
  // so the C++ side never parses timestamp text.
  conn.prepare(requests_by_minute_stmt,
               "SELECT (extract(epoch FROM bucket) * 1000000)::bigint, service, n, errors, sketch"
               " FROM dm.request_rollup_1m WHERE bucket >= $1 AND bucket < $2");
  conn.prepare(latest_host_samples_stmt,
               "SELECT DISTINCT ON (host) host, (extract(epoch FROM ts) * 1000000)::bigint, cpu, mem, disk, load1,"
               " sum(cpu::float8) OVER w, count(cpu) OVER w, max(cpu) OVER w"
               " FROM dm.host_samples WHERE ts >= $1 AND ts < $2"
               " WINDOW w AS (PARTITION BY host)"
               " ORDER BY host, ts DESC");
  conn.prepare(user_topics_stmt,
               "SELECT topic, answered, correct, sum_answer_ms, timed, (extract(epoch FROM last_ts) * 1000000)::bigint"
               " FROM dm.user_topic_totals WHERE user_id = $1 ORDER BY topic");
  conn.prepare(user_days_stmt,
               "SELECT day - DATE '1970-01-01', answered, correct, mock_attempts, mock_passes,"
               " (extract(epoch FROM last_ts) * 1000000)::bigint"
               " FROM dm.user_active_days WHERE user_id = $1 ORDER BY day");
  conn.prepare(user_exists_stmt, "SELECT EXISTS (SELECT 1 FROM dm.users WHERE user_id = $1)");
}

} // namespace dm::dashboard::detail
