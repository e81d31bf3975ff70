// The schedule store: create, list, get, remove, enable and disable on a real
// PostgreSQL; every refused value names its field; next_run_at is the cron
// expression's next fire time in the schedule's zone; one run per fire time.

#include "test_database.hpp"

#include "dm/cron/schedule.hpp"
#include "dm/schedule/store.hpp"
#include "dm/util/error.hpp"
#include "dm/util/time.hpp"

#include <catch2/catch.hpp>

#include <string>

using dm::FieldError;
using dm::schedule::ScheduleSpec;
using dm::schedule::ScheduleStore;
using dm::test::TestDatabase;

namespace {

dm::util::Micros at(const char* rfc3339)
{
  const auto t = dm::util::parse_rfc3339(rfc3339);
  REQUIRE(t);
  return *t;
}

ScheduleSpec daily_learning()
{
  ScheduleSpec s;
  s.name = "daily learning";
  s.cron = "0 6 * * *";
  s.tz = "Europe/Berlin";
  s.report_type = "learning";
  s.period = "yesterday";
  s.formats = {"pdf", "csv"};
  s.keep = 14;
  s.notify = {"ops@example.com", "first.last+tag@mail.example.org"};
  return s;
}

/// The field FieldError names for `spec`, or "" when it is accepted.
std::string refused_field(const ScheduleSpec& spec, std::string* message = nullptr)
{
  try {
    dm::schedule::validate(spec);
  } catch (const FieldError& e) {
    if (message != nullptr)
      *message = e.what();
    return e.field();
  }
  return "";
}

} // namespace

TEST_CASE("schedules: a schedule is created, listed, read, disabled, enabled and removed", "[schedule][store]")
{
  TestDatabase db;
  ScheduleStore store(db.connection());
  const auto now = at("2026-11-02T08:15:00Z");
  const auto created = store.create(daily_learning(), now);
  CHECK(created.id > 0);
  CHECK(created.enabled);
  CHECK(created.spec.name == "daily learning");
  CHECK(created.spec.formats == std::vector<std::string>{"pdf", "csv"});
  CHECK(created.spec.notify == std::vector<std::string>{"ops@example.com", "first.last+tag@mail.example.org"});
  REQUIRE(created.spec.keep);
  CHECK(*created.spec.keep == 14);
  CHECK(created.spec.catchup == "last");
  CHECK(created.spec.source == "user");
  // 06:00 in Berlin (UTC+1 in November) on the next day.
  REQUIRE(created.next_run_at);
  CHECK(*created.next_run_at == at("2026-11-03T06:00:00+01:00"));
  CHECK_FALSE(created.last_run_at);
  CHECK(created.last_status.empty());

  ScheduleSpec hourly;
  hourly.name = "hourly performance";
  hourly.cron = "@hourly";
  hourly.report_type = "performance";
  hourly.formats = {"json"};
  const auto second = store.create(hourly, now);
  CHECK_FALSE(second.spec.keep);
  CHECK(second.spec.notify.empty());

  auto all = store.list(now);
  REQUIRE(all.size() == 2);
  CHECK(all[0].id == created.id);
  CHECK(all[1].id == second.id);
  CHECK(*all[1].next_run_at == at("2026-11-02T09:00:00Z"));

  const auto disabled = store.set_enabled(created.id, false, now);
  CHECK_FALSE(disabled.enabled);
  CHECK(db.scalar("SELECT next_run_at IS NULL FROM dm.schedules WHERE id = " + std::to_string(created.id)) == "t");
  // Listed with the next fire time the expression gives.
  CHECK(store.get(created.id, now).next_run_at == at("2026-11-03T06:00:00+01:00"));

  // Enabled again a week later: the next run counts from then, not from before.
  const auto later = at("2026-11-09T07:00:00Z");
  const auto enabled = store.set_enabled(created.id, true, later);
  CHECK(enabled.enabled);
  CHECK(*enabled.next_run_at == at("2026-11-10T06:00:00+01:00"));

  // Last run and status come from schedule_runs (the latest fire time).
  {
    pqxx::nontransaction txn{db.connection()};
    txn.exec0("INSERT INTO dm.schedule_runs (schedule_id, fire_time, started_at, finished_at, status) VALUES (" +
              std::to_string(second.id) + ", '2026-11-02T07:00:00Z', now(), now(), 'succeeded'), (" +
              std::to_string(second.id) + ", '2026-11-02T08:00:00Z', now(), NULL, 'failed')");
  }
  const auto with_runs = store.get(second.id, now);
  REQUIRE(with_runs.last_run_at);
  CHECK(*with_runs.last_run_at == at("2026-11-02T08:00:00Z"));
  CHECK(with_runs.last_status == "failed");

  store.remove(second.id);
  CHECK_THROWS_AS(store.get(second.id), dm::NotFound);
  CHECK(db.scalar("SELECT count(*) FROM dm.schedule_runs") == "0");
  CHECK_THROWS_AS(store.remove(second.id), dm::NotFound);
  CHECK_THROWS_AS(store.set_enabled(second.id, true), dm::NotFound);
  CHECK_THROWS_WITH(store.get(424242), "no schedule with id 424242");
  CHECK(store.list(now).size() == 1);
}

