#pragma once
// Report schedules in PostgreSQL (DESIGN 6): `dm.schedules`, one row per
// schedule, and `dm.schedule_runs`, one row per fire time. The store checks
// every value before it reaches the database and computes next_run_at with
// the cron library; running schedules is the runner's job.
//
// Not thread-safe: one ScheduleStore per connection, used by one thread.

#include "dm/util/error.hpp"
#include "dm/util/time.hpp"

#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dm::schedule {

/// What a schedule is made of; defaults are those of `schedule add`.
struct ScheduleSpec {
  std::string name;
  std::string cron;
  std::string tz = "UTC";
  std::string report_type;
  std::string period = "last-7d";
  std::vector<std::string> formats{"pdf"};
  std::optional<int> keep; ///< nullopt: only reports.keep_days applies
  std::vector<std::string> notify;
  std::string catchup = "last"; ///< none | last
  std::string source = "user";  ///< user | config
};

struct StoredSchedule {
  std::int64_t id = 0;
  ScheduleSpec spec;
  bool enabled = true;
  /// The stored next fire time; list() and get() fill it from the cron
  /// expression (the first fire time after now) when the row has none.
  std::optional<util::Micros> next_run_at;
  /// Fire time and status of the latest run in schedule_runs, if any.
  std::optional<util::Micros> last_run_at;
  std::string last_status;
  /// The latest successful run's finish.
  std::optional<util::Micros> last_success_at;
  /// Set while the schedule has not succeeded within twice its interval.
  std::optional<util::Micros> missed_since;
  util::Micros created_at = 0;
};

/// Checks every field of `spec`; throws FieldError naming the first bad one
/// and its value. Formats and notify addresses are checked one by one.
void validate(const ScheduleSpec& spec);

/// True for a syntactically valid e-mail address (local@domain, no display
/// name or angle brackets, at most 254 characters).
bool is_valid_address(std::string_view address) noexcept;

class ScheduleStore {
public:
  explicit ScheduleStore(pqxx::connection_base& conn) : conn_(conn) {}

  /// Validates and stores a new, enabled schedule whose next_run_at is its
  /// first fire time after `now`. Throws FieldError, or dm::Conflict when
  /// the name is taken.
  StoredSchedule create(const ScheduleSpec& spec, util::Micros now = util::now());
  /// Every schedule, by id. Throws nothing for an empty table.
  std::vector<StoredSchedule> list(util::Micros now = util::now());
  /// Throws dm::NotFound "no schedule with id N".
  StoredSchedule get(std::int64_t id, util::Micros now = util::now());
  /// Deletes a schedule and its runs; throws dm::NotFound.
  void remove(std::int64_t id);
  /// Enabling computes next_run_at afresh from `now` (fire times while it
  /// was disabled are not caught up); disabling clears it. Returns the
  /// schedule as stored; throws dm::NotFound.
  StoredSchedule set_enabled(std::int64_t id, bool enabled, util::Micros now = util::now());

private:
  pqxx::connection_base& conn_;
};

/// The first fire time of `cron` in `tz` strictly after `after`; throws
/// FieldError (cron, tz) for a bad expression or zone.
util::Micros next_fire_time(const std::string& cron, const std::string& tz, util::Micros after);

} // namespace dm::schedule
