#pragma once
// In-memory aggregation of ingested rows into the rollup tables of DESIGN 4,
// written in the ingest's own transaction (see write_rollup for how
// concurrent ingests into the same hours are kept apart).
//
// Not thread-safe.

#include "dm/ingest/records.hpp"
#include "dm/stats/sketch.hpp"

#include "dm/db/pg_connection.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace dm::rollup {

/// How one rollup table is written.
struct RollupTarget {
  std::string_view table;            ///< dm.learning_hourly
  std::vector<std::string_view> columns;
  std::string_view key_columns;      ///< "hour, user_id, topic": primary key, in order
  std::string_view range_column;     ///< the first key column
  std::string_view merge;            ///< the ON CONFLICT DO UPDATE SET list
  int lock_class;                    ///< advisory lock namespace of this table
};

/// Writes rows into a rollup table inside the caller's transaction.
///
/// Writers of the same table take transaction-level advisory locks on the
/// buckets of the keys they touch (`lock_buckets`, sorted; a bucket is a hash
/// of the hour), so two ingests into the same hours run one after the other
/// and cannot deadlock. Holding the locks, a writer whose key range
/// [`low`, `high`] holds no rows yet COPYs straight into the table; otherwise it
/// COPYs into a temporary table and upserts in key order, merging with `merge`.
/// `rows` writes every row (sorted by key) into the BinaryCopy it is given.
std::uint64_t write_rollup(db::PgConnection& conn, const RollupTarget& target,
                           const std::vector<std::int64_t>& lock_buckets, const std::string& low,
                           const std::string& high, std::uint64_t row_count,
                           const std::function<void(db::BinaryCopy&)>& rows);

/// The lock bucket of an instant: its hour, hashed into 4096 buckets.
std::int64_t lock_bucket_of_hour(util::Micros t) noexcept;

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

/// learning_hourly, learning_user_hourly and learning_sessions.
class LearningRollup {
public:
  void add(const ingest::LearningRecord& r);
  /// Upserts into dm.learning_hourly and dm.learning_sessions; returns rows written.
  std::uint64_t write(db::PgConnection& conn) const;
  bool empty() const noexcept { return hourly_.empty() && sessions_.empty(); }

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
  };
  struct SessionAgg {
    std::int64_t user_id;
    util::Micros first_ts, last_ts;
    std::int64_t events;
  };
  struct HourKeyHash {
    std::size_t operator()(const HourKey& k) const noexcept;
  };
  struct UserHourKey {
    std::int64_t hour;
    std::int64_t user_id;
    bool operator==(const UserHourKey&) const = default;
  };
  struct UserHourAgg {
    std::int64_t events = 0, answered = 0, correct = 0;
  };
  struct UserHourKeyHash {
    std::size_t operator()(const UserHourKey& k) const noexcept;
  };

private:
  Interner topics_;
  std::unordered_map<UserHourKey, UserHourAgg, UserHourKeyHash> user_hourly_;
  std::unordered_map<HourKey, HourAgg, HourKeyHash> hourly_;
  std::unordered_map<std::int64_t, SessionAgg> sessions_;
};

/// request_rollup_1m.
class RequestRollup {
public:
  void add(const ingest::RequestRecord& r);
  /// Upserts into dm.request_rollup_1m (sketches merged by dm.sketch_merge).
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

} // namespace dm::rollup