TEST_CASE("schedules: a duplicate name is a conflict", "[schedule][store]")
{
  TestDatabase db;
  ScheduleStore store(db.connection());
  store.create(daily_learning());
  auto again = daily_learning();
  again.cron = "30 7 * * 1";
  CHECK_THROWS_AS(store.create(again), dm::Conflict);
  CHECK_THROWS_WITH(store.create(again), Catch::Contains("name 'daily learning'"));
  CHECK(store.list().size() == 1);
}

TEST_CASE("schedules: every refused value names its field and the value", "[schedule][store][validate]")
{
  CHECK(refused_field(daily_learning()).empty());
  struct Case {
    const char* field;
    const char* value; ///< what the message quotes
    void (*change)(ScheduleSpec&);
  };
  const Case cases[] = {
      {"name", "''", [](ScheduleSpec& s) { s.name = ""; }},
      {"name", "bad\nname", [](ScheduleSpec& s) { s.name = "bad\nname"; }},
      {"cron", "61 * * * *", [](ScheduleSpec& s) { s.cron = "61 * * * *"; }},
      {"cron", "0 0 30 2 *", [](ScheduleSpec& s) { s.cron = "0 0 30 2 *"; }},
      {"cron", "@fortnightly", [](ScheduleSpec& s) { s.cron = "@fortnightly"; }},
      {"tz", "Mars/Olympus", [](ScheduleSpec& s) { s.tz = "Mars/Olympus"; }},
      {"report_type", "revenue", [](ScheduleSpec& s) { s.report_type = "revenue"; }},
      {"period", "last-week", [](ScheduleSpec& s) { s.period = "last-week"; }},
      {"formats", "docx", [](ScheduleSpec& s) { s.formats = {"pdf", "docx"}; }},
      {"formats", "''", [](ScheduleSpec& s) { s.formats.clear(); }},
      {"formats", "pdf", [](ScheduleSpec& s) { s.formats = {"pdf", "pdf"}; }},
      {"keep", "0", [](ScheduleSpec& s) { s.keep = 0; }},
      {"notify", "not-an-address", [](ScheduleSpec& s) { s.notify = {"ops@example.com", "not-an-address"}; }},
      {"notify", "a@b@c", [](ScheduleSpec& s) { s.notify = {"a@b@c"}; }},
      {"notify", "Ops <ops@example.com>", [](ScheduleSpec& s) { s.notify = {"Ops <ops@example.com>"}; }},
      {"catchup", "all", [](ScheduleSpec& s) { s.catchup = "all"; }},
      {"source", "api", [](ScheduleSpec& s) { s.source = "api"; }},
  };
  for (const auto& c : cases) {
    auto spec = daily_learning();
    c.change(spec);
    std::string message;
    INFO(c.field << " = " << c.value);
    CHECK(refused_field(spec, &message) == c.field);
    INFO(message);
    CHECK(message.rfind(std::string(c.field) + " '", 0) == 0);
    CHECK(message.find(c.value) != std::string::npos);
  }
  std::string message;
  auto spec = daily_learning();
  spec.cron = "0 25 * * *";
  refused_field(spec, &message);
  CHECK(message == "cron '0 25 * * *': field 2 (hour): 25 is out of range 0-23");

  // Nothing refused reaches the database.
  TestDatabase db;
  ScheduleStore store(db.connection());
  spec.cron = "0 6 * * *";
  spec.tz = "Nowhere/Town";
  CHECK_THROWS_AS(store.create(spec), FieldError);
  CHECK_THROWS_AS(store.create(spec), dm::UsageError);
  CHECK(store.list().empty());
}

