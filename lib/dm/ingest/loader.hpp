#pragma once
// Writes typed rows of one kind into PostgreSQL inside the caller's
// transaction: raw rows stream with binary COPY as they arrive, rollups are
// aggregated in memory and written by finish(). Nothing is visible to others
// until the caller commits.
//
// Not thread-safe. One Loader at a time per transaction (one COPY at a time).

#include "dm/ingest/records.hpp"
#include "dm/rollup/rollups.hpp"

#include "dm/db/pg_connection.hpp"

#include <future>
#include <map>
#include <memory>
#include <optional>
#include <unordered_set>
#include <vector>

namespace dm::db {
class CompanionTransaction;
}

namespace dm::ingest {

struct LoadSummary {
  Kind kind = Kind::learning;
  std::uint64_t rows = 0;
  std::uint64_t rollup_rows = 0;
  std::optional<util::Micros> first_ts; ///< earliest event time (users: signup_at)
  std::optional<util::Micros> last_ts;
  /// The distinct users the rows name, ascending, when there are at most
  /// max_notified_users of them; otherwise empty and all_users is set.
  std::vector<std::int64_t> users;
  bool all_users = false;
  bool rollups_on_second_connection = false; ///< written there (db/two_phase.hpp)
};

/// The most users a change signal names one by one (20 bytes each at most,
/// so the NOTIFY payload stays well under PostgreSQL's 8000 bytes).
inline constexpr std::size_t max_notified_users = 256;

class Loader final : public RecordSink {
public:
  /// `conn` must be inside a transaction (PgTransaction). With `rollups`
  /// (a second connection inside a transaction that commits with conn's, see
  /// db/two_phase.hpp) the rollups are written there, while the server still
  /// takes the raw rows on `conn`. One load, one place for rollups: every
  /// Loader of a transaction passes the same one or none, so that the
  /// rollups' locks are only ever held by one of the two.
  Loader(db::PgConnection& conn, Kind kind, db::PgConnection* rollups = nullptr);
  ~Loader() override;

  /// Throws std::logic_error for a record of another kind.
  void add(const UserRecord& r) override;
  void add(const LearningRecord& r) override;
  void add(const PaymentRecord& r) override;
  void add(const RequestRecord& r) override;
  void add(const HostRecord& r) override;

  std::uint64_t rows() const noexcept { return summary_.rows; }

  /// Ends the COPY and writes the rollups. Call once, before commit.
  LoadSummary finish();

private:
  void seen(util::Micros ts) noexcept;
  void touched(std::int64_t user_id);
  void wrong_kind(Kind got) const;

  /// Writes the rollups on `conn`; returns the rows written.
  std::uint64_t write_rollups(db::PgConnection& conn, std::future<rollup::LearningRollup::Prepared>& learning);

  db::PgConnection& conn_;
  db::PgConnection* rollups_conn_;
  Kind kind_;
  std::unique_ptr<db::BinaryCopy> copy_;
  rollup::LearningRollup learning_;
  rollup::RequestRollup requests_;
  rollup::HostRollup hosts_;
  std::map<std::int64_t, UserRecord> users_; ///< last row per user wins
  LoadSummary summary_;
  bool finished_ = false;
  /// Users named so far, until there are more than max_notified_users.
  std::unordered_set<std::int64_t> touched_;
  std::int64_t last_touched_ = 0;
};

/// Sends `NOTIFY dm_events` with {"kind","rows","from","to","users","at"}:
/// `users` the ids of summary.users, or "*" when summary.all_users; `at` the
/// server's clock_timestamp() in microseconds since the epoch, read by this
/// statement (call it just before commit, or just after a two-phase commit:
/// it stands for the commit instant). Inside a transaction it is delivered on
/// commit only, like the rows.
void notify_loaded(db::PgConnection& conn, const LoadSummary& summary);

/// Commits a load of `txn`'s connection and signals what it loaded: the
/// signals then the commit, or, with the rollups in `companion`, both commits
/// then the signals (a listener reading the rollups finds them).
void commit_loaded(db::PgTransaction& txn, db::CompanionTransaction* companion,
                   const std::vector<LoadSummary>& loaded);

} // namespace dm::ingest
