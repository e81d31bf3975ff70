#include "dm/rollup/rollups.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace dm::rollup {

namespace {

std::size_t mix(std::uint64_t x) noexcept
{
  // splitmix64 finaliser: cheap and spreads sequential ids well.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return static_cast<std::size_t>(x);
}

/// A per-user-hour count as the integer column holds it.
std::int32_t narrow(std::int64_t v)
{
  if (v > std::numeric_limits<std::int32_t>::max())
    throw std::overflow_error(fmt::format("{} events of one user in one hour and topic exceed the rollup's range", v));
  return static_cast<std::int32_t>(v);
}

} // namespace

std::uint32_t Interner::id(std::string_view s)
{
  if (has_last_ && s == last_)
    return last_id_;
  std::string key(s);
  auto [it, inserted] = ids_.try_emplace(key, static_cast<std::uint32_t>(names_.size()));
  if (inserted)
    names_.push_back(key);
  last_ = std::move(key);
  last_id_ = it->second;
  has_last_ = true;
  return last_id_;
}

std::size_t LearningRollup::HourKeyHash::operator()(const HourKey& k) const noexcept
{
  return mix(static_cast<std::uint64_t>(k.hour) * 31 + static_cast<std::uint64_t>(k.user_id) * 0x9e3779b97f4a7c15ULL +
             k.topic);
}

std::size_t LearningRollup::UserHourKeyHash::operator()(const UserHourKey& k) const noexcept
{
  return mix(static_cast<std::uint64_t>(k.hour) * 31 + static_cast<std::uint64_t>(k.user_id) * 0x9e3779b97f4a7c15ULL);
}

std::size_t RequestRollup::MinuteKeyHash::operator()(const MinuteKey& k) const noexcept
{
  return mix(static_cast<std::uint64_t>(k.minute) * 0x9e3779b97f4a7c15ULL + k.series);
}

void LearningRollup::add(const ingest::LearningRecord& r)
{
  using ingest::LearningKind;
  const std::uint32_t topic = topics_.id(r.topic ? std::string_view(*r.topic) : std::string_view());
  const util::Micros hour = util::floor_to(r.ts, util::micros_per_hour);
  HourAgg& h = hourly_[HourKey{hour, r.user_id, topic}];
  UserHourAgg& u = user_hourly_[UserHourKey{hour, r.user_id}];
  ++h.events;
  ++u.events;
  if (r.kind == LearningKind::question_answered) {
    ++h.answered;
    ++u.answered;
    if (r.correct.value_or(false)) {
      ++h.correct;
      ++u.correct;
    }
    if (r.answer_ms) {
      h.sum_answer_ms += *r.answer_ms;
      ++h.timed;
    }
  } else if (r.kind == LearningKind::mock_test_completed) {
    ++h.mock_attempts;
    if (r.score) {
      h.mock_score_sum += *r.score;
      if (*r.score >= ingest::mock_pass_score)
        ++h.mock_passes;
    }
  }
  if (r.session_id) {
    auto [it, inserted] = sessions_.try_emplace(*r.session_id, SessionAgg{r.user_id, r.ts, r.ts, 0});
    SessionAgg& s = it->second;
    if (r.ts < s.first_ts)
      s.first_ts = r.ts;
    if (r.ts > s.last_ts)
      s.last_ts = r.ts;
    ++s.events;
  }
}

