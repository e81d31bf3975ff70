// The engagement report (DESIGN 5): active users, DAU/WAU/MAU, sessions,
// daily activity, signup cohorts and segments.

#include "dm/report/activity.hpp"
#include "dm/report/calendar.hpp"
#include "dm/report/generator.hpp"
#include "dm/report/sql_util.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
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
              " WHERE hour >= $1 AND hour < $2 AND events > 0";
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

/// Everything the engagement report shows but the sections' layout.
struct Engagement {
  std::int64_t active = 0, wau = 0, mau = 0, sessions = 0, questions = 0, user_days = 0, new_users = 0;
  double minutes = 0;
  std::vector<DayCounts> daily;
  Segments segments;
  CohortCounts cohorts;
};

/// An instant in microseconds since 1970, as SQL.
std::string epoch_us(const char* column)
{
  return fmt::format("(extract(epoch FROM {}) * 1000000)::int8", column);
}

/// Sessions this long or longer are read one by one (the partial index
/// dm.learning_sessions_long); shorter ones are counted from the hourly
/// session counters.
constexpr util::Micros long_session = 12 * util::micros_per_hour;

/// The hours of the range the rollup path reads, from the UTC midnight at or
/// before its start: per hour, the local day of the period and the cohort
/// week it falls in (-1: none), and the windows holding it.
struct HourGrid {
  enum : std::uint8_t { in_period = 1, in_wau = 2, in_mau = 4 };
  struct Slot {
    std::int32_t day = -1, week = -1;
    std::uint8_t windows = 0;
  };
  util::Micros from = 0;
  std::vector<Slot> slots;

  /// The slot of an hour, or nullptr outside the grid.
  const Slot* at(util::Micros hour) const
  {
    if (hour < from)
      return nullptr;
    const auto i = static_cast<std::size_t>((hour - from) / util::micros_per_hour);
    return i < slots.size() ? &slots[i] : nullptr;
  }
};

/// A session read one by one: those crossing the period's bounds and the long
/// ones, with what its raw events inside the period show.
struct EdgeSession {
  std::int64_t user_id = 0;
  util::Micros first_ts = 0, last_ts = 0;
  util::Micros min_ts = 0, max_ts = 0; ///< of its events in the period, when `in_period`
  bool in_period = false;
  std::vector<std::int32_t> days; ///< local days of the period with an event of it
};

