#include "dm/rollup/rollups.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace dm::rollup {

namespace {

// Every bucket is one lock held to the end of the ingest's transaction, and
// PostgreSQL's shared lock table holds max_locks_per_transaction (64 by
// default) x max_connections entries for all sessions together: a file
// spanning months must not take thousands. 256 buckets per class bound an
// ingest to about 1.5 k locks; two files collide on a bucket only by chance,
// and then merely wait for each other.
constexpr std::uint64_t lock_buckets_per_class = 256;

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

/// A per-user count of one hour or day as the integer column holds it.
std::int32_t narrow(std::int64_t v)
{
  if (v > std::numeric_limits<std::int32_t>::max())
    throw std::overflow_error(fmt::format("{} events of one user in one hour or day exceed the rollup's range", v));
  return static_cast<std::int32_t>(v);
}

/// A UTC midnight as the binary COPY form of date: days since 2000-01-01.
std::int32_t pg_date(util::Micros midnight)
{
  constexpr util::Micros postgres_epoch = 946'684'800LL * util::micros_per_second;
  return static_cast<std::int32_t>((midnight - postgres_epoch) / util::micros_per_day);
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

std::size_t RequestRollup::MinuteKeyHash::operator()(const MinuteKey& k) const noexcept
{
  return mix(static_cast<std::uint64_t>(k.minute) * 0x9e3779b97f4a7c15ULL + k.series);
}

LearningRollup::LearningRollup() : no_topic_(topics_.id("")) {}

void LearningRollup::add(const ingest::LearningRecord& r)
{
  using ingest::LearningKind;
  const std::uint32_t topic = r.topic ? topics_.id(*r.topic) : no_topic_;
  const HourKey key{util::floor_to(r.ts, util::micros_per_hour), r.user_id, topic};
  if (last_agg_ == nullptr || !(key == last_key_)) {
    // unordered_map nodes never move, so the pointer stays valid across rehashing.
    last_agg_ = &hourly_[key];
    last_key_ = key;
  }
  HourAgg& h = *last_agg_;
  if (h.events == 0 || r.ts > h.last_ts)
    h.last_ts = r.ts;
  ++h.events;
  if (r.kind == LearningKind::question_answered) {
    if (h.answered == 0) {
      h.first_answer_ts = r.ts;
      h.last_answer_ts = r.ts;
    } else if (r.ts < h.first_answer_ts) {
      h.first_answer_ts = r.ts;
    } else if (r.ts > h.last_answer_ts) {
      h.last_answer_ts = r.ts;
    }
    ++h.answered;
    if (r.correct.value_or(false))
      ++h.correct;
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

std::vector<std::uint32_t> LearningRollup::topics_by_name() const
{
  std::vector<std::uint32_t> ids(topics_.size());
  for (std::uint32_t i = 0; i < ids.size(); ++i)
    ids[i] = i;
  std::sort(ids.begin(), ids.end(), [this](std::uint32_t a, std::uint32_t b) { return topics_.name(a) < topics_.name(b); });
  return ids;
}

std::uint64_t LearningRollup::write(db::PgConnection& conn) const
{
  // Every row has an hourly entry, so without one there is nothing at all.
  if (hourly_.empty())
    return 0;
  std::vector<const HourEntry*> rows;
  rows.reserve(hourly_.size());
  for (const auto& entry : hourly_)
    rows.push_back(&entry);
  // Exact key order (topics by their rank in name order, as COLLATE "C"
  // compares): each insert then lands after the previous key, which the
  // btree appends without a descent from the root.
  const std::vector<std::uint32_t> by_name = topics_by_name();
  std::vector<std::uint32_t> rank(by_name.size());
  for (std::uint32_t i = 0; i < by_name.size(); ++i)
    rank[by_name[i]] = i;
  std::sort(rows.begin(), rows.end(), [&rank](const HourEntry* a, const HourEntry* b) {
    if (a->first.hour != b->first.hour)
      return a->first.hour < b->first.hour;
    if (a->first.user_id != b->first.user_id)
      return a->first.user_id < b->first.user_id;
    return rank[a->first.topic] < rank[b->first.topic];
  });
  // The lock classes in their global order: hours, sessions, users.
  std::uint64_t written = write_hourly(conn, rows, by_name);
  written += write_sessions(conn);
  written += write_user_progress(conn, rows);
  return written;
}

std::uint64_t LearningRollup::write_hourly(db::PgConnection& conn, const std::vector<const HourEntry*>& rows,
                                           const std::vector<std::uint32_t>& by_name) const
{
  std::vector<std::int64_t> buckets;
  buckets.reserve(rows.size());
  for (const HourEntry* r : rows)
    buckets.push_back(lock_bucket_of_hour(r->first.hour));
  lock_buckets(conn, lock_hours, std::move(buckets));
  const std::string low = util::format_rfc3339_utc(rows.front()->first.hour);
  const std::string high = util::format_rfc3339_utc(rows.back()->first.hour);

  static const RollupTarget hourly{
      "dm.learning_hourly",
      {"hour", "user_id", "topic", "answered", "correct", "sum_answer_ms", "timed", "mock_attempts", "mock_passes",
       "mock_score_sum", "events"},
      "hour, user_id, topic",
      "hour",
      "answered = t.answered + excluded.answered, correct = t.correct + excluded.correct, "
      "sum_answer_ms = t.sum_answer_ms + excluded.sum_answer_ms, timed = t.timed + excluded.timed, "
      "mock_attempts = t.mock_attempts + excluded.mock_attempts, "
      "mock_passes = t.mock_passes + excluded.mock_passes, "
      "mock_score_sum = t.mock_score_sum + excluded.mock_score_sum, events = t.events + excluded.events"};
  std::uint64_t written = write_rollup(conn, hourly, low, high, rows.size(), [&](db::BinaryCopy& copy) {
    for (const HourEntry* r : rows) {
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

  // learning_user_hourly: the rows are sorted by hour and user, so each
  // user-hour is a run of consecutive rows.
  std::uint64_t user_hours = 0;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (i == 0 || rows[i]->first.hour != rows[i - 1]->first.hour || rows[i]->first.user_id != rows[i - 1]->first.user_id)
      ++user_hours;
  static const RollupTarget user_hourly{
      "dm.learning_user_hourly",
      {"hour", "user_id", "events", "answered", "correct"},
      "hour, user_id",
      "hour",
      "events = t.events + excluded.events, answered = t.answered + excluded.answered, "
      "correct = t.correct + excluded.correct"};
  written += write_rollup(conn, user_hourly, low, high, user_hours, [&](db::BinaryCopy& copy) {
    for (std::size_t i = 0; i < rows.size();) {
      const HourKey& k = rows[i]->first;
      std::int64_t events = 0, answered = 0, correct = 0;
      for (; i < rows.size() && rows[i]->first.hour == k.hour && rows[i]->first.user_id == k.user_id; ++i) {
        events += rows[i]->second.events;
        answered += rows[i]->second.answered;
        correct += rows[i]->second.correct;
      }
      copy.begin_row(5);
      copy.timestamp(k.hour);
      copy.int64(k.user_id);
      copy.int32(narrow(events));
      copy.int32(narrow(answered));
      copy.int32(narrow(correct));
    }
  });

  // learning_topic_hourly: each hour is a run of rows; its topics are summed
  // over users and written in name order.
  struct TopicHour {
    util::Micros hour;
    std::uint32_t topic;
    std::int64_t answered = 0, correct = 0, sum_answer_ms = 0, timed = 0, mock_attempts = 0, mock_passes = 0,
                 events = 0;
  };
  std::vector<TopicHour> topic_rows;
  std::vector<TopicHour> hour_topics(topics_.size());
  for (std::size_t i = 0; i < rows.size();) {
    const util::Micros hour = rows[i]->first.hour;
    for (auto& t : hour_topics)
      t = TopicHour{hour, 0};
    for (; i < rows.size() && rows[i]->first.hour == hour; ++i) {
      const HourAgg& a = rows[i]->second;
      TopicHour& t = hour_topics[rows[i]->first.topic];
      t.answered += a.answered;
      t.correct += a.correct;
      t.sum_answer_ms += a.sum_answer_ms;
      t.timed += a.timed;
      t.mock_attempts += a.mock_attempts;
      t.mock_passes += a.mock_passes;
      t.events += a.events;
    }
    for (std::uint32_t topic : by_name)
      if (hour_topics[topic].events > 0) {
        topic_rows.push_back(hour_topics[topic]);
        topic_rows.back().topic = topic;
      }
  }
  static const RollupTarget topic_hourly{
      "dm.learning_topic_hourly",
      {"hour", "topic", "answered", "correct", "sum_answer_ms", "timed", "mock_attempts", "mock_passes", "events"},
      "hour, topic",
      "hour",
      "answered = t.answered + excluded.answered, correct = t.correct + excluded.correct, "
      "sum_answer_ms = t.sum_answer_ms + excluded.sum_answer_ms, timed = t.timed + excluded.timed, "
      "mock_attempts = t.mock_attempts + excluded.mock_attempts, "
      "mock_passes = t.mock_passes + excluded.mock_passes, events = t.events + excluded.events"};
  written += write_rollup(conn, topic_hourly, low, high, topic_rows.size(), [&](db::BinaryCopy& copy) {
    for (const TopicHour& t : topic_rows) {
      copy.begin_row(9);
      copy.timestamp(t.hour);
      copy.text(topics_.name(t.topic));
      copy.int64(t.answered);
      copy.int64(t.correct);
      copy.int64(t.sum_answer_ms);
      copy.int64(t.timed);
      copy.int64(t.mock_attempts);
      copy.int64(t.mock_passes);
      copy.int64(t.events);
    }
  });
  return written;
}

std::uint64_t LearningRollup::write_sessions(db::PgConnection& conn) const
{
  if (sessions_.empty())
    return 0;
  std::vector<const std::pair<const std::int64_t, SessionAgg>*> rows;
  rows.reserve(sessions_.size());
  for (const auto& entry : sessions_)
    rows.push_back(&entry);
  std::sort(rows.begin(), rows.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  std::vector<std::int64_t> buckets;
  buckets.reserve(rows.size());
  for (const auto* r : rows)
    buckets.push_back(static_cast<std::int64_t>(mix(static_cast<std::uint64_t>(r->first)) % lock_buckets_per_class));
  lock_buckets(conn, lock_sessions, std::move(buckets));
  static const RollupTarget target{
      "dm.learning_sessions",
      {"session_id", "user_id", "first_ts", "last_ts", "events"},
      "session_id",
      "session_id",
      "first_ts = least(t.first_ts, excluded.first_ts), last_ts = greatest(t.last_ts, excluded.last_ts), "
      "events = t.events + excluded.events"};
  return write_rollup(conn, target, std::to_string(rows.front()->first), std::to_string(rows.back()->first),
                      rows.size(), [&](db::BinaryCopy& copy) {
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

std::uint64_t LearningRollup::write_user_progress(db::PgConnection& conn,
                                                  const std::vector<const HourEntry*>& rows) const
{
  // Folded from the hourly aggregates: far fewer entries than raw rows.
  struct TopicTotal {
    std::int64_t answered = 0, correct = 0, sum_answer_ms = 0, timed = 0;
    util::Micros first_ts = 0, last_ts = 0;
  };
  struct DayTotal {
    std::int64_t events = 0, answered = 0, correct = 0, mock_attempts = 0, mock_passes = 0;
    util::Micros last_ts = 0;
  };
  struct UserKeyHash {
    std::size_t operator()(const std::pair<std::int64_t, std::int64_t>& k) const noexcept
    {
      return mix(static_cast<std::uint64_t>(k.first) * 0x9e3779b97f4a7c15ULL + static_cast<std::uint64_t>(k.second));
    }
  };
  std::unordered_map<std::pair<std::int64_t, std::int64_t>, TopicTotal, UserKeyHash> topics;
  std::unordered_map<std::pair<std::int64_t, std::int64_t>, DayTotal, UserKeyHash> days;
  for (const HourEntry* r : rows) {
    const HourKey& k = r->first;
    const HourAgg& a = r->second;
    if (a.answered > 0 && k.topic != no_topic_) {
      auto [it, inserted] = topics.try_emplace({k.user_id, k.topic});
      TopicTotal& t = it->second;
      if (inserted || a.first_answer_ts < t.first_ts)
        t.first_ts = a.first_answer_ts;
      if (inserted || a.last_answer_ts > t.last_ts)
        t.last_ts = a.last_answer_ts;
      t.answered += a.answered;
      t.correct += a.correct;
      t.sum_answer_ms += a.sum_answer_ms;
      t.timed += a.timed;
    }
    auto [it, inserted] = days.try_emplace({k.user_id, util::floor_to(k.hour, util::micros_per_day)});
    DayTotal& d = it->second;
    if (inserted || a.last_ts > d.last_ts)
      d.last_ts = a.last_ts;
    d.events += a.events;
    d.answered += a.answered;
    d.correct += a.correct;
    d.mock_attempts += a.mock_attempts;
    d.mock_passes += a.mock_passes;
  }

  using TopicEntry = std::pair<const std::pair<std::int64_t, std::int64_t>, TopicTotal>;
  using DayEntry = std::pair<const std::pair<std::int64_t, std::int64_t>, DayTotal>;
  std::vector<const TopicEntry*> topic_rows;
  topic_rows.reserve(topics.size());
  for (const auto& e : topics)
    topic_rows.push_back(&e);
  // Bytewise name order, as the COLLATE "C" key compares.
  std::sort(topic_rows.begin(), topic_rows.end(), [this](const TopicEntry* a, const TopicEntry* b) {
    if (a->first.first != b->first.first)
      return a->first.first < b->first.first;
    return topics_.name(static_cast<std::uint32_t>(a->first.second)) <
           topics_.name(static_cast<std::uint32_t>(b->first.second));
  });
  std::vector<const DayEntry*> day_rows;
  day_rows.reserve(days.size());
  for (const auto& e : days)
    day_rows.push_back(&e);
  std::sort(day_rows.begin(), day_rows.end(), [](const DayEntry* a, const DayEntry* b) { return a->first < b->first; });

  std::vector<std::int64_t> buckets;
  buckets.reserve(day_rows.size());
  for (const DayEntry* d : day_rows)
    buckets.push_back(lock_bucket_of_user(d->first.first));
  lock_buckets(conn, lock_users, std::move(buckets));

  std::uint64_t written = 0;
  if (!topic_rows.empty()) {
    static const RollupTarget target{
        "dm.user_topic_totals",
        {"user_id", "topic", "answered", "correct", "sum_answer_ms", "timed", "first_ts", "last_ts"},
        "user_id, topic",
        "user_id",
        "answered = t.answered + excluded.answered, correct = t.correct + excluded.correct, "
        "sum_answer_ms = t.sum_answer_ms + excluded.sum_answer_ms, timed = t.timed + excluded.timed, "
        "first_ts = least(t.first_ts, excluded.first_ts), last_ts = greatest(t.last_ts, excluded.last_ts)"};
    written += write_rollup(conn, target, std::to_string(topic_rows.front()->first.first),
                            std::to_string(topic_rows.back()->first.first), topic_rows.size(),
                            [&](db::BinaryCopy& copy) {
                              for (const TopicEntry* r : topic_rows) {
                                const TopicTotal& t = r->second;
                                copy.begin_row(8);
                                copy.int64(r->first.first);
                                copy.text(topics_.name(static_cast<std::uint32_t>(r->first.second)));
                                copy.int64(t.answered);
                                copy.int64(t.correct);
                                copy.int64(t.sum_answer_ms);
                                copy.int64(t.timed);
                                copy.timestamp(t.first_ts);
                                copy.timestamp(t.last_ts);
                              }
                            });
  }
  static const RollupTarget target{
      "dm.user_active_days",
      {"user_id", "day", "events", "answered", "correct", "mock_attempts", "mock_passes", "last_ts"},
      "user_id, day",
      "user_id",
      "events = t.events + excluded.events, answered = t.answered + excluded.answered, "
      "correct = t.correct + excluded.correct, mock_attempts = t.mock_attempts + excluded.mock_attempts, "
      "mock_passes = t.mock_passes + excluded.mock_passes, last_ts = greatest(t.last_ts, excluded.last_ts)"};
  written += write_rollup(conn, target, std::to_string(day_rows.front()->first.first),
                          std::to_string(day_rows.back()->first.first), day_rows.size(), [&](db::BinaryCopy& copy) {
                            for (const DayEntry* r : day_rows) {
                              const DayTotal& d = r->second;
                              copy.begin_row(8);
                              copy.int64(r->first.first);
                              copy.int32(pg_date(r->first.second));
                              copy.int32(narrow(d.events));
                              copy.int32(narrow(d.answered));
                              copy.int32(narrow(d.correct));
                              copy.int32(narrow(d.mock_attempts));
                              copy.int32(narrow(d.mock_passes));
                              copy.timestamp(d.last_ts);
                            }
                          });
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

namespace {

/// One row of a request rollup: a time bucket and a series with its aggregate.
struct RequestRow {
  util::Micros bucket;
  std::string_view service, endpoint;
  const RequestRollup::MinuteAgg* agg;
};

/// Key order: bucket, service, endpoint (bytewise, as COLLATE "C").
void sort_request_rows(std::vector<RequestRow>& rows)
{
  std::sort(rows.begin(), rows.end(), [](const RequestRow& a, const RequestRow& b) {
    if (a.bucket != b.bucket)
      return a.bucket < b.bucket;
    if (a.service != b.service)
      return a.service < b.service;
    return a.endpoint < b.endpoint;
  });
}

/// Writes rows of the request_rollup_1m shape (bucket column `time_column`).
std::uint64_t write_request_rows(db::PgConnection& conn, const RollupTarget& target, const std::vector<RequestRow>& rows)
{
  std::string sketch;
  return write_rollup(conn, target, util::format_rfc3339_utc(rows.front().bucket),
                      util::format_rfc3339_utc(rows.back().bucket), rows.size(), [&](db::BinaryCopy& copy) {
                        for (const RequestRow& r : rows) {
                          copy.begin_row(7);
                          copy.timestamp(r.bucket);
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

constexpr std::string_view request_merge =
    "n = t.n + excluded.n, errors = t.errors + excluded.errors, sum_ms = t.sum_ms + excluded.sum_ms, "
    "sketch = dm.sketch_merge(t.sketch, excluded.sketch)";

} // namespace

std::uint64_t RequestRollup::write(db::PgConnection& conn) const
{
  if (minutes_.empty())
    return 0;
  // The hourly, daily and all-series rollups are folded from the minutes.
  std::unordered_map<MinuteKey, MinuteAgg, MinuteKeyHash> hours, days;
  std::unordered_map<std::int64_t, MinuteAgg> totals;
  auto fold = [](MinuteAgg& into, const MinuteAgg& m) {
    into.n += m.n;
    into.errors += m.errors;
    into.sum_ms += m.sum_ms;
    into.sketch.merge(m.sketch);
  };
  std::vector<RequestRow> minute_rows;
  minute_rows.reserve(minutes_.size());
  auto row_of = [this](util::Micros bucket, std::uint32_t series, const MinuteAgg& agg) {
    const std::string& name = series_.name(series);
    const std::size_t nul = name.find('\0');
    return RequestRow{bucket, std::string_view(name).substr(0, nul), std::string_view(name).substr(nul + 1), &agg};
  };
  for (const auto& [k, m] : minutes_) {
    minute_rows.push_back(row_of(k.minute, k.series, m));
    const util::Micros hour = util::floor_to(k.minute, util::micros_per_hour);
    fold(hours[MinuteKey{hour, k.series}], m);
    fold(days[MinuteKey{util::floor_to(k.minute, util::micros_per_day), k.series}], m);
    fold(totals[hour], m);
  }
  std::vector<RequestRow> hour_rows, day_rows;
  hour_rows.reserve(hours.size());
  for (const auto& [k, m] : hours)
    hour_rows.push_back(row_of(k.minute, k.series, m));
  day_rows.reserve(days.size());
  for (const auto& [k, m] : days)
    day_rows.push_back(row_of(k.minute, k.series, m));
  sort_request_rows(minute_rows);
  sort_request_rows(hour_rows);
  sort_request_rows(day_rows);
  std::vector<const std::pair<const std::int64_t, MinuteAgg>*> total_rows;
  total_rows.reserve(totals.size());
  for (const auto& entry : totals)
    total_rows.push_back(&entry);
  std::sort(total_rows.begin(), total_rows.end(), [](const auto* a, const auto* b) { return a->first < b->first; });

  std::vector<std::int64_t> buckets;
  buckets.reserve(total_rows.size());
  for (const auto* r : total_rows)
    buckets.push_back(lock_bucket_of_hour(r->first));
  lock_buckets(conn, lock_requests, std::move(buckets));
  buckets.clear();
  for (const RequestRow& r : day_rows)
    buckets.push_back(lock_bucket_of_day(r.bucket));
  lock_buckets(conn, lock_request_days, std::move(buckets));

  static const RollupTarget minute_target{"dm.request_rollup_1m",
                                          {"bucket", "service", "endpoint", "n", "errors", "sum_ms", "sketch"},
                                          "bucket, service, endpoint",
                                          "bucket",
                                          request_merge};
  static const RollupTarget hour_target{"dm.request_rollup_1h",
                                        {"hour", "service", "endpoint", "n", "errors", "sum_ms", "sketch"},
                                        "hour, service, endpoint",
                                        "hour",
                                        request_merge};
  static const RollupTarget day_target{"dm.request_rollup_1d",
                                       {"day", "service", "endpoint", "n", "errors", "sum_ms", "sketch"},
                                       "day, service, endpoint",
                                       "day",
                                       request_merge};
  static const RollupTarget total_target{"dm.request_totals_1h",
                                         {"hour", "n", "errors", "sum_ms", "sketch"},
                                         "hour",
                                         "hour",
                                         request_merge};
  std::uint64_t written = write_request_rows(conn, minute_target, minute_rows);
  written += write_request_rows(conn, hour_target, hour_rows);
  written += write_request_rows(conn, day_target, day_rows);
  std::string sketch;
  written += write_rollup(conn, total_target, util::format_rfc3339_utc(total_rows.front()->first),
                          util::format_rfc3339_utc(total_rows.back()->first), total_rows.size(),
                          [&](db::BinaryCopy& copy) {
                            for (const auto* r : total_rows) {
                              copy.begin_row(5);
                              copy.timestamp(r->first);
                              copy.int64(r->second.n);
                              copy.int64(r->second.errors);
                              copy.float8(r->second.sum_ms);
                              sketch = r->second.sketch.serialize();
                              copy.bytea(sketch);
                            }
                          });
  return written;
}

std::size_t HostRollup::HourKeyHash::operator()(const HourKey& k) const noexcept
{
  return mix(static_cast<std::uint64_t>(k.hour) * 0x9e3779b97f4a7c15ULL + k.host);
}

void HostRollup::add(const ingest::HostRecord& r)
{
  HourAgg& h = hours_[HourKey{util::floor_to(r.ts, util::micros_per_hour), hosts_.id(r.host)}];
  if (r.cpu) {
    ++h.cpu_n;
    h.cpu_sum += static_cast<double>(*r.cpu);
    if (!h.cpu_max || *r.cpu > *h.cpu_max)
      h.cpu_max = r.cpu;
  }
  if (r.mem && (!h.mem_max || *r.mem > *h.mem_max))
    h.mem_max = r.mem;
  if (r.disk && (!h.disk_max || *r.disk > *h.disk_max))
    h.disk_max = r.disk;
}

std::uint64_t HostRollup::write(db::PgConnection& conn) const
{
  if (hours_.empty())
    return 0;
  using Entry = std::pair<const HourKey, HourAgg>;
  std::vector<const Entry*> rows;
  rows.reserve(hours_.size());
  for (const auto& entry : hours_)
    rows.push_back(&entry);
  std::sort(rows.begin(), rows.end(), [this](const Entry* a, const Entry* b) {
    if (a->first.hour != b->first.hour)
      return a->first.hour < b->first.hour;
    return hosts_.name(a->first.host) < hosts_.name(b->first.host);
  });
  std::vector<std::int64_t> buckets;
  buckets.reserve(rows.size());
  for (const Entry* r : rows)
    buckets.push_back(lock_bucket_of_hour(r->first.hour));
  lock_buckets(conn, lock_hosts, std::move(buckets));
  static const RollupTarget target{
      "dm.host_hourly",
      {"hour", "host", "cpu_n", "cpu_sum", "cpu_max", "mem_max", "disk_max"},
      "hour, host",
      "hour",
      "cpu_n = t.cpu_n + excluded.cpu_n, cpu_sum = t.cpu_sum + excluded.cpu_sum, "
      "cpu_max = greatest(t.cpu_max, excluded.cpu_max), mem_max = greatest(t.mem_max, excluded.mem_max), "
      "disk_max = greatest(t.disk_max, excluded.disk_max)"};
  return write_rollup(conn, target, util::format_rfc3339_utc(rows.front()->first.hour),
                      util::format_rfc3339_utc(rows.back()->first.hour), rows.size(), [&](db::BinaryCopy& copy) {
                        auto real = [&copy](float v) { copy.float4(v); };
                        for (const Entry* r : rows) {
                          copy.begin_row(7);
                          copy.timestamp(r->first.hour);
                          copy.text(hosts_.name(r->first.host));
                          copy.int64(r->second.cpu_n);
                          copy.float8(r->second.cpu_sum);
                          copy.optional(r->second.cpu_max, real);
                          copy.optional(r->second.mem_max, real);
                          copy.optional(r->second.disk_max, real);
                        }
                      });
}


std::int64_t lock_bucket_of_hour(util::Micros t) noexcept
{
  return static_cast<std::int64_t>(
      mix(static_cast<std::uint64_t>(util::floor_to(t, util::micros_per_hour) / util::micros_per_hour)) % lock_buckets_per_class);
}

std::int64_t lock_bucket_of_day(util::Micros t) noexcept
{
  return static_cast<std::int64_t>(
      mix(static_cast<std::uint64_t>(util::floor_to(t, util::micros_per_day) / util::micros_per_day)) % lock_buckets_per_class);
}

std::int64_t lock_bucket_of_user(std::int64_t user_id) noexcept
{
  return static_cast<std::int64_t>(mix(static_cast<std::uint64_t>(user_id)) % lock_buckets_per_class);
}

void lock_buckets(db::PgConnection& conn, LockClass lock_class, std::vector<std::int64_t> buckets)
{
  std::sort(buckets.begin(), buckets.end());
  buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
  if (buckets.empty())
    return;
  std::string array = "{";
  for (std::size_t i = 0; i < buckets.size(); ++i)
    array += (i == 0 ? "" : ",") + std::to_string(buckets[i]);
  array += "}";
  // The subquery's order is the order the locks are taken in.
  conn.query_value(fmt::format("SELECT count(pg_advisory_xact_lock({}, b::int)) FROM "
                               "(SELECT b FROM unnest($1::bigint[]) b ORDER BY b) s",
                               static_cast<int>(lock_class)),
                   {array});
}

std::uint64_t write_rollup(db::PgConnection& conn, const RollupTarget& target, const std::string& low,
                           const std::string& high, std::uint64_t row_count,
                           const std::function<void(db::BinaryCopy&)>& rows)
{
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
