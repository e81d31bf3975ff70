#include "dm/rollup/rollups.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <future>
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
/// Upserts of at most this many rows go through a session scratch table.
constexpr std::uint64_t scratch_rows_max = 10000;

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

/// Sorts `entries` by key and sums the values of equal keys with `add`,
/// dropping those left `zero`.
template <typename Key, typename Value, typename Add, typename Zero>
void sum_by_key(std::vector<std::pair<Key, Value>>& entries, Add add, Zero zero)
{
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::size_t out = 0;
  for (std::size_t i = 0; i < entries.size();) {
    std::pair<Key, Value> e = entries[i];
    for (++i; i < entries.size() && entries[i].first == e.first; ++i)
      add(e.second, entries[i].second);
    if (!zero(e.second))
      entries[out++] = e;
  }
  entries.resize(out);
}

/// A string as an SQL literal.
std::string quote_literal(std::string_view v)
{
  std::string out = "'";
  for (char c : v) {
    if (c == '\'')
      out += '\'';
    out += c;
  }
  return out + "'";
}

/// A session as dm.learning_sessions holds it.
struct StoredSession {
  std::int64_t user_id = 0;
  util::Micros first_ts = 0, last_ts = 0;
};

/// Runs a query with text parameters and returns its rows as text (NULL as "").
std::vector<std::vector<std::string>> query_rows(db::PgConnection& conn, const std::string& sql,
                                                 const std::vector<std::string>& params = {})
{
  std::vector<const char*> values;
  for (const std::string& v : params)
    values.push_back(v.c_str());
  PGresult* res = PQexecParams(conn.native(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                               nullptr, nullptr, 0);
  if (res == nullptr || PQresultStatus(res) != PGRES_TUPLES_OK) {
    std::string message = res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn.native());
    const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    std::string sqlstate = state != nullptr ? state : "";
    PQclear(res);
    while (!message.empty() && message.back() == '\n')
      message.pop_back();
    throw db::PgError(sql.substr(0, sql.find(' ')) + ": " + message, std::move(sqlstate));
  }
  std::vector<std::vector<std::string>> rows(static_cast<std::size_t>(PQntuples(res)));
  for (int i = 0; i < PQntuples(res); ++i)
    for (int j = 0; j < PQnfields(res); ++j)
      rows[static_cast<std::size_t>(i)].emplace_back(PQgetvalue(res, i, j), static_cast<std::size_t>(PQgetlength(res, i, j)));
  PQclear(res);
  return rows;
}

