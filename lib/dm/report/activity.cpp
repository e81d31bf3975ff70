#include "dm/report/activity.hpp"

#include "dm/report/sql_util.hpp"

#include <fmt/format.h>

namespace dm::report::detail {

ActivityRanges activity_ranges(util::Micros from, util::Micros to)
{
  ActivityRanges r;
  r.from = from;
  r.to = to;
  r.days_from = util::floor_to(from + util::micros_per_day - 1, util::micros_per_day);
  r.days_to = util::floor_to(to, util::micros_per_day);
  if (r.days_from >= r.days_to)
    r.days_from = r.days_to = to;
  return r;
}

std::string utc_date(util::Micros t)
{
  return util::format_rfc3339_utc(util::floor_to(t, util::micros_per_day)).substr(0, 10);
}

std::string user_activity_rows_sql(pqxx::transaction_base& txn, const ActivityRanges& r)
{
  std::string sql;
  auto add = [&sql](const std::string& part) { sql += (sql.empty() ? "" : " UNION ALL ") + part; };
  if (r.days_from < r.days_to)
    add(fmt::format("SELECT user_id, answered, correct FROM dm.user_active_days WHERE day >= {}::date AND day < {}::date"
                    " AND events > 0",
                    txn.quote(utc_date(r.days_from)), txn.quote(utc_date(r.days_to))));
  for (auto [a, b] : {std::pair{r.from, r.days_from}, std::pair{r.days_to, r.to}})
    if (a < b)
      add(fmt::format("SELECT user_id, answered, correct FROM dm.learning_user_hourly"
                      " WHERE hour >= {}::timestamptz AND hour < {}::timestamptz AND events > 0",
                      txn.quote(ts(a)), txn.quote(ts(b))));
  if (sql.empty())
    sql = "SELECT 0::bigint AS user_id, 0 AS answered, 0 AS correct WHERE false";
  return sql;
}

std::int64_t active_users_rollup(pqxx::transaction_base& txn, util::Micros from, util::Micros to)
{
  if (from >= to)
    return 0;
  return as_int(txn.exec1(fmt::format("SELECT count(DISTINCT user_id) FROM ({}) a",
                                      user_activity_rows_sql(txn, activity_ranges(from, to))))[0]);
}

} // namespace dm::report::detail
