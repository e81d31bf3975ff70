#pragma once
// In-memory aggregation of ingested rows into the rollup tables of DESIGN 4,
// written in the ingest's own transaction (see write_rollup for how
// concurrent ingests into the same keys are kept apart).
//
// Not thread-safe.

#include "dm/ingest/records.hpp"
#include "dm/stats/sketch.hpp"

#include "dm/db/pg_connection.hpp"

#include <cstdint>
#include <functional>
#include <memory_resource>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace dm::rollup {

/// Advisory lock classes (the first key of pg_advisory_xact_lock(int, int)).
/// A writer takes its classes in this order, and the buckets of one class in
/// ascending order, so concurrent ingests never wait on each other in a cycle.
/// Each class covers every table keyed by the same thing:
enum LockClass : int {
  lock_sessions = 0x646d0002,     ///< session buckets: learning_sessions (taken before the hours: a
                                  ///< session's previous span decides which hours and days it changes)
  lock_hours = 0x646d0001,        ///< hour buckets: learning_hourly, learning_user_hourly,
                                  ///< learning_topic_hourly, learning_session_hours
  lock_users = 0x646d0005,        ///< user buckets: user_topic_totals, user_active_days
  lock_requests = 0x646d0003,     ///< hour buckets: request_rollup_1m, request_rollup_1h, request_totals_1h
  lock_request_days = 0x646d0006, ///< day buckets: request_rollup_1d
  lock_hosts = 0x646d0007,        ///< hour buckets: host_hourly
};

/// How one rollup table is written.
struct RollupTarget {
  std::string_view table;            ///< dm.learning_hourly
  std::vector<std::string_view> columns;
  std::string_view key_columns;      ///< "hour, user_id, topic": primary key, in order
  std::string_view range_column;     ///< the first key column
  std::string_view merge;            ///< the ON CONFLICT DO UPDATE SET list
  /// false: the table has no unique index on the key (a BRIN index on
  /// range_column only, so that COPY does not insert into a btree row by row);
  /// existing keys are merged by UPDATE, new ones INSERTed, which the
  /// caller's advisory locks keep unique.
  bool unique_key = true;
};

/// Takes the transaction-level advisory locks (`lock_class`, b) for every
/// bucket b of `buckets` (any order, duplicates allowed), in ascending order.
void lock_buckets(db::PgConnection& conn, LockClass lock_class, std::vector<std::int64_t> buckets);

/// Writes rows into a rollup table inside the caller's transaction.
///
/// The caller holds the advisory locks (lock_buckets) on the buckets of every
/// key it writes, so two ingests that share a key run one after the other.
/// Holding them, a writer whose key range [`low`, `high`] of the first key
/// column holds no rows yet COPYs straight into the table; otherwise it COPYs
/// into a temporary table and upserts in key order, merging with `merge`
/// (where `excluded` names the new row).
/// `rows` writes every row (sorted by key) into the BinaryCopy it is given.
/// `before_merge`, when given, runs on the upsert path after the rows are in
/// the temporary table (its name is passed) and before they are merged.
std::uint64_t write_rollup(db::PgConnection& conn, const RollupTarget& target, const std::string& low,
                           const std::string& high, std::uint64_t row_count,
                           const std::function<void(db::BinaryCopy&)>& rows,
                           const std::function<void(const std::string&)>& before_merge = {});

/// The lock bucket of an instant: its hour, hashed into 4096 buckets.
std::int64_t lock_bucket_of_hour(util::Micros t) noexcept;
/// The lock bucket of an instant's UTC day, hashed into 4096 buckets.
std::int64_t lock_bucket_of_day(util::Micros t) noexcept;
/// The lock bucket of a user: the id hashed into 256 buckets (few, so that a
/// file touching every user takes few locks).
std::int64_t lock_bucket_of_user(std::int64_t user_id) noexcept;

/// Interns short strings (topics, service/endpoint pairs) to dense ids.
class Interner {
public:
  std::uint32_t id(std::string_view s);
  const std::string& name(std::uint32_t id) const { return names_[id]; }
  std::size_t size() const noexcept { return names_.size(); }

private:
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::vector<std::string> names_;
  std::string last_;
  std::uint32_t last_id_ = 0;
  bool has_last_ = false;
};

/// Every learning rollup: learning_hourly, learning_user_hourly,
/// learning_topic_hourly, user_topic_answers_hourly (appended, never merged),
/// learning_sessions, learning_session_hours, user_topic_totals and
/// user_active_days.
///
/// Rows are aggregated once, per (hour, user, topic), and per session; the
/// coarser rollups are folded from the hourly aggregates when written, so each
/// row costs one hash lookup however many rollups there are.
///
/// Session counters (learning_session_hours, and the sessions columns of
/// learning_user_hourly and user_active_days) count each session once, where
/// the first event of its merged span is, for the user of its earliest event.
/// A session this file extends had been counted by an earlier file: its
/// previous span is read (under the session locks) and its counts move.
class LearningRollup {
public:
  LearningRollup();
  void add(const ingest::LearningRecord& r);

  bool empty() const noexcept { return hourly_.empty() && sessions_.empty(); }
  /// Whether preparing and folding it is worth threads of their own (a bulk
  /// load), rather than running in place (an HTTP batch).
  bool large() const noexcept { return hourly_.size() >= parallel_entries_min; }