std::int64_t to_int(const std::string& text)
{
  std::int64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

/// The stored sessions among the session ids of the table `temp`, by id.
std::unordered_map<std::int64_t, StoredSession> stored_sessions(db::PgConnection& conn, const std::string& temp)
{
  std::unordered_map<std::int64_t, StoredSession> out;
  for (const auto& row : query_rows(
           conn, fmt::format("SELECT s.session_id, s.user_id, (extract(epoch FROM s.first_ts) * 1000000)::int8,"
                             " (extract(epoch FROM s.last_ts) * 1000000)::int8 FROM dm.learning_sessions s"
                             " JOIN {} n USING (session_id)",
                             temp)))
    out.emplace(to_int(row[0]), StoredSession{to_int(row[1]), to_int(row[2]), to_int(row[3])});
  return out;
}

/// A text[] literal of `values`.
std::string text_array(const std::vector<std::string>& values)
{
  std::string out = "{";
  for (const std::string& v : values) {
    if (out.size() > 1)
      out += ',';
    out += '"';
    for (char c : v) {
      if (c == '"' || c == '\\')
        out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

/// A change to a per-user count of one hour or day (it may be negative).
std::int32_t narrow_signed(std::int64_t v)
{
  if (v > std::numeric_limits<std::int32_t>::max() || v < std::numeric_limits<std::int32_t>::min())
    throw std::overflow_error(fmt::format("a change of {} to one user's hour or day exceeds the rollup's range", v));
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
  const util::Micros hour = util::floor_to(r.ts, util::micros_per_hour);
  if (recent_.empty() || hour != recent_hour_ || r.user_id != recent_user_) {
    recent_.clear();
    recent_hour_ = hour;
    recent_user_ = r.user_id;
  }
  HourAgg* agg = nullptr;
  for (const auto& [t, a] : recent_)
    if (t == topic) {
      agg = a;
      break;
    }
  if (agg == nullptr) {
    // unordered_map nodes never move, so the pointer stays valid across rehashing.
    agg = &hourly_[HourKey{hour, r.user_id, topic}];
    if (recent_.size() < 32)
      recent_.emplace_back(topic, agg);
  }
  HourAgg& h = *agg;
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
    if (last_session_ == nullptr || *r.session_id != last_session_id_) {
      last_session_ = &sessions_.try_emplace(*r.session_id, SessionAgg{r.user_id, r.ts, r.ts, 0}).first->second;
      last_session_id_ = *r.session_id;
    }
    SessionAgg& s = *last_session_;
    if (r.ts < s.first_ts) {
      s.first_ts = r.ts;
      s.user_id = r.user_id;
    }
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

struct LearningRollup::ProgressRows {
  struct TopicTotal {
    std::int64_t user_id;
    std::uint32_t rank, topic; ///< rank: the topic's place in name order
    std::int64_t answered, correct, sum_answer_ms, timed;
    util::Micros first_ts, last_ts;
  };
  struct DayTotal {
    std::int64_t user_id;
    util::Micros day;
    std::int64_t events, answered, correct, mock_attempts, mock_passes, sessions;
    std::uint32_t hours; ///< bit h: an event in UTC hour h
    util::Micros last_ts;
  };
  std::vector<TopicTotal> topics; ///< user_topic_totals, in key order
  std::vector<DayTotal> days;     ///< user_active_days, in key order
};

LearningRollup::Prepared LearningRollup::prepare() const
{
  // Exact key order (topics by their rank in name order, as COLLATE "C"
  // compares): rows then land in the table hour after hour, and every
  // rollup folded from them below reads runs of consecutive rows. Sorted as
  // plain keys next to their entries, without chasing pointers to compare.
  Prepared p;
  p.by_name = topics_by_name();
  std::vector<std::uint32_t> rank(p.by_name.size());
  for (std::uint32_t i = 0; i < p.by_name.size(); ++i)
    rank[p.by_name[i]] = i;
  struct SortKey {
    util::Micros hour;
    std::int64_t user_id;
    std::uint32_t rank;
    const HourEntry* entry;
  };
  std::vector<SortKey> keys;
  keys.reserve(hourly_.size());
  for (const auto& entry : hourly_)
    keys.push_back(SortKey{entry.first.hour, entry.first.user_id, rank[entry.first.topic], &entry});
  std::sort(keys.begin(), keys.end(), [](const SortKey& a, const SortKey& b) {
    if (a.hour != b.hour)
      return a.hour < b.hour;
    if (a.user_id != b.user_id)
      return a.user_id < b.user_id;
    return a.rank < b.rank;
  });
  p.rows.reserve(keys.size());
  for (const SortKey& k : keys)
    p.rows.push_back(k.entry);
  return p;
}

std::uint64_t LearningRollup::write(db::PgConnection& conn, const Prepared& prepared) const
{
  // Every row has an hourly entry, so without one there is nothing at all.
  if (prepared.rows.empty())
    return 0;
  const std::vector<const HourEntry*>& rows = prepared.rows;
  // Topic ids first, before any advisory lock: registering a new topic may
  // wait for another ingest registering it too, which must not hold a lock
  // this one holds.
  const auto started = std::chrono::steady_clock::now();
  const auto ms = [&started] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  };
  const std::vector<std::int32_t> topic_ids = register_topics(conn, rows);
  // The lock classes in their global order: sessions, hours, users.
  SessionDeltas deltas;
  std::uint64_t written = write_sessions(conn, deltas);
  spdlog::debug("learning rollups: sessions written at {:.0f} ms", ms());
  // The user progress rows are folded while the server takes the hourly ones.
  auto progress = std::async(large() ? std::launch::async : std::launch::deferred,
                             [&] { return progress_rows(rows, deltas); });
  written += write_hourly(conn, rows, prepared.by_name, topic_ids, deltas);
  spdlog::debug("learning rollups: hourly rollups written at {:.0f} ms", ms());
  written += write_user_progress(conn, progress.get());
  spdlog::debug("learning rollups: user progress written at {:.0f} ms", ms());
  return written;
}

std::vector<std::int32_t> LearningRollup::register_topics(db::PgConnection& conn,
                                                          const std::vector<const HourEntry*>& rows) const
{
  std::vector<bool> answered(topics_.size(), false);
  for (const HourEntry* r : rows)
    if (r->second.answered > 0 && r->first.topic != no_topic_)
      answered[r->first.topic] = true;
  std::vector<std::string> names;
  for (std::uint32_t t = 0; t < answered.size(); ++t)
    if (answered[t])
      names.push_back(topics_.name(t));
  std::vector<std::int32_t> ids(topics_.size(), 0);
  if (names.empty())
    return ids;
  const std::string array = text_array(names);
  // In name order, so that two ingests registering the same new topics wait
  // for each other in one order only.
  conn.query_value("INSERT INTO dm.topics (name) SELECT n FROM unnest($1::text[]) n ORDER BY n COLLATE \"C\""
                   " ON CONFLICT (name) DO NOTHING",
                   {array});
  std::unordered_map<std::string, std::int32_t> by_name;
  for (const auto& row : query_rows(conn, "SELECT id, name FROM dm.topics WHERE name = ANY ($1::text[])", {array}))
    by_name.emplace(row[1], static_cast<std::int32_t>(to_int(row[0])));
  for (std::uint32_t t = 0; t < answered.size(); ++t)
    if (answered[t])
      ids[t] = by_name.at(topics_.name(t));
  return ids;
}

std::uint64_t LearningRollup::write_hourly(db::PgConnection& conn, const std::vector<const HourEntry*>& rows,
                                           const std::vector<std::uint32_t>& by_name,
                                           const std::vector<std::int32_t>& topic_ids, const SessionDeltas& deltas) const
{
  std::vector<std::int64_t> buckets;
  buckets.reserve(rows.size() + deltas.hours.size() + deltas.user_hours.size());
  for (const HourEntry* r : rows)
    buckets.push_back(lock_bucket_of_hour(r->first.hour));
  // A session this file extends may change the counters of hours outside the file.
  for (const auto& [hour, d] : deltas.hours)
    buckets.push_back(lock_bucket_of_hour(hour));
  for (const auto& [key, d] : deltas.user_hours)
    buckets.push_back(lock_bucket_of_hour(key.first));
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
      "mock_score_sum = t.mock_score_sum + excluded.mock_score_sum, events = t.events + excluded.events",
      false};
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
  // user-hour is a run of consecutive rows; the session counters (sorted the
  // same way) are merged in, with rows of their own for hours of this file's
  // sessions that lie outside the file.
  struct UserHour {
    util::Micros hour;
    std::int64_t user_id;
    std::int64_t events = 0, answered = 0, correct = 0, sessions = 0;
  };
  std::vector<UserHour> user_rows;
  {
    auto delta = deltas.user_hours.begin();
    auto flush_deltas_before = [&](util::Micros hour, std::int64_t user_id) {
      for (; delta != deltas.user_hours.end() && delta->first < std::pair{hour, user_id}; ++delta)
        user_rows.push_back(UserHour{delta->first.first, delta->first.second, 0, 0, 0, delta->second});
    };
    for (std::size_t i = 0; i < rows.size();) {
      const HourKey& k = rows[i]->first;
      flush_deltas_before(k.hour, k.user_id);
      UserHour u{k.hour, k.user_id};
      for (; i < rows.size() && rows[i]->first.hour == k.hour && rows[i]->first.user_id == k.user_id; ++i) {
        u.events += rows[i]->second.events;
        u.answered += rows[i]->second.answered;
        u.correct += rows[i]->second.correct;
      }
      if (delta != deltas.user_hours.end() && delta->first == std::pair{k.hour, k.user_id})
        u.sessions = (delta++)->second;
      user_rows.push_back(u);
    }
    flush_deltas_before(std::numeric_limits<util::Micros>::max(), 0);
  }
  static const RollupTarget user_hourly{
      "dm.learning_user_hourly",
      {"hour", "user_id", "events", "answered", "correct", "sessions"},
      "hour, user_id",
      "hour",
      "events = t.events + excluded.events, answered = t.answered + excluded.answered, "
      "correct = t.correct + excluded.correct, sessions = t.sessions + excluded.sessions",
      false};
  written += write_rollup(conn, user_hourly, util::format_rfc3339_utc(user_rows.front().hour),
                          util::format_rfc3339_utc(user_rows.back().hour), user_rows.size(), [&](db::BinaryCopy& copy) {
                            for (const UserHour& u : user_rows) {
                              copy.begin_row(6);
                              copy.timestamp(u.hour);
                              copy.int64(u.user_id);
                              copy.int32(narrow(u.events));
                              copy.int32(narrow(u.answered));
                              copy.int32(narrow(u.correct));
                              copy.int32(narrow_signed(u.sessions));
                            }
                          });

  // learning_session_hours: only the hours whose counters change.
  if (!deltas.hours.empty()) {
    static const RollupTarget session_hours{
        "dm.learning_session_hours",
        {"hour", "started", "ended", "span_us"},
        "hour",
        "hour",
        "started = t.started + excluded.started, ended = t.ended + excluded.ended, span_us = t.span_us + excluded.span_us"};
    written += write_rollup(conn, session_hours, util::format_rfc3339_utc(deltas.hours.begin()->first),
                            util::format_rfc3339_utc(deltas.hours.rbegin()->first), deltas.hours.size(),
                            [&](db::BinaryCopy& copy) {
                              for (const auto& [hour, d] : deltas.hours) {
                                copy.begin_row(4);
                                copy.timestamp(hour);
                                copy.int64(d.started);
                                copy.int64(d.ended);
                                copy.int64(d.span_us);
                              }
                            });
  }

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

  // user_topic_answers_hourly: per user-hour run, its topics with answers as
  // "id:answered:correct", separated by spaces. Appended, never merged.
  std::string packed;
  std::uint64_t answer_rows = 0;
  db::BinaryCopy copy(conn, "dm.user_topic_answers_hourly", {"hour", "user_id", "topics"});
  auto put = [&packed](std::int64_t v) {
    char digits[24];
    packed.append(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
  };
  for (std::size_t i = 0; i < rows.size();) {
    const HourKey& k = rows[i]->first;
    packed.clear();
    for (; i < rows.size() && rows[i]->first.hour == k.hour && rows[i]->first.user_id == k.user_id; ++i) {
      const HourAgg& a = rows[i]->second;
      if (a.answered == 0 || rows[i]->first.topic == no_topic_)
        continue;
      if (!packed.empty())
        packed += ' ';
      put(topic_ids[rows[i]->first.topic]);
      packed += ':';
      put(a.answered);
      packed += ':';
      put(a.correct);
    }
    if (packed.empty())
      continue;
    copy.begin_row(3);
    copy.timestamp(k.hour);
    copy.int64(k.user_id);
    copy.text(packed);
    ++answer_rows;
  }
  copy.finish();
  return written + answer_rows;
}

std::uint64_t LearningRollup::write_sessions(db::PgConnection& conn, SessionDeltas& deltas) const
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
  // The user moves with the first event: a file holding an earlier event of
  // the session names the user of that event.
  static const RollupTarget target{
      "dm.learning_sessions",
      {"session_id", "user_id", "first_ts", "last_ts", "events"},
      "session_id",
      "session_id",
      "user_id = CASE WHEN excluded.first_ts < t.first_ts THEN excluded.user_id ELSE t.user_id END, "
      "first_ts = least(t.first_ts, excluded.first_ts), last_ts = greatest(t.last_ts, excluded.last_ts), "
      "events = t.events + excluded.events"};
  // The spans these sessions had before this file (none on the direct path:
  // no stored session falls in the file's range of ids).
  std::unordered_map<std::int64_t, StoredSession> stored;
  const std::uint64_t written = write_rollup(
      conn, target, std::to_string(rows.front()->first), std::to_string(rows.back()->first), rows.size(),
      [&](db::BinaryCopy& copy) {
        for (const auto* r : rows) {
          copy.begin_row(5);
          copy.int64(r->first);
          copy.int64(r->second.user_id);
          copy.timestamp(r->second.first_ts);
          copy.timestamp(r->second.last_ts);
          copy.int64(r->second.events);
        }
      },
      [&](const std::string& temp) { stored = stored_sessions(conn, temp); });

  deltas.hours.reserve(2 * rows.size());
  deltas.user_hours.reserve(rows.size());
  deltas.user_days.reserve(rows.size());
  auto count = [&deltas](std::int64_t user_id, util::Micros first, util::Micros last, std::int64_t sign) {
    const util::Micros first_hour = util::floor_to(first, util::micros_per_hour);
    deltas.hours.push_back({first_hour, SessionHour{sign, 0, sign * (last - first)}});
    deltas.hours.push_back({util::floor_to(last, util::micros_per_hour), SessionHour{0, sign, 0}});
    deltas.user_hours.push_back({{first_hour, user_id}, sign});
    deltas.user_days.push_back({{user_id, util::floor_to(first, util::micros_per_day)}, sign});
  };
  for (const auto* r : rows) {
    const SessionAgg& s = r->second;
    const auto it = stored.find(r->first);
    if (it == stored.end()) {
      count(s.user_id, s.first_ts, s.last_ts, 1);
      continue;
    }
    // Merged as the upsert merges them.
    const StoredSession& old = it->second;
    const std::int64_t user_id = s.first_ts < old.first_ts ? s.user_id : old.user_id;
    const util::Micros first = std::min(old.first_ts, s.first_ts), last = std::max(old.last_ts, s.last_ts);
    if (user_id == old.user_id && first == old.first_ts && last == old.last_ts)
      continue;
    count(old.user_id, old.first_ts, old.last_ts, -1);
    count(user_id, first, last, 1);
  }
  // One entry per key; moves within one hour or day cancel out.
  sum_by_key(deltas.hours, [](SessionHour& into, const SessionHour& d) {
    into.started += d.started;
    into.ended += d.ended;
    into.span_us += d.span_us;
  }, [](const SessionHour& d) { return d.started == 0 && d.ended == 0 && d.span_us == 0; });
  auto add = [](std::int64_t& into, std::int64_t d) { into += d; };
  auto zero = [](std::int64_t d) { return d == 0; };
  sum_by_key(deltas.user_hours, add, zero);
  sum_by_key(deltas.user_days, add, zero);
  return written;
}

LearningRollup::ProgressRows LearningRollup::progress_rows(const std::vector<const HourEntry*>& rows,
                                                           const SessionDeltas& deltas) const
{
  // Folded from the hourly aggregates (far fewer entries than raw rows) by
  // sorting them: cheaper than hashing a few hundred thousand entries, and
  // both tables are written in key order anyway.
  using TopicTotal = ProgressRows::TopicTotal;
  using DayTotal = ProgressRows::DayTotal;
  ProgressRows progress;
  std::vector<TopicTotal>& topic_rows = progress.topics;
  std::vector<DayTotal>& day_rows = progress.days;
  const std::vector<std::uint32_t> by_name = topics_by_name();
  std::vector<std::uint32_t> rank(by_name.size());
  for (std::uint32_t i = 0; i < by_name.size(); ++i)
    rank[by_name[i]] = i;
  topic_rows.reserve(rows.size());
  day_rows.reserve(rows.size() + deltas.user_days.size());
  for (const HourEntry* r : rows) {
    const HourKey& k = r->first;
    const HourAgg& a = r->second;
    if (a.answered > 0 && k.topic != no_topic_)
      topic_rows.push_back(TopicTotal{k.user_id, rank[k.topic], k.topic, a.answered, a.correct, a.sum_answer_ms, a.timed,
                                      a.first_answer_ts, a.last_answer_ts});
    const util::Micros day = util::floor_to(k.hour, util::micros_per_day);
    day_rows.push_back(DayTotal{k.user_id, day, a.events, a.answered, a.correct, a.mock_attempts, a.mock_passes, 0,
                                1U << ((k.hour - day) / util::micros_per_hour), a.last_ts});
  }
  // Session counters, also of days outside the file (a row of its own that
  // adds nothing else: last_ts at the day's start never raises the stored one).
  for (const auto& [key, n] : deltas.user_days)
    day_rows.push_back(DayTotal{key.first, key.second, 0, 0, 0, 0, 0, n, 0, key.second});

  // Key order (topics in bytewise name order, as the COLLATE "C" key
  // compares), then one entry per key.
  std::sort(topic_rows.begin(), topic_rows.end(), [](const TopicTotal& x, const TopicTotal& y) {
    return x.user_id != y.user_id ? x.user_id < y.user_id : x.rank < y.rank;
  });
  std::size_t kept = 0;
  for (std::size_t i = 0; i < topic_rows.size(); ++kept) {
    TopicTotal t = topic_rows[i];
    for (++i; i < topic_rows.size() && topic_rows[i].user_id == t.user_id && topic_rows[i].rank == t.rank; ++i) {
      const TopicTotal& o = topic_rows[i];
      t.answered += o.answered;
      t.correct += o.correct;
      t.sum_answer_ms += o.sum_answer_ms;
      t.timed += o.timed;
      t.first_ts = std::min(t.first_ts, o.first_ts);
      t.last_ts = std::max(t.last_ts, o.last_ts);
    }
    topic_rows[kept] = t;
  }
  topic_rows.resize(kept);
  std::sort(day_rows.begin(), day_rows.end(), [](const DayTotal& x, const DayTotal& y) {
    return x.user_id != y.user_id ? x.user_id < y.user_id : x.day < y.day;
  });
  kept = 0;
  for (std::size_t i = 0; i < day_rows.size(); ++kept) {
    DayTotal d = day_rows[i];
    for (++i; i < day_rows.size() && day_rows[i].user_id == d.user_id && day_rows[i].day == d.day; ++i) {
      const DayTotal& o = day_rows[i];
      d.events += o.events;
      d.answered += o.answered;
      d.correct += o.correct;
      d.mock_attempts += o.mock_attempts;
      d.mock_passes += o.mock_passes;
      d.sessions += o.sessions;
      d.hours |= o.hours;
      d.last_ts = std::max(d.last_ts, o.last_ts);
    }
    day_rows[kept] = d;
  }
  day_rows.resize(kept);
  return progress;
}

std::uint64_t LearningRollup::write_user_progress(db::PgConnection& conn, const ProgressRows& progress) const
{
  using TopicTotal = ProgressRows::TopicTotal;
  using DayTotal = ProgressRows::DayTotal;
  const std::vector<TopicTotal>& topic_rows = progress.topics;
  const std::vector<DayTotal>& day_rows = progress.days;
  std::vector<std::int64_t> buckets;
  buckets.reserve(day_rows.size());
  for (const DayTotal& d : day_rows)
    buckets.push_back(lock_bucket_of_user(d.user_id));
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
    written += write_rollup(conn, target, std::to_string(topic_rows.front().user_id),
                            std::to_string(topic_rows.back().user_id), topic_rows.size(),
                            [&](db::BinaryCopy& copy) {
                              for (const TopicTotal& t : topic_rows) {
                                copy.begin_row(8);
                                copy.int64(t.user_id);
                                copy.text(topics_.name(t.topic));
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
      {"user_id", "day", "events", "answered", "correct", "mock_attempts", "mock_passes", "last_ts", "hours",
       "sessions"},
      "user_id, day",
      "user_id",
      "events = t.events + excluded.events, answered = t.answered + excluded.answered, "
      "correct = t.correct + excluded.correct, mock_attempts = t.mock_attempts + excluded.mock_attempts, "
      "mock_passes = t.mock_passes + excluded.mock_passes, last_ts = greatest(t.last_ts, excluded.last_ts), "
      "hours = t.hours | excluded.hours, sessions = t.sessions + excluded.sessions"};
  written += write_rollup(conn, target, std::to_string(day_rows.front().user_id),
                          std::to_string(day_rows.back().user_id), day_rows.size(), [&](db::BinaryCopy& copy) {
                            for (const DayTotal& d : day_rows) {
                              copy.begin_row(10);
                              copy.int64(d.user_id);
                              copy.int32(pg_date(d.day));
                              copy.int32(narrow(d.events));
                              copy.int32(narrow(d.answered));
                              copy.int32(narrow(d.correct));
                              copy.int32(narrow(d.mock_attempts));
                              copy.int32(narrow(d.mock_passes));
                              copy.timestamp(d.last_ts);
                              copy.int32(static_cast<std::int32_t>(d.hours));
                              copy.int32(narrow_signed(d.sessions));
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
                           const std::function<void(db::BinaryCopy&)>& rows,
                           const std::function<void(const std::string&)>& before_merge)
{
  // The scratch table keeps its rows until the commit: outside a transaction
  // the merge would find them gone.
  if (PQtransactionStatus(conn.native()) != PQTRANS_INTRANS)
    throw std::logic_error(fmt::format("write_rollup({}) outside a transaction", target.table));
  const bool overlap = conn.query_value(fmt::format("SELECT EXISTS (SELECT 1 FROM {} WHERE {} BETWEEN $1 AND $2)",
                                                    target.table, target.range_column),
                                        {low, high}) == "t";
  if (!overlap) {
    db::BinaryCopy copy(conn, target.table, target.columns);
    rows(copy);
    copy.finish();
    return row_count;
  }
  // Few rows (the HTTP route's batches): a scratch table the session keeps,
  // emptied at every commit, saves creating and dropping one per write,
  // which costs more than the merge. Many rows: a table of this transaction.
  // A transaction to be prepared may not touch temporary tables: an unlogged
  // table of this transaction, named with its load's tag, stages the rows.
  const std::string_view name = target.table.substr(target.table.find('.') + 1);
  const bool staged = !conn.staging_tag().empty();
  const bool scratch = !staged && row_count <= scratch_rows_max;
  const std::string temp = staged ? fmt::format("dm.stage_{}_{}", name, conn.staging_tag())
                                  : fmt::format("{}_{}", scratch ? "dm_scratch" : "dm_ingest", name);
  if (staged)
    conn.exec(fmt::format("CREATE UNLOGGED TABLE {} (LIKE {})", temp, target.table));
  else if (scratch)
    conn.exec(fmt::format("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {}) ON COMMIT DELETE ROWS", temp, target.table));
  else
    conn.exec(fmt::format("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP", temp, target.table));
  {
    db::BinaryCopy copy(conn, temp, target.columns);
    rows(copy);
    copy.finish();
  }
  if (before_merge)
    before_merge(temp);
  // Columns by name: a scratch table made before a migration may lay them out
  // differently from the table now.
  std::string columns, new_columns;
  for (const auto column : target.columns) {
    columns += fmt::format("{}{}", columns.empty() ? "" : ", ", column);
    new_columns += fmt::format("{}n.{}", new_columns.empty() ? "" : ", ", column);
  }
  if (target.unique_key) {
    conn.exec(fmt::format("INSERT INTO {} AS t ({}) SELECT {} FROM {} ORDER BY {} ON CONFLICT ({}) DO UPDATE SET {}",
                          target.table, columns, columns, temp, target.key_columns, target.key_columns,
                          target.merge));
  } else {
    // Both statements join on the key within the range, which the BRIN index
    // on the range column narrows to the pages holding it.
    std::string same_key, same_key_new;
    std::string_view keys = target.key_columns;
    while (!keys.empty()) {
      const std::size_t comma = keys.find(',');
      const std::string_view key = keys.substr(0, comma);
      same_key += fmt::format("{}t.{} = excluded.{}", same_key.empty() ? "" : " AND ", key, key);
      same_key_new += fmt::format("{}t.{} = n.{}", same_key_new.empty() ? "" : " AND ", key, key);
      keys = comma == std::string_view::npos ? std::string_view{} : keys.substr(comma + 1);
      while (!keys.empty() && keys.front() == ' ')
        keys.remove_prefix(1);
    }
    const std::string range = fmt::format("t.{} BETWEEN {} AND {}", target.range_column, quote_literal(low),
                                          quote_literal(high));
    conn.exec(fmt::format("UPDATE {} AS t SET {} FROM {} AS excluded WHERE {} AND {}", target.table, target.merge, temp,
                          same_key, range));
    conn.exec(fmt::format("INSERT INTO {} ({}) SELECT {} FROM {} n WHERE NOT EXISTS (SELECT 1 FROM {} t WHERE {} AND {})"
                          " ORDER BY {}",
                          target.table, columns, new_columns, temp, target.table, same_key_new, range,
                          target.key_columns));
  }
  // Empty again for a second write of this table in the same transaction.
  conn.exec((scratch ? "DELETE FROM " : "DROP TABLE ") + temp);
  return row_count;
}

} // namespace dm::rollup
