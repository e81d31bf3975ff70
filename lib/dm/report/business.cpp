// The business report (DESIGN 5): revenue, paying users, conversion, churn,
// ARPU and MRR, each against the previous period of the same length.
// Payments are few, so they are always read from the raw table; active users
// (for ARPU) come from the rollup unless exact.

#include "dm/report/activity.hpp"
#include "dm/report/calendar.hpp"
#include "dm/report/generator.hpp"
#include "dm/report/sql_util.hpp"

#include <fmt/format.h>

#include <map>

namespace dm::report::detail {

namespace {

struct BusinessValues {
  std::int64_t revenue = 0;
  std::int64_t new_paying = 0;
  double conversion = 0;
  double churn = 0;
  double arpu = 0;
  double mrr = 0;
};

/// Users whose latest subscribe/renew/cancel before `t` is a subscribe or renew.
constexpr const char* subscribers_sql =
    "SELECT user_id, plan, amount_cents FROM ("
    " SELECT DISTINCT ON (user_id) user_id, kind, plan, amount_cents FROM dm.payments"
    " WHERE ts < $1 AND kind IN ('subscribe', 'renew', 'cancel') ORDER BY user_id, ts DESC) s"
    " WHERE kind <> 'cancel'";

BusinessValues values_for(pqxx::transaction_base& txn, util::Micros from, util::Micros to, bool exact)
{
  BusinessValues v;
  const pqxx::row r = txn.exec_params1(
      "SELECT"
      " coalesce(sum(amount_cents) FILTER (WHERE kind IN ('subscribe', 'renew')), 0)"
      "  - coalesce(sum(amount_cents) FILTER (WHERE kind = 'refund'), 0),"
      " count(*) FILTER (WHERE kind = 'cancel')"
      " FROM dm.payments WHERE ts >= $1 AND ts < $2",
      ts(from), ts(to));
  v.revenue = as_int(r[0]);
  const auto cancels = as_int(r[1]);
  v.new_paying = as_int(txn.exec_params1(
      "SELECT count(*) FROM (SELECT user_id, min(ts) AS first FROM dm.payments WHERE kind IN ('subscribe', 'renew')"
      " GROUP BY user_id) f WHERE first >= $1 AND first < $2",
      ts(from), ts(to))[0]);
  // The period's paying users are few: one hash of them, probed per new
  // user, rather than an index lookup into payments per new user.
  const pqxx::row conv = txn.exec_params1(
      "SELECT count(*), count(p.user_id) FROM dm.users u LEFT JOIN ("
      " SELECT DISTINCT user_id FROM dm.payments WHERE kind IN ('subscribe', 'renew') AND ts >= $1 AND ts < $2) p"
      " USING (user_id) WHERE u.signup_at >= $1 AND u.signup_at < $2",
      ts(from), ts(to));
  v.conversion = ratio(as_double(conv[1]), as_double(conv[0]));
  const auto subscribers_at_from =
      as_int(txn.exec_params1(std::string("SELECT count(*) FROM (") + subscribers_sql + ") s", ts(from))[0]);
  v.churn = ratio(static_cast<double>(cancels), static_cast<double>(subscribers_at_from));
  // ARPU over engagement's active users (the rollup holds them exactly for whole hours).
  const auto active =
      exact ? as_int(txn.exec_params1("SELECT count(DISTINCT user_id) FROM dm.learning_events WHERE ts >= $1 AND ts < $2",
                                      ts(from), ts(to))[0])
            : active_users_rollup(txn, from, to);
  v.arpu = ratio(static_cast<double>(v.revenue), static_cast<double>(active));
  v.mrr = as_double(txn.exec_params1(
      std::string("SELECT coalesce(sum(CASE plan WHEN 'monthly' THEN amount_cents::float8"
                  " WHEN 'quarterly' THEN amount_cents / 3.0 ELSE 0 END), 0) FROM (") +
          subscribers_sql + ") s",
      ts(to))[0]);
  return v;
}

Kpi compared(std::string name, std::string label, ColumnType type, double value, double previous)
{
  Kpi k;
  k.name = std::move(name);
  k.label = std::move(label);
  k.type = type;
  k.has_comparison = true;
  if (type == ColumnType::integer) {
    k.value = static_cast<std::int64_t>(value);
    k.previous = static_cast<std::int64_t>(previous);
  } else {
    k.value = value;
    k.previous = previous;
  }
  if (previous != 0)
    k.change = (value - previous) / previous;
  // DESIGN 5: up above +2 %, down below -2 %, else flat; up when previous = 0 < value.
  if (previous == 0)
    k.trend = value > 0 ? Trend::up : Trend::flat;
  else
    k.trend = *k.change > 0.02 ? Trend::up : *k.change < -0.02 ? Trend::down : Trend::flat;
  return k;
}

} // namespace

void generate_business(pqxx::transaction_base& txn, const GenerateRequest& request, bool exact, Report& out)
{
  const Period& p = request.period;
  const util::Micros length = p.to - p.from;
  const BusinessValues now = values_for(txn, p.from, p.to, exact);
  const BusinessValues before = values_for(txn, p.from - length, p.from, exact);
  out.kpis = {
      compared("revenue_cents", "Revenue (cents)", ColumnType::integer, static_cast<double>(now.revenue),
               static_cast<double>(before.revenue)),
      compared("new_paying_users", "New paying users", ColumnType::integer, static_cast<double>(now.new_paying),
               static_cast<double>(before.new_paying)),
      compared("conversion_rate", "Conversion", ColumnType::ratio, now.conversion, before.conversion),
      compared("churn_rate", "Churn", ColumnType::ratio, now.churn, before.churn),
      compared("arpu_cents", "ARPU (cents)", ColumnType::number, now.arpu, before.arpu),
      compared("mrr_cents", "MRR (cents)", ColumnType::number, now.mrr, before.mrr)};

  std::map<std::string, std::pair<std::int64_t, std::int64_t>> by_day;
  for (const auto& r : txn.exec_params(
           "SELECT (ts AT TIME ZONE $3)::date::text,"
           " coalesce(sum(amount_cents) FILTER (WHERE kind IN ('subscribe', 'renew')), 0)"
           "  - coalesce(sum(amount_cents) FILTER (WHERE kind = 'refund'), 0), count(*)"
           " FROM dm.payments WHERE ts >= $1 AND ts < $2 GROUP BY 1",
           ts(p.from), ts(p.to), p.tz))
    by_day[r[0].as<std::string>()] = {as_int(r[1]), as_int(r[2])};
  Section daily;
  daily.name = "daily_revenue";
  daily.title = "Daily revenue";
  daily.columns = {{"day", ColumnType::date, "Day"},
                   {"revenue_cents", ColumnType::integer, "Revenue (cents)"},
                   {"payments", ColumnType::integer, "Payments"}};
  daily.chart = Chart::line;
  daily.chart_x = "day";
  daily.chart_y = {"revenue_cents"};
  for (const LocalDay& d : local_days(p)) {
    const auto it = by_day.find(d.date);
    daily.rows.push_back({d.date, it == by_day.end() ? 0 : it->second.first, it == by_day.end() ? 0 : it->second.second});
  }

  Section plans;
  plans.name = "plans";
  plans.title = "Plans";
  plans.columns = {{"plan", ColumnType::text, "Plan"},
                   {"subscribers_at_to", ColumnType::integer, "Subscribers at end"},
                   {"revenue_cents", ColumnType::integer, "Revenue (cents)"}};
  plans.chart = Chart::bar;
  plans.chart_x = "plan";
  plans.chart_y = {"revenue_cents"};
  for (const auto& r : txn.exec_params(
           std::string("WITH subs AS (") + subscribers_sql + "),"
           " rev AS (SELECT plan, coalesce(sum(amount_cents) FILTER (WHERE kind IN ('subscribe', 'renew')), 0)"
           "  - coalesce(sum(amount_cents) FILTER (WHERE kind = 'refund'), 0) AS revenue"
           "  FROM dm.payments WHERE ts >= $2 AND ts < $1 AND plan IS NOT NULL GROUP BY plan)"
           " SELECT p.plan, (SELECT count(*) FROM subs WHERE subs.plan = p.plan), coalesce(rev.revenue, 0)"
           " FROM (VALUES ('monthly'), ('quarterly'), ('lifetime')) AS p(plan) LEFT JOIN rev USING (plan)",
           ts(p.to), ts(p.from)))
    plans.rows.push_back({r[0].as<std::string>(), as_int(r[1]), as_int(r[2])});
  out.sections = {std::move(daily), std::move(plans)};
}

} // namespace dm::report::detail