  struct HourKey {
    std::int64_t hour;
    std::int64_t user_id;
    std::uint32_t topic;
    bool operator==(const HourKey&) const = default;
  };
  struct HourAgg {
    std::int64_t answered = 0, correct = 0, sum_answer_ms = 0, timed = 0;
    std::int64_t mock_attempts = 0, mock_passes = 0;
    double mock_score_sum = 0;
    std::int64_t events = 0;
    util::Micros last_ts = 0;         ///< of any event
    util::Micros first_answer_ts = 0; ///< of question_answered events, when answered > 0
    util::Micros last_answer_ts = 0;
  };
  struct SessionAgg {
    std::int64_t user_id; ///< of the earliest event
    util::Micros first_ts, last_ts;
    std::int64_t events;
  };
  /// Changes to the session counters, keyed as the tables they go to.
  struct SessionHour {
    std::int64_t started = 0, ended = 0, span_us = 0;
  };
  /// Each sorted by key, one entry per key, none that changes nothing.
  struct SessionDeltas {
    std::vector<std::pair<util::Micros, SessionHour>> hours; ///< learning_session_hours
    std::vector<std::pair<std::pair<util::Micros, std::int64_t>, std::int64_t>> user_hours; ///< (hour, user): sessions
    std::vector<std::pair<std::pair<std::int64_t, util::Micros>, std::int64_t>> user_days;  ///< (user, UTC midnight): sessions
  };
  struct HourKeyHash {
    std::size_t operator()(const HourKey& k) const noexcept;
  };

  using HourEntry = std::pair<const HourKey, HourAgg>;
  /// What write() does before it needs the database: the hourly entries in
  /// key order. No database, no change to the rollup: may run on another
  /// thread while the connection is busy (the raw rows' COPY finishing).
  struct Prepared {
    std::vector<std::uint32_t> by_name; ///< topic ids in name order
    std::vector<const HourEntry*> rows; ///< every hourly entry, in key order
  };
  Prepared prepare() const;
  /// Upserts every learning rollup; returns rows written.
  std::uint64_t write(db::PgConnection& conn) const { return write(conn, prepare()); }
  /// The same with prepare()'s result.
  std::uint64_t write(db::PgConnection& conn, const Prepared& prepared) const;

private:
  static constexpr std::size_t parallel_entries_min = 10000;
  /// user_topic_totals and user_active_days rows, folded from the hourly entries.
  struct ProgressRows;
  /// Topic ids in name order.
  std::vector<std::uint32_t> topics_by_name() const;
  /// The dm.topics id of every topic with answers (registering new ones),
  /// indexed by interned topic; 0 for the others.
  std::vector<std::int32_t> register_topics(db::PgConnection& conn, const std::vector<const HourEntry*>& rows) const;
  std::uint64_t write_hourly(db::PgConnection& conn, const std::vector<const HourEntry*>& rows,
                             const std::vector<std::uint32_t>& by_name, const std::vector<std::int32_t>& topic_ids,
                             const SessionDeltas& deltas) const;
  /// Upserts learning_sessions and fills `deltas` with what the counters change by.
  std::uint64_t write_sessions(db::PgConnection& conn, SessionDeltas& deltas) const;
  /// No database: runs on a thread of its own while write_hourly writes.
  ProgressRows progress_rows(const std::vector<const HourEntry*>& rows, const SessionDeltas& deltas) const;
  std::uint64_t write_user_progress(db::PgConnection& conn, const ProgressRows& progress) const;

  Interner topics_;
  std::uint32_t no_topic_ = 0; ///< the id of "" (events without a topic)
  // The aggregates only grow until written: their nodes come from one arena,
  // allocated and freed in large blocks (no malloc and free per entry).
  std::pmr::monotonic_buffer_resource arena_{1 << 20};
  std::pmr::unordered_map<HourKey, HourAgg, HourKeyHash> hourly_{&arena_};
  std::pmr::unordered_map<std::int64_t, SessionAgg> sessions_{&arena_};
  // The entries of the previous rows' hour and user, by topic, and the
  // previous row's session: consecutive rows of a session mostly share them,
  // and then need no lookup in the large maps.
  util::Micros recent_hour_ = 0;
  std::int64_t recent_user_ = 0;
  std::vector<std::pair<std::uint32_t, HourAgg*>> recent_;
  std::int64_t last_session_id_ = 0;
  SessionAgg* last_session_ = nullptr;
};

/// request_rollup_1m, and folded from its minutes request_rollup_1h,
/// request_rollup_1d and request_totals_1h.
class RequestRollup {
public:
  void add(const ingest::RequestRecord& r);
  /// Upserts every request rollup (sketches merged by dm.sketch_merge).
  std::uint64_t write(db::PgConnection& conn) const;
  bool empty() const noexcept { return minutes_.empty(); }

  struct MinuteKey {
    std::int64_t minute;
    std::uint32_t series; ///< interned "service\0endpoint"
    bool operator==(const MinuteKey&) const = default;
  };
  struct MinuteAgg {
    std::int64_t n = 0, errors = 0;
    double sum_ms = 0;
    stats::Sketch sketch;
  };
  struct MinuteKeyHash {
    std::size_t operator()(const MinuteKey& k) const noexcept;
  };

private:
  Interner series_;
  std::unordered_map<MinuteKey, MinuteAgg, MinuteKeyHash> minutes_;
};

/// host_hourly.
class HostRollup {
public:
  void add(const ingest::HostRecord& r);
  /// Upserts into dm.host_hourly.
  std::uint64_t write(db::PgConnection& conn) const;

  struct HourKey {
    std::int64_t hour;
    std::uint32_t host;
    bool operator==(const HourKey&) const = default;
  };
  struct HourAgg {
    std::int64_t cpu_n = 0;
    double cpu_sum = 0;
    std::optional<float> cpu_max, mem_max, disk_max;
  };
  struct HourKeyHash {
    std::size_t operator()(const HourKey& k) const noexcept;
  };

private:
  Interner hosts_;
  std::unordered_map<HourKey, HourAgg, HourKeyHash> hours_;
};

} // namespace dm::rollup
