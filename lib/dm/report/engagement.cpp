// The engagement report (DESIGN 5): active users, DAU/WAU/MAU, sessions,
// daily activity, signup cohorts and segments.

#include "dm/report/calendar.hpp"
#include "dm/report/generator.hpp"
#include "dm/report/sql_util.hpp"

#include <fmt/format.h>

#include <map>

namespace dm::report::detail {

namespace {

/// Sessions and their mean length in the period. From the rollup, sessions
/// wholly inside the period come from learning_sessions; those crossing a
/// bound are measured on their raw events inside the period (a session is
/// assumed to last less than 7 days).
std::pair<std::int64_t, double> sessions_and_minutes(pqxx::transaction_base& txn, const Period& p, bool exact)
{
  pqxx::row r;
  if (exact) {
    r = txn.exec_params1(
        "SELECT count(*), coalesce(avg(extract(epoch FROM mx - mn)), 0) FROM ("
        " SELECT session_id, min(ts) AS mn, max(ts) AS mx FROM dm.learning_events"
        " WHERE ts >= $1 AND ts < $2 AND session_id IS NOT NULL GROUP BY session_id) s",
        ts(p.from), ts(p.to));
  } else {
    r = txn.exec_params1(
        "WITH s AS (SELECT session_id, first_ts, last_ts FROM dm.learning_sessions"
        "           WHERE first_ts < $2 AND last_ts >= $1 AND first_ts > $1::timestamptz - interval '7 days'),"
        " inner_s AS (SELECT extract(epoch FROM last_ts - first_ts) AS d FROM s WHERE first_ts >= $1 AND last_ts < $2),"
        " edge AS (SELECT session_id, min(ts) AS mn, max(ts) AS mx FROM ("
        "   SELECT session_id, ts FROM dm.learning_events"
        "   WHERE ts >= $1 AND ts < $2 AND ts <= (SELECT max(last_ts) FROM s WHERE first_ts < $1)"
        "     AND session_id IN (SELECT session_id FROM s WHERE first_ts < $1)"
        "   UNION ALL"
        "   SELECT session_id, ts FROM dm.learning_events"
        "   WHERE ts >= $1 AND ts < $2 AND ts >= (SELECT min(first_ts) FROM s WHERE last_ts >= $2)"
        "     AND session_id IN (SELECT session_id FROM s WHERE last_ts >= $2)) e GROUP BY session_id)"
        " SELECT count(*), coalesce(avg(d), 0) FROM ("
        "   SELECT d FROM inner_s UNION ALL SELECT extract(epoch FROM mx - mn) FROM edge) x",
        ts(p.from), ts(p.to));
  }
  return {as_int(r[0]), as_double(r[1]) / 60.0};
}

/// Distinct active users in [start, to).
std::int64_t active_between(pqxx::transaction_base& txn, const std::string& start_sql, const Period& p, bool exact)
{
  const std::string sql = exact ? "SELECT count(DISTINCT user_id) FROM dm.learning_events WHERE ts >= {} AND ts < $1"
                                : "SELECT count(DISTINCT user_id) FROM dm.learning_user_hourly WHERE hour >= {} AND hour < $1";
  return as_int(txn.exec_params1(fmt::format(fmt::runtime(sql), start_sql), ts(p.to), p.tz)[0]);
}

Section daily_section(pqxx::transaction_base& txn, const Period& p, bool exact)
{
  const auto days = local_days(p);
  struct Day {
    std::int64_t users = 0, sessions = 0, questions = 0;
  };
  std::map<std::string, Day> by_day;
  const std::string users_sql =
      exact ? "SELECT (ts AT TIME ZONE $3)::date::text, count(DISTINCT user_id), count(DISTINCT session_id),"
              " count(*) FILTER (WHERE kind = 'question_answered')"
              " FROM dm.learning_events WHERE ts >= $1 AND ts < $2 GROUP BY 1"
            : "SELECT (hour AT TIME ZONE $3)::date::text, count(DISTINCT user_id), 0, sum(answered)"
              " FROM dm.learning_user_hourly WHERE hour >= $1 AND hour < $2 GROUP BY 1";
  for (const auto& row : txn.exec_params(users_sql, ts(p.from), ts(p.to), p.tz)) {
    Day& d = by_day[row[0].as<std::string>()];
    d.users = as_int(row[1]);
    d.sessions = as_int(row[2]);
    d.questions = as_int(row[3]);
  }
  if (!exact && !days.empty()) {
    // A session counts on every local day it has events on: the days its
    // [first_ts, last_ts] overlaps.
    std::string names = "{", starts = "{", ends = "{";
    for (std::size_t i = 0; i < days.size(); ++i) {
      const char* sep = i == 0 ? "" : ",";
      names += sep + days[i].date;
      starts += sep + ts(days[i].start);
      ends += sep + ts(days[i].end);
    }
    names += "}";
    starts += "}";
    ends += "}";
    for (const auto& row : txn.exec_params(
             "SELECT g.day::text, count(*) FROM unnest($1::date[], $2::timestamptz[], $3::timestamptz[]) AS g(day, ds, de)"
             " JOIN dm.learning_sessions s ON s.first_ts < g.de AND s.last_ts >= g.ds"
             "  AND s.first_ts > g.ds - interval '7 days' GROUP BY 1",
             names, starts, ends))
      by_day[row[0].as<std::string>()].sessions = as_int(row[1]);
  }
  Section s;
  s.name = "daily";
  s.title = "Daily activity";
  s.columns = {{"day", ColumnType::date, "Day"},
               {"active_users", ColumnType::integer, "Active users"},
               {"sessions", ColumnType::integer, "Sessions"},
               {"questions", ColumnType::integer, "Questions"}};
  s.chart = Chart::line;
  s.chart_x = "day";
  s.chart_y = {"active_users", "sessions"};
  for (const LocalDay& day : days) {
    const Day d = by_day.count(day.date) != 0 ? by_day[day.date] : Day{};
    s.rows.push_back({day.date, d.users, d.sessions, d.questions});
  }
  return s;
}

Section cohort_section(pqxx::transaction_base& txn, const Period& p, bool exact)
{
  const util::Micros first_week = week_start(p.from, p.tz);
  const util::Micros last_week = week_start(p.to - 1, p.tz);
  const util::Micros end = add_weeks(last_week, 1, p.tz);
  std::map<std::string, std::int64_t> sizes;
  for (const auto& row : txn.exec_params(
           "SELECT date_trunc('week', signup_at AT TIME ZONE $3)::date::text, count(*) FROM dm.users"
           " WHERE signup_at >= $1 AND signup_at < $2 GROUP BY 1",
           ts(first_week), ts(end), p.tz))
    sizes[row[0].as<std::string>()] = as_int(row[1]);
  const std::string activity =
      exact ? "SELECT DISTINCT user_id, date_trunc('week', ts AT TIME ZONE $3) AS aw FROM dm.learning_events"
              " WHERE ts >= $1 AND ts < $2"
            : "SELECT DISTINCT user_id, date_trunc('week', hour AT TIME ZONE $3) AS aw FROM dm.learning_user_hourly"
              " WHERE hour >= $1 AND hour < $2";
  std::map<std::pair<std::string, int>, std::int64_t> active;
  for (const auto& row : txn.exec_params(
           "WITH c AS (SELECT user_id, date_trunc('week', signup_at AT TIME ZONE $3) AS w FROM dm.users"
           "           WHERE signup_at >= $1 AND signup_at < $2),"
           " a AS (" + activity + ")"
           " SELECT c.w::date::text, ((a.aw::date - c.w::date) / 7)::int AS k, count(DISTINCT a.user_id)"
           " FROM c JOIN a ON a.user_id = c.user_id AND a.aw >= c.w GROUP BY 1, 2",
           ts(first_week), ts(end), p.tz))
    active[{row[0].as<std::string>(), row[1].as<int>()}] = as_int(row[2]);

  // Weeks listed: k while the cohort's k-th week starts before `to`.
  int max_k = 0;
  for (util::Micros w = first_week; w < p.to; w = add_weeks(w, 1, p.tz))
    ++max_k;
  Section s;
  s.name = "cohorts";
  s.title = "Weekly signup cohorts";
  s.columns = {{"cohort_week", ColumnType::date, "Cohort week"}, {"size", ColumnType::integer, "Size"}};
  for (int k = 0; k < max_k; ++k)
    s.columns.push_back({fmt::format("week_{}", k), ColumnType::ratio, fmt::format("Week {}", k)});
  int row_index = 0;
  for (util::Micros w = first_week; w < p.to; w = add_weeks(w, 1, p.tz), ++row_index) {
    const std::string week = local_date(w, p.tz);
    const std::int64_t size = sizes.count(week) != 0 ? sizes[week] : 0;
    std::vector<Cell> row{week, size};
    for (int k = 0; k < max_k; ++k) {
      if (k < max_k - row_index) {
        const auto it = active.find({week, k});
        row.emplace_back(ratio(it == active.end() ? 0.0 : static_cast<double>(it->second), static_cast<double>(size)));
      } else {
        row.emplace_back(std::monostate{});
      }
    }
    s.rows.push_back(std::move(row));
  }
  return s;
}

Section segment_section(pqxx::transaction_base& txn, const Period& p, bool exact)
{
  const std::string per_user =
      exact ? "SELECT user_id, count(*) FILTER (WHERE kind = 'question_answered') AS answered,"
              " count(*) FILTER (WHERE kind = 'question_answered' AND correct) AS correct,"
              " count(DISTINCT session_id) AS sessions"
              " FROM dm.learning_events WHERE ts >= $1 AND ts < $2 GROUP BY user_id"
            : "SELECT h.user_id, h.answered, h.correct, coalesce(s.sessions, 0) AS sessions FROM"
              " (SELECT user_id, sum(answered) AS answered, sum(correct) AS correct FROM dm.learning_user_hourly"
              "  WHERE hour >= $1 AND hour < $2 GROUP BY user_id) h"
              " LEFT JOIN (SELECT user_id, count(*) AS sessions FROM dm.learning_sessions"
              "  WHERE first_ts < $2 AND last_ts >= $1 AND first_ts > $1::timestamptz - interval '7 days'"
              "  GROUP BY user_id) s USING (user_id)";
  Section s;
  s.name = "segments";
  s.title = "Segments";
  s.columns = {{"dimension", ColumnType::text, "Dimension"},
               {"value", ColumnType::text, "Value"},
               {"active_users", ColumnType::integer, "Active users"},
               {"sessions_per_user", ColumnType::number, "Sessions per user"},
               {"accuracy", ColumnType::ratio, "Accuracy"}};
  s.chart = Chart::bar;
  s.chart_x = "value";
  s.chart_y = {"active_users"};
  for (const char* dimension : {"platform", "country", "channel"}) {
    for (const auto& row : txn.exec_params(
             fmt::format("WITH pu AS ({}) SELECT coalesce(u.{}, '(unknown)'), count(*), sum(pu.sessions),"
                         " sum(pu.answered), sum(pu.correct) FROM pu LEFT JOIN dm.users u USING (user_id)"
                         " GROUP BY 1 ORDER BY 2 DESC, 1",
                         per_user, dimension),
             ts(p.from), ts(p.to))) {
      const auto users = as_int(row[1]);
      s.rows.push_back({std::string(dimension), row[0].as<std::string>(), users,
                        ratio(as_double(row[2]), static_cast<double>(users)),
                        ratio(as_double(row[4]), as_double(row[3]))});
    }
  }
  return s;
}

} // namespace

void generate_engagement(pqxx::transaction_base& txn, const GenerateRequest& request, bool exact, Report& out)
{
  const Period& p = request.period;
  const pqxx::row totals =
      exact ? txn.exec_params1("SELECT count(DISTINCT user_id), count(*) FILTER (WHERE kind = 'question_answered'),"
                               " (SELECT count(*) FROM (SELECT DISTINCT (ts AT TIME ZONE $3)::date, user_id"
                               "  FROM dm.learning_events WHERE ts >= $1 AND ts < $2) d)"
                               " FROM dm.learning_events WHERE ts >= $1 AND ts < $2",
                               ts(p.from), ts(p.to), p.tz)
            : txn.exec_params1("SELECT count(DISTINCT user_id), coalesce(sum(answered), 0),"
                               " (SELECT count(*) FROM (SELECT DISTINCT (hour AT TIME ZONE $3)::date, user_id"
                               "  FROM dm.learning_user_hourly WHERE hour >= $1 AND hour < $2) d)"
                               " FROM dm.learning_user_hourly WHERE hour >= $1 AND hour < $2",
                               ts(p.from), ts(p.to), p.tz);
  const std::int64_t active = as_int(totals[0]);
  const std::int64_t questions = as_int(totals[1]);
  const std::int64_t user_days = as_int(totals[2]);
  const double dau_avg = ratio(static_cast<double>(user_days), static_cast<double>(local_days(p).size()));
  // The 7 and 30 local calendar days before `to`.
  const std::int64_t wau = active_between(txn, "($1::timestamptz AT TIME ZONE $2 - interval '7 days') AT TIME ZONE $2", p, exact);
  const std::int64_t mau = active_between(txn, "($1::timestamptz AT TIME ZONE $2 - interval '30 days') AT TIME ZONE $2", p, exact);
  const auto [sessions, minutes] = sessions_and_minutes(txn, p, exact);
  const std::int64_t new_users = as_int(
      txn.exec_params1("SELECT count(*) FROM dm.users WHERE signup_at >= $1 AND signup_at < $2", ts(p.from), ts(p.to))[0]);

  out.kpis = {int_kpi("active_users", "Active users", active),
              num_kpi("dau_avg", "Average DAU", dau_avg),
              int_kpi("wau", "WAU", wau),
              int_kpi("mau", "MAU", mau),
              num_kpi("stickiness", "Stickiness (DAU/MAU)", ratio(dau_avg, static_cast<double>(mau)), ColumnType::ratio),
              int_kpi("sessions", "Sessions", sessions),
              num_kpi("avg_session_minutes", "Average session (min)", minutes),
              int_kpi("new_users", "New users", new_users),
              int_kpi("questions", "Questions answered", questions)};
  out.sections.push_back(daily_section(txn, p, exact));
  out.sections.push_back(cohort_section(txn, p, exact));
  out.sections.push_back(segment_section(txn, p, exact));
}

} // namespace dm::report::detail