std::uint64_t LearningRollup::write(db::PgConnection& conn) const
{
  std::uint64_t written = 0;
  if (!hourly_.empty()) {
    std::vector<const std::pair<const HourKey, HourAgg>*> rows;
    rows.reserve(hourly_.size());
    for (const auto& entry : hourly_)
      rows.push_back(&entry);
    // Key order for index locality; within a user-hour the few topics go in
    // interning order, which is as good and cheaper than comparing names.
    std::sort(rows.begin(), rows.end(), [](const auto* a, const auto* b) {
      if (a->first.hour != b->first.hour)
        return a->first.hour < b->first.hour;
      if (a->first.user_id != b->first.user_id)
        return a->first.user_id < b->first.user_id;
      return a->first.topic < b->first.topic;
    });
    std::vector<std::int64_t> buckets;
    for (const auto* r : rows)
      buckets.push_back(lock_bucket_of_hour(r->first.hour));
    static const RollupTarget target{
        "dm.learning_hourly",
        {"hour", "user_id", "topic", "answered", "correct", "sum_answer_ms", "timed", "mock_attempts",
         "mock_passes", "mock_score_sum", "events"},
        "hour, user_id, topic",
        "hour",
        "answered = t.answered + excluded.answered, correct = t.correct + excluded.correct, "
        "sum_answer_ms = t.sum_answer_ms + excluded.sum_answer_ms, timed = t.timed + excluded.timed, "
        "mock_attempts = t.mock_attempts + excluded.mock_attempts, "
        "mock_passes = t.mock_passes + excluded.mock_passes, "
        "mock_score_sum = t.mock_score_sum + excluded.mock_score_sum, events = t.events + excluded.events",
        0x646d0001};
    written += write_rollup(conn, target, buckets, util::format_rfc3339_utc(rows.front()->first.hour),
                            util::format_rfc3339_utc(rows.back()->first.hour), rows.size(),
                            [&](db::BinaryCopy& copy) {
                              for (const auto* r : rows) {
                                const HourKey& k = r->first;
                                const HourAgg& a = r->second;
                                copy.begin_row(11);
                                copy.timestamp(k.hour);
                                copy.int64(k.user_id);
                                copy.text(topics_.name(k.topic));
                                copy.int32(narrow(a.answered));
                                copy.int32(narrow(a.correct));
                                copy.int64(a.sum_answer_ms);
                                copy.int32(narrow(a.timed));
                                copy.int32(narrow(a.mock_attempts));
                                copy.int32(narrow(a.mock_passes));
                                copy.float8(a.mock_score_sum);
                                copy.int32(narrow(a.events));
                              }
                            });
  }
  if (!user_hourly_.empty()) {
    std::vector<const std::pair<const UserHourKey, UserHourAgg>*> rows;
    rows.reserve(user_hourly_.size());
    for (const auto& entry : user_hourly_)
      rows.push_back(&entry);
    std::sort(rows.begin(), rows.end(), [](const auto* a, const auto* b) {
      return a->first.hour != b->first.hour ? a->first.hour < b->first.hour : a->first.user_id < b->first.user_id;
    });
    std::vector<std::int64_t> buckets;
    for (const auto* r : rows)
      buckets.push_back(lock_bucket_of_hour(r->first.hour));
    static const RollupTarget target{
        "dm.learning_user_hourly",
        {"hour", "user_id", "events", "answered", "correct"},
        "hour, user_id",
        "hour",
        "events = t.events + excluded.events, answered = t.answered + excluded.answered, "
        "correct = t.correct + excluded.correct",
        0x646d0004};
    written += write_rollup(conn, target, buckets, util::format_rfc3339_utc(rows.front()->first.hour),
                            util::format_rfc3339_utc(rows.back()->first.hour), rows.size(), [&](db::BinaryCopy& copy) {
                              for (const auto* r : rows) {
                                copy.begin_row(5);
                                copy.timestamp(r->first.hour);
                                copy.int64(r->first.user_id);
                                copy.int32(narrow(r->second.events));
                                copy.int32(narrow(r->second.answered));
                                copy.int32(narrow(r->second.correct));
                              }
                            });
  }
  if (!sessions_.empty()) {
    std::vector<const std::pair<const std::int64_t, SessionAgg>*> rows;
    rows.reserve(sessions_.size());
    for (const auto& entry : sessions_)
      rows.push_back(&entry);
    std::sort(rows.begin(), rows.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
    std::vector<std::int64_t> buckets;
    for (const auto* r : rows)
      buckets.push_back(static_cast<std::int64_t>(mix(static_cast<std::uint64_t>(r->first)) % 4096));
    static const RollupTarget target{
        "dm.learning_sessions",
        {"session_id", "user_id", "first_ts", "last_ts", "events"},
        "session_id",
        "session_id",
        "first_ts = least(t.first_ts, excluded.first_ts), last_ts = greatest(t.last_ts, excluded.last_ts), "
        "events = t.events + excluded.events",
        0x646d0002};
    written += write_rollup(conn, target, buckets, std::to_string(rows.front()->first),
                            std::to_string(rows.back()->first), rows.size(), [&](db::BinaryCopy& copy) {
                              for (const auto* r : rows) {
                                copy.begin_row(5);
                                copy.int64(r->first);
                                copy.int64(r->second.user_id);
                                copy.timestamp(r->second.first_ts);
                                copy.timestamp(r->second.last_ts);
                                copy.int64(r->second.events);
                              }
                            });
  }
  return written;
}

void RequestRollup::add(const ingest::RequestRecord& r)
{
  std::string key = r.service;
  key += '\0';
  if (r.endpoint)
    key += *r.endpoint;
  const std::uint32_t series = series_.id(key);
  MinuteAgg& m = minutes_[MinuteKey{util::floor_to(r.ts, util::micros_per_minute), series}];
  ++m.n;
  if (r.status >= 500)
    ++m.errors;
  m.sum_ms += r.duration_ms;
  m.sketch.insert(r.duration_ms);
}

std::uint64_t RequestRollup::write(db::PgConnection& conn) const
{
  if (minutes_.empty())
    return 0;
  struct Row {
    const MinuteKey* key;
    const MinuteAgg* agg;
    std::string_view service, endpoint;
  };
  std::vector<Row> rows;
  rows.reserve(minutes_.size());
  for (const auto& [k, m] : minutes_) {
    const std::string& series = series_.name(k.series);
    const std::size_t nul = series.find('\0');
    rows.push_back({&k, &m, std::string_view(series).substr(0, nul), std::string_view(series).substr(nul + 1)});
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.key->minute != b.key->minute)
      return a.key->minute < b.key->minute;
    if (a.service != b.service)
      return a.service < b.service;
    return a.endpoint < b.endpoint;
  });
  std::vector<std::int64_t> buckets;
  for (const Row& r : rows)
    buckets.push_back(lock_bucket_of_hour(r.key->minute));
  static const RollupTarget target{
      "dm.request_rollup_1m",
      {"bucket", "service", "endpoint", "n", "errors", "sum_ms", "sketch"},
      "bucket, service, endpoint",
      "bucket",
      "n = t.n + excluded.n, errors = t.errors + excluded.errors, sum_ms = t.sum_ms + excluded.sum_ms, "
      "sketch = dm.sketch_merge(t.sketch, excluded.sketch)",
      0x646d0003};
  std::string sketch;
  return write_rollup(conn, target, buckets, util::format_rfc3339_utc(rows.front().key->minute),
                      util::format_rfc3339_utc(rows.back().key->minute), rows.size(), [&](db::BinaryCopy& copy) {
                        for (const Row& r : rows) {
                          copy.begin_row(7);
                          copy.timestamp(r.key->minute);
                          copy.text(r.service);
                          copy.text(r.endpoint);
                          copy.int64(r.agg->n);
                          copy.int64(r.agg->errors);
                          copy.float8(r.agg->sum_ms);
                          sketch = r.agg->sketch.serialize();
                          copy.bytea(sketch);
                        }
                      });
}