/// The engagement report from the rollups, exact for whole-hour zones.
///
/// Users: one pass over dm.user_active_days (a row per user and UTC day, with
/// the UTC hours of the day the user was active in): each active hour lands
/// on its local day, cohort week and the period, WAU and MAU windows; the
/// period's answers and session counters come from the whole UTC days inside
/// the period and from dm.learning_user_hourly for the hours around them.
///
/// Sessions: a session is counted in the hour of its first event
/// (dm.learning_session_hours). Those starting before the period and reaching
/// into it, those reaching past its end and those of 12 hours or more are read
/// one by one with their raw events inside the period; every other session
/// lies inside the period, has its events on the local days of its first and
/// last event only (no local day between the first and the last is shorter
/// than 12 hours), and is counted on the day of its first event, and on the
/// next day when it is still open at that day's start (sessions open at an
/// instant = started before it - ended before it).
///
/// Returns false, computing nothing, when the rollups cannot answer exactly
/// (a bound inside an hour, a zone with a fractional offset in the range).
bool engagement_rollup(pqxx::transaction_base& txn, const Period& p, const std::vector<LocalDay>& days,
                       const CohortWeeks& w, util::Micros wau_start, util::Micros mau_start, Engagement& out)
{
  constexpr util::Micros hour = util::micros_per_hour;
  const util::Micros lo = std::min({p.from, wau_start, mau_start, w.first});
  const util::Micros hi = std::max(p.to, w.end);
  if (!whole_hour_offsets(p.tz, lo, hi))
    return false;
  for (util::Micros t : {p.from, p.to, wau_start, mau_start, w.first, w.end})
    if (t % hour != 0)
      return false;
  for (std::size_t k = 0; k < days.size(); ++k)
    if (days[k].start % hour != 0 || (k > 0 && k + 1 < days.size() && days[k].end - days[k].start < long_session))
      return false;

  // Cohort weeks: [bounds[j], bounds[j + 1]); bits per user while they fit.
  std::vector<util::Micros> week_bounds;
  for (std::size_t j = 0; j <= w.mondays.size(); ++j)
    week_bounds.push_back(j == w.mondays.size() ? w.end : add_weeks(w.first, static_cast<int>(j), p.tz));
  const bool week_bits = w.mondays.size() <= 64;

  HourGrid grid;
  grid.from = util::floor_to(lo, util::micros_per_day);
  const util::Micros grid_to = util::floor_to(hi + util::micros_per_day - 1, util::micros_per_day);
  grid.slots.resize(static_cast<std::size_t>((grid_to - grid.from) / hour));
  {
    std::size_t d = 0, j = 0;
    for (std::size_t i = 0; i < grid.slots.size(); ++i) {
      const util::Micros t = grid.from + static_cast<util::Micros>(i) * hour;
      HourGrid::Slot& s = grid.slots[i];
      while (d < days.size() && days[d].end <= t)
        ++d;
      if (d < days.size() && days[d].start <= t)
        s.day = static_cast<std::int32_t>(d);
      while (j + 1 < week_bounds.size() && week_bounds[j + 1] <= t)
        ++j;
      if (j + 1 < week_bounds.size() && week_bounds[j] <= t)
        s.week = static_cast<std::int32_t>(j);
      if (t >= p.from && t < p.to)
        s.windows |= HourGrid::in_period;
      if (t >= wau_start && t < p.to)
        s.windows |= HourGrid::in_wau;
      if (t >= mau_start && t < p.to)
        s.windows |= HourGrid::in_mau;
    }
  }

  // Users.
  struct UserState {
    std::uint32_t slot = 0;
    std::uint8_t windows = 0;
    bool known = false; ///< has a dm.users row
    std::uint64_t weeks = 0;
    std::int64_t answered = 0, correct = 0, sessions = 0;
  };
  std::unordered_map<std::int64_t, UserState> users;
  auto user = [&users](std::int64_t id) -> UserState& {
    auto [it, inserted] = users.try_emplace(id);
    if (inserted)
      it->second.slot = static_cast<std::uint32_t>(users.size() - 1);
    return it->second;
  };
  std::vector<std::uint64_t> user_day_pairs; ///< local day << 32 | user slot
  const ActivityRanges inner = activity_ranges(p.from, p.to);
  for_each_int_row<6>(
      txn,
      fmt::format("SELECT user_id, day - date '1970-01-01', hours, answered, correct, sessions FROM dm.user_active_days"
                  " WHERE day >= {}::date AND day < {}::date",
                  txn.quote(utc_date(grid.from)), txn.quote(utc_date(grid_to))),
      [&](const std::array<std::int64_t, 6>& row) {
        UserState& u = user(row[0]);
        const util::Micros day = row[1] * util::micros_per_day;
        std::int32_t last_day = -1;
        for (auto hours = static_cast<std::uint32_t>(row[2]); hours != 0; hours &= hours - 1) {
          const HourGrid::Slot* s = grid.at(day + std::countr_zero(hours) * hour);
          if (s == nullptr)
            continue;
          u.windows |= s->windows;
          if (s->week >= 0 && week_bits)
            u.weeks |= std::uint64_t{1} << s->week;
          if (s->day >= 0 && s->day != last_day) {
            user_day_pairs.push_back(static_cast<std::uint64_t>(s->day) << 32 | u.slot);
            last_day = s->day;
          }
        }
        if (day >= inner.days_from && day < inner.days_to) {
          u.answered += row[3];
          u.correct += row[4];
          u.sessions += row[5];
        }
      });
  for (auto [a, b] : {std::pair{inner.from, inner.days_from}, std::pair{inner.days_to, inner.to}})
    if (a < b)
      for_each_int_row<4>(txn,
                          fmt::format("SELECT user_id, answered, correct, sessions FROM dm.learning_user_hourly"
                                      " WHERE hour >= {}::timestamptz AND hour < {}::timestamptz",
                                      txn.quote(ts(a)), txn.quote(ts(b))),
                          [&](const std::array<std::int64_t, 4>& row) {
                            UserState& u = user(row[0]);
                            u.answered += row[1];
                            u.correct += row[2];
                            u.sessions += row[3];
                          });

  // Distinct users per local day.
  out.daily.assign(days.size(), DayCounts{});
  std::sort(user_day_pairs.begin(), user_day_pairs.end());
  user_day_pairs.erase(std::unique(user_day_pairs.begin(), user_day_pairs.end()), user_day_pairs.end());
  for (std::uint64_t pair : user_day_pairs)
    ++out.daily[pair >> 32].users;
  for (const DayCounts& d : out.daily)
    out.user_days += d.users;
  // Questions per local day, from the hourly answers per topic.
  for_each_int_row<2>(txn,
                      fmt::format("SELECT {}, sum(answered) FROM dm.learning_topic_hourly"
                                  " WHERE hour >= {}::timestamptz AND hour < {}::timestamptz GROUP BY hour",
                                  epoch_us("hour"), txn.quote(ts(p.from)), txn.quote(ts(p.to))),
                      [&](const std::array<std::int64_t, 2>& row) {
                        const HourGrid::Slot* s = grid.at(row[0]);
                        if (s != nullptr && s->day >= 0)
                          out.daily[static_cast<std::size_t>(s->day)].questions += row[1];
                      });
  for (const DayCounts& d : out.daily)
    out.questions += d.questions;

  // Sessions: the hourly counters of the period.
  const std::size_t n_hours = static_cast<std::size_t>((p.to - p.from) / hour);
  std::vector<std::int64_t> started(n_hours, 0), ended(n_hours, 0);
  std::int64_t span_us = 0;
  for_each_int_row<4>(txn,
                      fmt::format("SELECT {}, started, ended, span_us FROM dm.learning_session_hours"
                                  " WHERE hour >= {}::timestamptz AND hour < {}::timestamptz",
                                  epoch_us("hour"), txn.quote(ts(p.from)), txn.quote(ts(p.to))),
                      [&](const std::array<std::int64_t, 4>& row) {
                        const auto i = static_cast<std::size_t>((row[0] - p.from) / hour);
                        started[i] += row[1];
                        ended[i] += row[2];
                        span_us += row[3];
                      });
  // The sessions read one by one.
  std::map<std::int64_t, EdgeSession> edge;
  const std::string select_session = fmt::format("SELECT session_id, user_id, {}, {} FROM dm.learning_sessions",
                                                 epoch_us("first_ts"), epoch_us("last_ts"));
  const std::string from_q = txn.quote(ts(p.from)), to_q = txn.quote(ts(p.to));
  for_each_int_row<4>(
      txn,
      fmt::format("{0} WHERE first_ts >= {1}::timestamptz - interval '12 hours' AND first_ts < {1} AND last_ts >= {1}"
                  " UNION {0} WHERE first_ts >= {2}::timestamptz - interval '12 hours' AND first_ts < {2} AND last_ts >= {2}"
                  " UNION {0} WHERE last_ts - first_ts >= interval '12 hours' AND last_ts >= {1} AND first_ts < {2}",
                  select_session, from_q, to_q),
      [&](const std::array<std::int64_t, 4>& row) {
        EdgeSession& e = edge[row[0]];
        e.user_id = row[1];
        e.first_ts = row[2];
        e.last_ts = row[3];
      });
  if (!edge.empty()) {
    // Their raw events inside the period, in the windows where they can be.
    std::vector<std::pair<util::Micros, util::Micros>> windows;
    std::string ids;
    for (const auto& [id, e] : edge) {
      windows.emplace_back(std::max(e.first_ts, p.from), std::min(e.last_ts + 1, p.to));
      ids += (ids.empty() ? "" : ",") + std::to_string(id);
    }
    std::sort(windows.begin(), windows.end());
    std::string where;
    for (std::size_t i = 0; i < windows.size();) {
      auto [a, b] = windows[i];
      for (++i; i < windows.size() && windows[i].first <= b; ++i)
        b = std::max(b, windows[i].second);
      if (a < b)
        where += fmt::format("{}(ts >= {}::timestamptz AND ts < {}::timestamptz)", where.empty() ? "" : " OR ",
                             txn.quote(ts(a)), txn.quote(ts(b)));
    }
    if (!where.empty())
      for_each_int_row<4>(txn,
                          fmt::format("SELECT session_id, {}, {}, {} FROM dm.learning_events"
                                      " WHERE ({}) AND session_id = ANY ('{{{}}}'::int8[]) GROUP BY 1, 2",
                                      epoch_us("date_bin('1 hour', ts, '2000-01-01Z')"), epoch_us("min(ts)"),
                                      epoch_us("max(ts)"), where, ids),
                          [&](const std::array<std::int64_t, 4>& row) {
                            EdgeSession& e = edge[row[0]];
                            e.min_ts = e.in_period ? std::min(e.min_ts, row[2]) : row[2];
                            e.max_ts = e.in_period ? std::max(e.max_ts, row[3]) : row[3];
                            e.in_period = true;
                            const HourGrid::Slot* s = grid.at(row[1]);
                            if (s != nullptr && s->day >= 0)
                              e.days.push_back(s->day);
                          });
  }
  // Totals: every session starting in the period, and those starting before
  // it with an event in it; each measured inside the period.
  std::int64_t sessions = 0;
  for (std::int64_t n : started)
    sessions += n;
  std::int64_t open_at_from = 0;
  std::vector<std::int64_t> edge_started(n_hours, 0), edge_open(n_hours, 0);
  for (auto& [id, e] : edge) {
    std::sort(e.days.begin(), e.days.end());
    e.days.erase(std::unique(e.days.begin(), e.days.end()), e.days.end());
    for (std::int32_t d : e.days)
      ++out.daily[static_cast<std::size_t>(d)].sessions;
    const util::Micros clipped = e.in_period ? e.max_ts - e.min_ts : 0;
    if (e.first_ts >= p.from) {
      // Counted by the hourly counters with its whole span: replace by what the raw events show.
      span_us += clipped - (e.last_ts - e.first_ts);
      ++edge_started[static_cast<std::size_t>((util::floor_to(e.first_ts, hour) - p.from) / hour)];
    } else {
      ++open_at_from;
      if (e.in_period) {
        ++sessions;
        span_us += clipped;
        user(e.user_id).sessions += 1;
      }
    }
    // Open at the start of each hour of the period after its first (counted
    // below for the local days it reaches from an earlier one).
    const util::Micros open_from = std::max(util::floor_to(e.first_ts, hour) + hour, p.from);
    const util::Micros open_to = std::min(util::floor_to(e.last_ts, hour) + hour, p.to);
    for (util::Micros t = open_from; t < open_to; t += hour)
      ++edge_open[static_cast<std::size_t>((t - p.from) / hour)];
  }
  out.sessions = sessions;
  out.minutes = ratio(static_cast<double>(span_us), static_cast<double>(sessions)) / 60e6;
  // Per local day: sessions starting that day, and those open at its start
  // (they reach into it with their last event), other than the ones read one by one.
  std::int64_t open = open_at_from;
  for (std::size_t i = 0; i < n_hours; ++i) {
    const util::Micros t = p.from + static_cast<util::Micros>(i) * hour;
    const HourGrid::Slot* s = grid.at(t);
    DayCounts& d = out.daily[static_cast<std::size_t>(s->day)];
    if (i > 0 && days[static_cast<std::size_t>(s->day)].start == t)
      d.sessions += open - edge_open[i];
    d.sessions += started[i] - edge_started[i];
    open += started[i] - ended[i];
  }

  // The users' attributes: of every user active in the period (segments) and
  // of every signup in the cohort weeks (sizes, activity, new users).
  std::string active_ids;
  for (const auto& [id, u] : users)
    if (u.windows & HourGrid::in_period)
      active_ids += (active_ids.empty() ? "" : ",") + std::to_string(id);
  const pqxx::result attributes = txn.exec_params(
      "SELECT user_id, coalesce(platform, '(unknown)'), coalesce(country, '(unknown)'), coalesce(channel, '(unknown)'), " +
          epoch_us("signup_at") +
          " FROM dm.users WHERE user_id = ANY ($1::int8[]) OR (signup_at >= $2 AND signup_at < $3)",
      "{" + active_ids + "}", ts(w.first), ts(w.end));
  auto add_segments = [&out](const UserState& u, const std::array<std::string, 3>& values) {
    for (std::size_t d = 0; d < 3; ++d) {
      SegmentSums& v = out.segments[d][values[d]];
      ++v.users;
      v.sessions += static_cast<double>(u.sessions);
      v.answered += static_cast<double>(u.answered);
      v.correct += static_cast<double>(u.correct);
    }
  };
  for (const auto& row : attributes) {
    const std::int64_t id = row[0].as<std::int64_t>();
    const auto it = users.find(id);
    UserState* u = it == users.end() ? nullptr : &it->second;
    if (u != nullptr && (u->windows & HourGrid::in_period)) {
      u->known = true;
      add_segments(*u, {row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>()});
    }
    if (row[4].is_null())
      continue;
    const util::Micros signup = row[4].as<std::int64_t>();
    if (signup < w.first || signup >= w.end)
      continue;
    if (signup >= p.from && signup < p.to)
      ++out.new_users;
    const auto j = static_cast<std::size_t>(std::upper_bound(week_bounds.begin(), week_bounds.end(), signup) -
                                            week_bounds.begin() - 1);
    const std::string& cohort = w.mondays[j];
    ++out.cohorts.sizes[cohort];
    if (u != nullptr && week_bits)
      for (std::size_t k = 0; j + k < w.mondays.size(); ++k)
        if ((u->weeks >> (j + k)) & 1)
          ++out.cohorts.active[{cohort, static_cast<int>(k)}];
  }
  for (const auto& [id, u] : users) {
    if (!(u.windows & HourGrid::in_period))
      continue;
    ++out.active;
    if (!u.known)
      add_segments(u, {"(unknown)", "(unknown)", "(unknown)"});
  }
  for (const auto& [id, u] : users) {
    if (u.windows & HourGrid::in_wau)
      ++out.wau;
    if (u.windows & HourGrid::in_mau)
      ++out.mau;
  }
  if (!week_bits)
    cohort_activity_sql(txn, p, w, false, out.cohorts);
  return true;
}
} // namespace

