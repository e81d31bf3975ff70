// The engagement report (DESIGN 5): active users, DAU/WAU/MAU, sessions,
// daily activity, signup cohorts and segments.

#include "dm/report/activity.hpp"
#include "dm/report/calendar.hpp"
#include "dm/report/generator.hpp"
#include "dm/report/sql_util.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <tuple>
#include <unordered_map>

namespace dm::report::detail {

namespace {

/// Sessions and their mean length in the period, from raw rows.
std::pair<std::int64_t, double> sessions_exact(pqxx::transaction_base& txn, const Period& p)
{
  const pqxx::row r = txn.exec_params1(
      "SELECT count(*), coalesce(avg(extract(epoch FROM mx - mn)), 0) FROM ("
      " SELECT session_id, min(ts) AS mn, max(ts) AS mx FROM dm.learning_events"
      " WHERE ts >= $1 AND ts < $2 AND session_id IS NOT NULL GROUP BY session_id) s",
      ts(p.from), ts(p.to));
  return {as_int(r[0]), as_double(r[1]) / 60.0};
}

/// Sessions of the period from the rollup (a session is assumed to last less
/// than 7 days): the count and mean length over the period, and per local
/// day the sessions whose [first_ts, last_ts] overlaps it.
///
/// Sessions wholly inside the period are measured on learning_sessions;
/// those crossing a bound on their raw events inside the period. One scan of
/// the sessions starting in or up to 7 days before the period, grouped by
/// the UTC hours of their first and last instant inside the period (a few
/// thousand groups, spread over local days here; date_bin is plain
/// arithmetic, several times cheaper per row than a zone-aware date_trunc).
struct SessionStats {
  std::int64_t count = 0;
  double minutes = 0;
  std::vector<std::int64_t> per_day; ///< indexed like local_days(p)
  std::unordered_map<std::int64_t, std::int64_t> per_user; ///< sessions overlapping the period, by user
};

SessionStats sessions_rollup(pqxx::transaction_base& txn, const Period& p)
{
  const auto days = local_days(p);
  SessionStats out;
  out.per_day.assign(days.size(), 0);
  std::vector<std::int64_t> starts(days.size() + 1, 0); // +n from the first day, -n after the last
  std::int64_t inner = 0;
  double inner_seconds = 0;
  // Per user: the segments' sessions per user, and the count and length
  // of the sessions wholly inside the period.
  for (const auto& row : txn.exec_params(
           "SELECT user_id, count(*), count(*) FILTER (WHERE first_ts >= $1 AND last_ts < $2),"
           " extract(epoch FROM sum(last_ts - first_ts) FILTER (WHERE first_ts >= $1 AND last_ts < $2))"
           " FROM dm.learning_sessions"
           " WHERE first_ts > $1::timestamptz - interval '7 days' AND first_ts < $2 AND last_ts >= $1 GROUP BY user_id",
           ts(p.from), ts(p.to))) {
    out.per_user.emplace(row[0].as<std::int64_t>(), as_int(row[1]));
    inner += as_int(row[2]);
    inner_seconds += as_double(row[3]);
  }
  // Per first and last hour inside the period, spread over the local days.
  for (const auto& row : txn.exec_params(
           "SELECT extract(epoch FROM h1)::int8, extract(epoch FROM h2)::int8, n"
           " FROM (SELECT date_bin('1 hour', greatest(first_ts, $1), '2000-01-01Z') AS h1,"
           "        date_bin('1 hour', least(last_ts, $2::timestamptz - interval '1 microsecond'), '2000-01-01Z') AS h2,"
           "        count(*) AS n"
           "       FROM dm.learning_sessions"
           "       WHERE first_ts > $1::timestamptz - interval '7 days' AND first_ts < $2 AND last_ts >= $1"
           "       GROUP BY 1, 2) g",
           ts(p.from), ts(p.to))) {
    // The days holding the first and last hour: binary search on day ends.
    auto day_of = [&days](util::Micros t) {
      return static_cast<std::size_t>(
          std::upper_bound(days.begin(), days.end(), t, [](util::Micros v, const LocalDay& d) { return v < d.end; }) -
          days.begin());
    };
    const std::size_t first = day_of(as_int(row[0]) * util::micros_per_second);
    const std::size_t last = day_of(as_int(row[1]) * util::micros_per_second);
    if (first >= days.size() || last >= days.size() || first > last)
      continue;
    starts[first] += as_int(row[2]);
    starts[last + 1] -= as_int(row[2]);
  }
  std::int64_t running = 0;
  for (std::size_t i = 0; i < days.size(); ++i)
    out.per_day[i] = running += starts[i];

  // Sessions crossing a bound: those starting in the 7 days before the
  // period that reach into it, and those starting in the period that end after it.
  const pqxx::row edge = txn.exec_params1(
      "WITH before AS (SELECT session_id, last_ts FROM dm.learning_sessions"
      "                WHERE first_ts > $1::timestamptz - interval '7 days' AND first_ts < $1 AND last_ts >= $1),"
      " after AS (SELECT session_id, first_ts FROM dm.learning_sessions"
      "           WHERE first_ts >= greatest($1::timestamptz, $2::timestamptz - interval '7 days') AND first_ts < $2"
      "             AND last_ts >= $2)"
      " SELECT count(*), coalesce(sum(extract(epoch FROM mx - mn)), 0) FROM ("
      "  SELECT session_id, min(ts) AS mn, max(ts) AS mx FROM ("
      "   SELECT session_id, ts FROM dm.learning_events"
      "   WHERE ts >= $1 AND ts < $2 AND ts <= (SELECT max(last_ts) FROM before)"
      "     AND session_id IN (SELECT session_id FROM before)"
      "   UNION ALL"
      "   SELECT session_id, ts FROM dm.learning_events"
      "   WHERE ts >= $1 AND ts < $2 AND ts >= (SELECT min(first_ts) FROM after)"
      "     AND session_id IN (SELECT session_id FROM after)) e GROUP BY session_id) s",
      ts(p.from), ts(p.to));
  out.count = inner + as_int(edge[0]);
  out.minutes = ratio(inner_seconds + as_double(edge[1]), static_cast<double>(out.count)) / 60.0;
  return out;
}

/// The local wall time `days` days before `to`: the start of the WAU and
/// MAU windows.
util::Micros days_before(pqxx::transaction_base& txn, const Period& p, int days)
{
  return txn.exec_params1("SELECT (extract(epoch FROM ($1::timestamptz AT TIME ZONE $2 - make_interval(days => $3))"
                          " AT TIME ZONE $2) * 1000000)::int8",
                          ts(p.to), p.tz, days)[0]
      .as<std::int64_t>();
}

/// Distinct active users in [start, to) from raw rows.
std::int64_t active_since(pqxx::transaction_base& txn, util::Micros start, util::Micros to)
{
  return as_int(txn.exec_params1("SELECT count(DISTINCT user_id) FROM dm.learning_events WHERE ts >= $1 AND ts < $2",
                                 ts(start), ts(to))[0]);
}

/// Per local day: distinct active users, sessions, questions.
struct DayCounts {
  std::int64_t users = 0, sessions = 0, questions = 0;
};

/// The daily counts from raw rows.
std::vector<DayCounts> daily_exact(pqxx::transaction_base& txn, const Period& p, const std::vector<LocalDay>& days)
{
  std::map<std::string, DayCounts> by_day;
  for (const auto& row : txn.exec_params(
           "SELECT (ts AT TIME ZONE $3)::date::text, count(DISTINCT user_id), count(DISTINCT session_id),"
           " count(*) FILTER (WHERE kind = 'question_answered')"
           " FROM dm.learning_events WHERE ts >= $1 AND ts < $2 GROUP BY 1",
           ts(p.from), ts(p.to), p.tz))
    by_day[row[0].as<std::string>()] = DayCounts{as_int(row[1]), as_int(row[2]), as_int(row[3])};
  std::vector<DayCounts> out;
  for (const LocalDay& d : days)
    out.push_back(by_day.count(d.date) != 0 ? by_day[d.date] : DayCounts{});
  return out;
}

/// Active users and questions per local day from the rollups (sessions are
/// filled in by the caller). When local days are UTC days, a row of
/// user_active_days is one active user that day.
std::vector<DayCounts> daily_rollup(pqxx::transaction_base& txn, const Period& p, const std::vector<LocalDay>& days,
                                    bool utc_days)
{
  std::map<std::string, DayCounts> by_day;
  const std::string sql =
      utc_days ? "SELECT day::text, count(*), sum(answered) FROM dm.user_active_days"
                 " WHERE day >= $1::date AND day < $2::date AND $3::text IS NOT NULL GROUP BY day"
               : "SELECT (hour AT TIME ZONE $3)::date::text, count(DISTINCT user_id), sum(answered)"
                 " FROM dm.learning_user_hourly WHERE hour >= $1 AND hour < $2 GROUP BY 1";
  for (const auto& row : txn.exec_params(sql, utc_days ? utc_date(p.from) : ts(p.from),
                                         utc_days ? utc_date(p.to) : ts(p.to), p.tz))
    by_day[row[0].as<std::string>()] = DayCounts{as_int(row[1]), 0, as_int(row[2])};
  std::vector<DayCounts> out;
  for (const LocalDay& d : days)
    out.push_back(by_day.count(d.date) != 0 ? by_day[d.date] : DayCounts{});
  return out;
}

Section daily_section(const std::vector<LocalDay>& days, const std::vector<DayCounts>& counts)
{
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
  for (std::size_t i = 0; i < days.size(); ++i)
    s.rows.push_back({days[i].date, counts[i].users, counts[i].sessions, counts[i].questions});
  return s;
}

/// The weeks of the cohort section: local Mondays from the one holding
/// `from` while they start before `to`; activity is read up to `end`, the
/// Monday after the last.
struct CohortWeeks {
  util::Micros first = 0, end = 0;
  std::vector<std::string> mondays; ///< local dates
};

CohortWeeks cohort_weeks(const Period& p)
{
  CohortWeeks w;
  w.first = week_start(p.from, p.tz);
  w.end = add_weeks(week_start(p.to - 1, p.tz), 1, p.tz);
  for (util::Micros m = w.first; m < p.to; m = add_weeks(m, 1, p.tz))
    w.mondays.push_back(local_date(m, p.tz));
  return w;
}

/// Cohort sizes and, per cohort week and k, the cohort's users active in its
/// k-th week.
struct CohortCounts {
  std::map<std::string, std::int64_t> sizes;
  std::map<std::pair<std::string, int>, std::int64_t> active;
};

void cohort_sizes(pqxx::transaction_base& txn, const Period& p, const CohortWeeks& w, CohortCounts& c)
{
  for (const auto& row : txn.exec_params(
           "SELECT date_trunc('week', signup_at AT TIME ZONE $3)::date::text, count(*) FROM dm.users"
           " WHERE signup_at >= $1 AND signup_at < $2 GROUP BY 1",
           ts(w.first), ts(w.end), p.tz))
    c.sizes[row[0].as<std::string>()] = as_int(row[1]);
}

/// Cohort activity by SQL over raw rows (exact) or the hourly user rollup.
void cohort_activity_sql(pqxx::transaction_base& txn, const Period& p, const CohortWeeks& w, bool exact, CohortCounts& c)
{
  const std::string activity =
      exact ? "SELECT DISTINCT user_id, date_trunc('week', ts AT TIME ZONE $3) AS aw FROM dm.learning_events"
              " WHERE ts >= $1 AND ts < $2"
            : "SELECT DISTINCT user_id, date_trunc('week', hour AT TIME ZONE $3) AS aw FROM dm.learning_user_hourly"
              " WHERE hour >= $1 AND hour < $2";
  for (const auto& row : txn.exec_params(
           "WITH c AS (SELECT user_id, date_trunc('week', signup_at AT TIME ZONE $3) AS w FROM dm.users"
           "           WHERE signup_at >= $1 AND signup_at < $2),"
           " a AS (" + activity + ")"
           " SELECT c.w::date::text, ((a.aw::date - c.w::date) / 7)::int AS k, count(DISTINCT a.user_id)"
           " FROM c JOIN a ON a.user_id = c.user_id AND a.aw >= c.w GROUP BY 1, 2",
           ts(w.first), ts(w.end), p.tz))
    c.active[{row[0].as<std::string>(), row[1].as<int>()}] = as_int(row[2]);
}

Section cohort_section(const CohortWeeks& w, CohortCounts& c)
{
  // Weeks listed: k while the cohort's k-th week starts before `to`.
  const int max_k = static_cast<int>(w.mondays.size());
  Section s;
  s.name = "cohorts";
  s.title = "Weekly signup cohorts";
  s.columns = {{"cohort_week", ColumnType::date, "Cohort week"}, {"size", ColumnType::integer, "Size"}};
  for (int k = 0; k < max_k; ++k)
    s.columns.push_back({fmt::format("week_{}", k), ColumnType::ratio, fmt::format("Week {}", k)});
  for (int row_index = 0; row_index < max_k; ++row_index) {
    const std::string& week = w.mondays[static_cast<std::size_t>(row_index)];
    const std::int64_t size = c.sizes.count(week) != 0 ? c.sizes[week] : 0;
    std::vector<Cell> row{week, size};
    for (int k = 0; k < max_k; ++k) {
      if (k < max_k - row_index) {
        const auto it = c.active.find({week, k});
        row.emplace_back(ratio(it == c.active.end() ? 0.0 : static_cast<double>(it->second), static_cast<double>(size)));
      } else {
        row.emplace_back(std::monostate{});
      }
    }
    s.rows.push_back(std::move(row));
  }
  return s;
}

/// One segment value's sums.
struct SegmentSums {
  std::int64_t users = 0;
  double sessions = 0, answered = 0, correct = 0;
};
/// Per dimension (platform, country, channel), per value.
using Segments = std::array<std::map<std::string, SegmentSums>, 3>;
constexpr std::array<const char*, 3> segment_dimensions{"platform", "country", "channel"};

/// Segments by SQL over raw rows: the three dimensions in one pass;
/// grouping() tells them apart (3 platform, 5 country, 6 channel).
Segments segments_exact(pqxx::transaction_base& txn, const Period& p)
{
  Segments out;
  for (const auto& row : txn.exec_params(
           "WITH pu AS (SELECT user_id, count(*) FILTER (WHERE kind = 'question_answered') AS answered,"
           "  count(*) FILTER (WHERE kind = 'question_answered' AND correct) AS correct,"
           "  count(DISTINCT session_id) AS sessions"
           "  FROM dm.learning_events WHERE ts >= $1 AND ts < $2 GROUP BY user_id),"
           " j AS (SELECT coalesce(u.platform, '(unknown)') AS platform, coalesce(u.country, '(unknown)') AS country,"
           "  coalesce(u.channel, '(unknown)') AS channel, pu.sessions, pu.answered, pu.correct"
           "  FROM pu LEFT JOIN dm.users u USING (user_id))"
           " SELECT grouping(platform, country, channel), coalesce(platform, country, channel), count(*),"
           " sum(sessions), sum(answered), sum(correct)"
           " FROM j GROUP BY GROUPING SETS ((platform), (country), (channel))",
           ts(p.from), ts(p.to))) {
    const int g = row[0].as<int>();
    out[g == 3 ? 0 : g == 5 ? 1 : 2][row[1].as<std::string>()] =
        SegmentSums{as_int(row[2]), as_double(row[3]), as_double(row[4]), as_double(row[5])};
  }
  return out;
}

/// Each dimension's values, most active users first, then by value.
Section segment_section(const Segments& segments)
{
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
  for (std::size_t d = 0; d < segments.size(); ++d) {
    std::vector<std::pair<std::string, SegmentSums>> values(segments[d].begin(), segments[d].end());
    std::stable_sort(values.begin(), values.end(),
                     [](const auto& a, const auto& b) { return a.second.users > b.second.users; });
    for (const auto& [value, v] : values)
      s.rows.push_back({std::string(segment_dimensions[d]), value, v.users,
                        ratio(v.sessions, static_cast<double>(v.users)), ratio(v.correct, v.answered)});
  }
  return s;
}

/// What the rollup path learns per user in one pass over the activity
/// rollup: the active-user KPIs, the segments and the cohorts.
struct UserPass {
  std::int64_t active = 0, wau = 0, mau = 0;
  Segments segments;
  CohortCounts cohorts;
};

/// One pass over the user activity of [lo, hi) (the period, the 30 days
/// before `to` and the cohort weeks), grouped by user: whether the user was
/// active in the period, the WAU and MAU windows, the answers in the period,
/// the cohort weeks with activity (a bit per week), with the user's
/// attributes; `sessions` holds the sessions per user in the period. From user_active_days when local
/// days are UTC days over [lo, hi) and every bound is a UTC midnight, else
/// from learning_user_hourly.
UserPass user_pass(pqxx::transaction_base& txn, const Period& p, util::Micros wau_start, util::Micros mau_start,
                   const CohortWeeks& w, const std::unordered_map<std::int64_t, std::int64_t>& sessions)
{
  const util::Micros lo = std::min({p.from, wau_start, mau_start, w.first});
  const util::Micros hi = std::max(p.to, w.end);
  bool by_day = local_days_are_utc_days(Period{lo, hi, p.tz});
  for (util::Micros t : {p.from, p.to, wau_start, mau_start, w.first, w.end})
    by_day = by_day && t % util::micros_per_day == 0;
  auto range = [&](util::Micros a, util::Micros b) {
    return by_day ? fmt::format("day >= {}::date AND day < {}::date", txn.quote(utc_date(a)), txn.quote(utc_date(b)))
                  : fmt::format("hour >= {}::timestamptz AND hour < {}::timestamptz", txn.quote(ts(a)), txn.quote(ts(b)));
  };
  const std::string first_week_date = txn.quote(w.mondays.empty() ? local_date(w.first, p.tz) : w.mondays.front());
  const std::string local_day = by_day ? "day" : fmt::format("(hour AT TIME ZONE {})::date", txn.quote(p.tz));
  // One bit per cohort week fits a bigint up to 63 weeks; beyond, the
  // cohorts are counted by SQL.
  const bool week_bits = w.mondays.size() <= 63;
  const std::string weeks =
      week_bits ? fmt::format("bit_or(1::int8 << (({} - {}::date) / 7)) FILTER (WHERE {})", local_day, first_week_date,
                              range(w.first, w.end))
                : "NULL::int8";
  const std::string sql = fmt::format(
      "SELECT a.in_p, a.in_wau, a.in_mau, a.answered, a.correct, a.weeks, a.user_id,"
      " coalesce(u.platform, '(unknown)'), coalesce(u.country, '(unknown)'), coalesce(u.channel, '(unknown)'),"
      " CASE WHEN u.signup_at >= $1 AND u.signup_at < $2"
      "  THEN (date_trunc('week', u.signup_at AT TIME ZONE $3)::date - {first_week}::date) / 7 END"
      " FROM (SELECT user_id, bool_or({p}) AS in_p, bool_or({wau}) AS in_wau, bool_or({mau}) AS in_mau,"
      "        sum(answered) FILTER (WHERE {p}) AS answered, sum(correct) FILTER (WHERE {p}) AS correct,"
      "        {weeks} AS weeks"
      "       FROM {table} WHERE {all} GROUP BY user_id) a"
      " LEFT JOIN dm.users u USING (user_id)",
      fmt::arg("first_week", first_week_date), fmt::arg("p", range(p.from, p.to)), fmt::arg("wau", range(wau_start, p.to)),
      fmt::arg("mau", range(mau_start, p.to)), fmt::arg("weeks", weeks),
      fmt::arg("table", by_day ? "dm.user_active_days" : "dm.learning_user_hourly"), fmt::arg("all", range(lo, hi)));
  UserPass out;
  const int n_weeks = static_cast<int>(w.mondays.size());
  for (const auto& row : txn.exec_params(sql, ts(w.first), ts(w.end), p.tz)) {
    if (row[1].as<bool>())
      ++out.wau;
    if (row[2].as<bool>())
      ++out.mau;
    if (row[0].as<bool>()) {
      ++out.active;
      const auto it = sessions.find(row[6].as<std::int64_t>());
      const double user_sessions = it == sessions.end() ? 0.0 : static_cast<double>(it->second);
      for (std::size_t d = 0; d < 3; ++d) {
        SegmentSums& v = out.segments[d][row[static_cast<int>(7 + d)].as<std::string>()];
        ++v.users;
        v.sessions += user_sessions;
        v.answered += as_double(row[3]);
        v.correct += as_double(row[4]);
      }
    }
    if (week_bits && !row[5].is_null() && !row[10].is_null()) {
      const int signup = row[10].as<int>();
      const auto bits = static_cast<std::uint64_t>(row[5].as<std::int64_t>());
      if (signup < 0 || signup >= n_weeks)
        continue;
      const std::string& cohort = w.mondays[static_cast<std::size_t>(signup)];
      for (int k = 0; signup + k < 64; ++k)
        if ((bits >> (signup + k)) & 1)
          ++out.cohorts.active[{cohort, k}];
    }
  }
  if (!week_bits)
    cohort_activity_sql(txn, p, w, false, out.cohorts);
  return out;
}

} // namespace

void generate_engagement(pqxx::transaction_base& txn, const GenerateRequest& request, bool exact, Report& out)
{
  const Period& p = request.period;
  const auto days = local_days(p);
  const CohortWeeks weeks = cohort_weeks(p);
  CohortCounts cohorts;
  cohort_sizes(txn, p, weeks, cohorts);
  // The 7 and 30 local calendar days before `to`.
  const util::Micros wau_start = days_before(txn, p, 7);
  const util::Micros mau_start = days_before(txn, p, 30);
  std::int64_t active = 0, wau = 0, mau = 0, sessions = 0, questions = 0, user_days = 0;
  double minutes = 0;
  std::vector<DayCounts> daily;
  Segments segments;
  if (exact) {
    const pqxx::row totals = txn.exec_params1(
        "SELECT count(DISTINCT user_id), count(*) FILTER (WHERE kind = 'question_answered'),"
        " (SELECT count(*) FROM (SELECT DISTINCT (ts AT TIME ZONE $3)::date, user_id"
        "  FROM dm.learning_events WHERE ts >= $1 AND ts < $2) d)"
        " FROM dm.learning_events WHERE ts >= $1 AND ts < $2",
        ts(p.from), ts(p.to), p.tz);
    active = as_int(totals[0]);
    questions = as_int(totals[1]);
    user_days = as_int(totals[2]);
    wau = active_since(txn, wau_start, p.to);
    mau = active_since(txn, mau_start, p.to);
    std::tie(sessions, minutes) = sessions_exact(txn, p);
    daily = daily_exact(txn, p, days);
    cohort_activity_sql(txn, p, weeks, true, cohorts);
    segments = segments_exact(txn, p);
  } else {
    daily = daily_rollup(txn, p, days, local_days_are_utc_days(p));
    const SessionStats s = sessions_rollup(txn, p);
    sessions = s.count;
    minutes = s.minutes;
    for (std::size_t i = 0; i < days.size(); ++i) {
      daily[i].sessions = s.per_day[i];
      // The distinct users per local day sum to the user-days.
      user_days += daily[i].users;
      questions += daily[i].questions;
    }
    UserPass pass = user_pass(txn, p, wau_start, mau_start, weeks, s.per_user);
    active = pass.active;
    wau = pass.wau;
    mau = pass.mau;
    segments = std::move(pass.segments);
    cohorts.active = std::move(pass.cohorts.active);
  }
  const double dau_avg = ratio(static_cast<double>(user_days), static_cast<double>(days.size()));
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
  out.sections.push_back(daily_section(days, daily));
  out.sections.push_back(cohort_section(weeks, cohorts));
  out.sections.push_back(segment_section(segments));
}

} // namespace dm::report::detail