std::int64_t lock_bucket_of_hour(util::Micros t) noexcept
{
  return static_cast<std::int64_t>(
      mix(static_cast<std::uint64_t>(util::floor_to(t, util::micros_per_hour) / util::micros_per_hour)) % 4096);
}

std::uint64_t write_rollup(db::PgConnection& conn, const RollupTarget& target,
                           const std::vector<std::int64_t>& lock_buckets, const std::string& low,
                           const std::string& high, std::uint64_t row_count,
                           const std::function<void(db::BinaryCopy&)>& rows)
{
  std::vector<std::int64_t> buckets = lock_buckets;
  std::sort(buckets.begin(), buckets.end());
  buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
  std::string array = "{";
  for (std::size_t i = 0; i < buckets.size(); ++i)
    array += (i == 0 ? "" : ",") + std::to_string(buckets[i]);
  array += "}";
  // The subquery's order is the order the locks are taken in.
  conn.query_value(fmt::format("SELECT count(pg_advisory_xact_lock({}, b::int)) FROM "
                               "(SELECT b FROM unnest($1::bigint[]) b ORDER BY b) s",
                               target.lock_class),
                   {array});
  const bool overlap = conn.query_value(fmt::format("SELECT EXISTS (SELECT 1 FROM {} WHERE {} BETWEEN $1 AND $2)",
                                                    target.table, target.range_column),
                                        {low, high}) == "t";
  if (!overlap) {
    db::BinaryCopy copy(conn, target.table, target.columns);
    rows(copy);
    copy.finish();
    return row_count;
  }
  const std::string temp = fmt::format("dm_ingest_{}", target.table.substr(target.table.find('.') + 1));
  conn.exec(fmt::format("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP", temp, target.table));
  {
    db::BinaryCopy copy(conn, temp, target.columns);
    rows(copy);
    copy.finish();
  }
  conn.exec(fmt::format("INSERT INTO {} AS t SELECT * FROM {} ORDER BY {} ON CONFLICT ({}) DO UPDATE SET {}",
                        target.table, temp, target.key_columns, target.key_columns, target.merge));
  conn.exec(fmt::format("DROP TABLE {}", temp));
  return row_count;
}

} // namespace dm::rollup