TEST_CASE("schedules: addresses are checked for syntax", "[schedule][validate]")
{
  using dm::schedule::is_valid_address;
  CHECK(is_valid_address("ops@example.com"));
  CHECK(is_valid_address("o'brien+reports@sub.example.co.uk"));
  CHECK(is_valid_address("root@localhost"));
  CHECK_FALSE(is_valid_address(""));
  CHECK_FALSE(is_valid_address("@example.com"));
  CHECK_FALSE(is_valid_address("ops@"));
  CHECK_FALSE(is_valid_address("ops@.example.com"));
  CHECK_FALSE(is_valid_address("ops@example..com"));
  CHECK_FALSE(is_valid_address("ops@-example.com"));
  CHECK_FALSE(is_valid_address(".ops@example.com"));
  CHECK_FALSE(is_valid_address("o..ps@example.com"));
  CHECK_FALSE(is_valid_address("ops @example.com"));
  CHECK_FALSE(is_valid_address("ops@exa_mple.com"));
  CHECK_FALSE(is_valid_address(std::string(250, 'a') + "@example.com"));
}

TEST_CASE("schedules: next_run_at is the cron expression's next fire time in the schedule's zone", "[schedule][store][cron]")
{
  TestDatabase db;
  ScheduleStore store(db.connection());
  struct Case {
    const char* name;
    const char* cron;
    const char* tz;
    const char* now;
    const char* next;
  };
  const Case cases[] = {
      // Spring forward in Berlin: 02:30 does not exist on 2026-03-29; it fires at 03:00+02:00.
      {"berlin gap", "30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T03:00:00+02:00"},
      // Fall back in New York: 01:30 happens twice on 2026-11-01; the first one fires.
      {"new york overlap", "30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-01T01:30:00-04:00"},
      {"monday morning", "0 9 * * MON", "Asia/Kolkata", "2026-11-02T04:00:00Z", "2026-11-09T09:00:00+05:30"},
      {"monthly", "@monthly", "Australia/Sydney", "2026-11-02T00:00:00Z", "2026-12-01T00:00:00+11:00"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    ScheduleSpec spec;
    spec.name = c.name;
    spec.cron = c.cron;
    spec.tz = c.tz;
    spec.report_type = "engagement";
    const auto now = at(c.now);
    const auto s = store.create(spec, now);
    REQUIRE(s.next_run_at);
    CHECK(*s.next_run_at == at(c.next));
    CHECK(*s.next_run_at == *dm::cron::Schedule(c.cron, c.tz).next_fire_after(now));
    // Stored to the microsecond.
    CHECK(db.scalar("SELECT next_run_at = '" + std::string(c.next) + "'::timestamptz FROM dm.schedules WHERE id = " +
                    std::to_string(s.id)) == "t");
  }
}

TEST_CASE("schedules: a fire time runs once: schedule_runs is unique per schedule and fire time", "[schedule][store][runs]")
{
  TestDatabase db;
  ScheduleStore store(db.connection());
  auto spec = daily_learning();
  const auto s = store.create(spec);
  spec.name = "another";
  const auto other = store.create(spec);
  auto run = [&](std::int64_t id) {
    return db.scalar("INSERT INTO dm.schedule_runs (schedule_id, fire_time, started_at, status) VALUES (" +
                     std::to_string(id) + ", '2026-11-03T06:00:00+01:00', now(), 'running') RETURNING id");
  };
  CHECK_FALSE(run(s.id).empty());
  // The same instant written in another offset is the same fire time.
  CHECK_THROWS_AS(db.scalar("INSERT INTO dm.schedule_runs (schedule_id, fire_time, status) VALUES (" +
                            std::to_string(s.id) + ", '2026-11-03T05:00:00Z', 'running') RETURNING id"),
                  pqxx::unique_violation);
  // A claim that loses the race does nothing instead of failing.
  {
    pqxx::nontransaction txn{db.connection()};
    CHECK(txn.exec("INSERT INTO dm.schedule_runs (schedule_id, fire_time, status) VALUES (" + std::to_string(s.id) +
                   ", '2026-11-03T05:00:00Z', 'running') ON CONFLICT (schedule_id, fire_time) DO NOTHING RETURNING id")
              .empty());
  }
  CHECK_FALSE(run(other.id).empty());
  CHECK_THROWS_AS(db.scalar("INSERT INTO dm.schedule_runs (schedule_id, fire_time, status) VALUES (" +
                            std::to_string(s.id) + ", now(), 'queued') RETURNING id"),
                  pqxx::check_violation);
  CHECK_THROWS_AS(db.scalar("INSERT INTO dm.schedule_runs (schedule_id, fire_time, status) VALUES (999999, now(), "
                            "'running') RETURNING id"),
                  pqxx::foreign_key_violation);
  CHECK(db.scalar("SELECT count(*) FROM dm.schedule_runs") == "2");
}

TEST_CASE("schedules: the table's checks refuse what the store would", "[schedule][store][schema]")
{
  TestDatabase db;
  const std::string base =
      "INSERT INTO dm.schedules (name, cron, tz, report_type, period, formats, keep, catchup, source) VALUES ";
  CHECK_THROWS_AS(db.scalar(base + "('a', '* * * * *', 'UTC', 'revenue', 'last-7d', '{pdf}', NULL, 'last', 'user') RETURNING 1"),
                  pqxx::check_violation);
  CHECK_THROWS_AS(db.scalar(base + "('b', '* * * * *', 'UTC', 'learning', 'last-7d', '{docx}', NULL, 'last', 'user') RETURNING 1"),
                  pqxx::check_violation);
  CHECK_THROWS_AS(db.scalar(base + "('c', '* * * * *', 'UTC', 'learning', 'last-7d', '{pdf}', 0, 'last', 'user') RETURNING 1"),
                  pqxx::check_violation);
  CHECK_THROWS_AS(db.scalar(base + "('d', '* * * * *', 'UTC', 'learning', 'last-7d', '{pdf}', NULL, 'all', 'user') RETURNING 1"),
                  pqxx::check_violation);
  CHECK_THROWS_AS(db.scalar(base + "('e', '* * * * *', 'UTC', 'learning', 'last-7d', '{pdf}', NULL, 'last', 'api') RETURNING 1"),
                  pqxx::check_violation);
  CHECK(db.scalar(base + "('f', '* * * * *', 'UTC', 'learning', 'last-7d', '{pdf,csv}', NULL, 'none', 'config') RETURNING 1") == "1");
  CHECK(db.scalar("SELECT enabled AND catchup = 'none' FROM dm.schedules WHERE name = 'f'") == "t");
}