void generate_engagement(pqxx::transaction_base& txn, const GenerateRequest& request, bool exact, Report& out)
{
  const Period& p = request.period;
  const auto days = local_days(p);
  const CohortWeeks weeks = cohort_weeks(p);
  // The 7 and 30 local calendar days before `to`.
  const util::Micros wau_start = days_before(txn, p, 7);
  const util::Micros mau_start = days_before(txn, p, 30);
  Engagement e;
  if (!exact && !engagement_rollup(txn, p, days, weeks, wau_start, mau_start, e)) {
    exact = true;
    out.source = "exact";
  }
  if (exact) {
    const pqxx::row totals = txn.exec_params1(
        "SELECT count(DISTINCT user_id), count(*) FILTER (WHERE kind = 'question_answered'),"
        " (SELECT count(*) FROM (SELECT DISTINCT (ts AT TIME ZONE $3)::date, user_id"
        "  FROM dm.learning_events WHERE ts >= $1 AND ts < $2) d)"
        " FROM dm.learning_events WHERE ts >= $1 AND ts < $2",
        ts(p.from), ts(p.to), p.tz);
    e.active = as_int(totals[0]);
    e.questions = as_int(totals[1]);
    e.user_days = as_int(totals[2]);
    e.wau = active_since(txn, wau_start, p.to);
    e.mau = active_since(txn, mau_start, p.to);
    std::tie(e.sessions, e.minutes) = sessions_exact(txn, p);
    e.daily = daily_exact(txn, p, days);
    cohort_sizes(txn, p, weeks, e.cohorts);
    cohort_activity_sql(txn, p, weeks, true, e.cohorts);
    e.segments = segments_exact(txn, p);
    e.new_users = as_int(txn.exec_params1("SELECT count(*) FROM dm.users WHERE signup_at >= $1 AND signup_at < $2",
                                          ts(p.from), ts(p.to))[0]);
  }
  const double dau_avg = ratio(static_cast<double>(e.user_days), static_cast<double>(days.size()));

  out.kpis = {int_kpi("active_users", "Active users", e.active),
              num_kpi("dau_avg", "Average DAU", dau_avg),
              int_kpi("wau", "WAU", e.wau),
              int_kpi("mau", "MAU", e.mau),
              num_kpi("stickiness", "Stickiness (DAU/MAU)", ratio(dau_avg, static_cast<double>(e.mau)), ColumnType::ratio),
              int_kpi("sessions", "Sessions", e.sessions),
              num_kpi("avg_session_minutes", "Average session (min)", e.minutes),
              int_kpi("new_users", "New users", e.new_users),
              int_kpi("questions", "Questions answered", e.questions)};
  out.sections.push_back(daily_section(days, e.daily));
  out.sections.push_back(cohort_section(weeks, e.cohorts));
  out.sections.push_back(segment_section(e.segments));
}

} // namespace dm::report::detail
