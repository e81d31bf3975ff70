// The schedule runner on a real PostgreSQL: two schedulers on one database
// run each fire time once; a schedule never overlaps itself; catch-up after
// downtime (last: one run, none: a recorded miss); e-mail to a real SMTP
// server, with retries and a recorded failure; keep; the schedule_missed
// condition; dead runs; the [reporting_schedule] defaults.
//
// The schedulers run against a clock the test moves, so minutes of cron time
// pass in milliseconds; the real-time case is in daemon/schedule_api_test.

#include "smtp_server.hpp"
#include "test_database.hpp"

#include "daemon/scheduler.hpp"
#include "dm/db/database.hpp"
#include "dm/report/runner.hpp"
#include "dm/report/store.hpp"
#include "dm/schedule/defaults.hpp"
#include "dm/schedule/runner.hpp"
#include "dm/schedule/store.hpp"
#include "dm/util/error.hpp"
#include "dm/util/time.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

using dm::daemon::Scheduler;
using dm::daemon::SchedulerOptions;
using dm::schedule::ScheduleSpec;
using dm::schedule::ScheduleStore;
using dm::test::TestDatabase;
using dm::util::Micros;
using namespace std::chrono_literals;

namespace {

constexpr Micros minute = 60 * dm::util::micros_per_second;

Micros at(const char* rfc3339)
{
  const auto t = dm::util::parse_rfc3339(rfc3339);
  REQUIRE(t);
  return *t;
}

ScheduleSpec every_minute(const std::string& name)
{
  ScheduleSpec s;
  s.name = name;
  s.cron = "* * * * *";
  s.tz = "UTC";
  s.report_type = "business";
  s.period = "yesterday";
  s.formats = {"json"};
  return s;
}

bool eventually(const std::function<bool()>& predicate, std::chrono::milliseconds timeout = 20s)
{
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate())
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return predicate();
}

/// A clock the test moves.
struct TestClock {
  std::atomic<Micros> now;
  explicit TestClock(Micros start) : now(start) {}
  std::function<Micros()> fn()
  {
    return [this] { return now.load(); };
  }
};

SchedulerOptions fast_options(TestClock& clock)
{
  SchedulerOptions o;
  o.poll = 10ms;
  o.housekeeping = 50ms;
  o.heartbeat_every = 50ms;
  o.create_defaults = false;
  o.clock = clock.fn();
  o.execute.delivery_attempts = 3;
  o.execute.delivery_backoff = {100ms};
  return o;
}

std::unique_ptr<dm::db::Database> database_of(const TestDatabase& db)
{
  dm::db::Database::Options options;
  options.url = db.url();
  return std::make_unique<dm::db::Database>(options);
}

std::int64_t count(TestDatabase& db, const std::string& sql)
{
  return std::stoll(db.scalar(sql));
}

} // namespace

TEST_CASE("two schedulers on one database run every fire time exactly once", "[schedule][runner]")
{
  TestDatabase db;
  const Micros t0 = at("2026-03-02T10:00:30Z");
  TestClock clock(t0);
  const auto schedule = ScheduleStore(db.connection()).create(every_minute("each minute"), t0);
  REQUIRE(schedule.next_run_at == t0 + 30 * dm::util::micros_per_second);

  auto database = database_of(db);
  dm::config::Config config;
  Scheduler a(*database, config, fast_options(clock));
  Scheduler b(*database, config, fast_options(clock));
  a.start();
  b.start();
  for (int i = 1; i <= 5; ++i) {
    clock.now = t0 + i * minute;
    REQUIRE(eventually([&] {
      return count(db, fmt::format("SELECT count(*) FROM dm.schedule_runs WHERE status = 'succeeded'")) == i;
    }));
    // Both keep polling for a while: nothing more may start.
    std::this_thread::sleep_for(100ms);
    CHECK(count(db, "SELECT count(*) FROM dm.schedule_runs") == i);
  }
  a.stop();
  b.stop();
  // Fire times 10:01 .. 10:05, one run and one report each.
  pqxx::work txn{db.connection()};
  const auto rows = txn.exec("SELECT to_char(fire_time AT TIME ZONE 'UTC', 'HH24:MI:SS'), trigger, "
                             "cardinality(report_ids) FROM dm.schedule_runs ORDER BY fire_time");
  REQUIRE(rows.size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(rows[i][0].as<std::string>() == fmt::format("10:0{}:00", i + 1));
    CHECK(rows[i][1].as<std::string>() == "cron");
    CHECK(rows[i][2].as<int>() == 1);
  }
  CHECK(txn.exec1("SELECT count(*) FROM dm.reports WHERE schedule_id IS NOT NULL AND status = 'succeeded'")[0]
            .as<int>() == 5);
}

TEST_CASE("a schedule slower than its interval never overlaps itself", "[schedule][runner]")
{
  TestDatabase db;
  const Micros t0 = at("2026-03-02T10:00:30Z");
  TestClock clock(t0);
  ScheduleStore(db.connection()).create(every_minute("slow"), t0);

  std::mutex mutex;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> generating{0}, most{0}, started{0};
  auto options = fast_options(clock);
  options.run_threads = 3;
  options.execute.before_generate = [&](const dm::schedule::ClaimedRun&) {
    const int now_generating = ++generating;
    most = std::max(most.load(), now_generating);
    ++started;
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return release; });
    --generating;
  };
  auto database = database_of(db);
  dm::config::Config config;
  Scheduler a(*database, config, options);
  Scheduler b(*database, config, options);
  a.start();
  b.start();
  clock.now = t0 + minute; // 10:01 fires
  REQUIRE(eventually([&] { return started.load() == 1; }));
  // Four more fire times pass while the first run is still at work.
  for (int i = 2; i <= 5; ++i) {
    clock.now = t0 + i * minute;
    std::this_thread::sleep_for(60ms);
  }
  CHECK(started.load() == 1);
  CHECK(count(db, "SELECT count(*) FROM dm.schedule_runs") == 1);
  {
    const std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  // Then the fire times that passed meanwhile make one catch-up run.
  REQUIRE(eventually([&] { return count(db, "SELECT count(*) FROM dm.schedule_runs WHERE status = 'succeeded'") == 2; }));
  std::this_thread::sleep_for(100ms);
  a.stop();
  b.stop();
  CHECK(most.load() == 1);
  pqxx::work txn{db.connection()};
  const auto rows = txn.exec("SELECT to_char(fire_time AT TIME ZONE 'UTC', 'HH24:MI'), trigger, skipped, started_at, "
                             "finished_at FROM dm.schedule_runs ORDER BY fire_time");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0][0].as<std::string>() == "10:01");
  CHECK(rows[1][0].as<std::string>() == "10:05");
  CHECK(rows[1][1].as<std::string>() == "catchup");
  CHECK(rows[1][2].as<int>() == 3); // 10:02, 10:03, 10:04
  // The second began after the first had finished.
  CHECK(txn.exec1("SELECT (SELECT started_at FROM dm.schedule_runs ORDER BY fire_time DESC LIMIT 1) >= "
                  "(SELECT finished_at FROM dm.schedule_runs ORDER BY fire_time LIMIT 1)")[0]
            .as<bool>());
}

TEST_CASE("after downtime catchup last runs once and none records the miss", "[schedule][runner]")
{
  TestDatabase db;
  const Micros t0 = at("2026-03-02T10:00:30Z");
  ScheduleStore store(db.connection());
  auto last = every_minute("catch up last");
  last.cron = "*/10 * * * *";
  auto none = every_minute("catch up none");
  none.cron = "*/10 * * * *";
  none.catchup = "none";
  const auto s_last = store.create(last, t0);
  const auto s_none = store.create(none, t0);

  // No daemon ran from 10:00:30 to 11:03: 10:10 .. 11:00 passed (6 fire times).
  TestClock clock(at("2026-03-02T11:03:00Z"));
  auto database = database_of(db);
  dm::config::Config config;
  Scheduler a(*database, config, fast_options(clock));
  a.start();
  REQUIRE(eventually([&] {
    return count(db, fmt::format("SELECT count(*) FROM dm.schedule_runs WHERE schedule_id = {} AND status = 'succeeded'",
                                 s_last.id)) == 1 &&
           count(db, fmt::format("SELECT count(*) FROM dm.schedule_runs WHERE schedule_id = {}", s_none.id)) == 1;
  }));
  std::this_thread::sleep_for(150ms);
  a.stop();

  pqxx::work txn{db.connection()};
  const auto l = txn.exec_params("SELECT to_char(fire_time AT TIME ZONE 'UTC', 'HH24:MI'), trigger, skipped, status "
                                 "FROM dm.schedule_runs WHERE schedule_id = $1",
                                 s_last.id);
  REQUIRE(l.size() == 1);
  CHECK(l[0][0].as<std::string>() == "11:00");
  CHECK(l[0][1].as<std::string>() == "catchup");
  CHECK(l[0][2].as<int>() == 5);
  const auto n = txn.exec_params("SELECT to_char(fire_time AT TIME ZONE 'UTC', 'HH24:MI'), status, skipped, error, "
                                 "cardinality(report_ids) FROM dm.schedule_runs WHERE schedule_id = $1",
                                 s_none.id);
  REQUIRE(n.size() == 1);
  CHECK(n[0][0].as<std::string>() == "11:00");
  CHECK(n[0][1].as<std::string>() == "missed");
  CHECK(n[0][2].as<int>() == 6);
  CHECK(n[0][3].as<std::string>().find("catchup = none") != std::string::npos);
  CHECK(n[0][4].as<int>() == 0);
  // Both wait for 11:10 now.
  for (const auto id : {s_last.id, s_none.id})
    CHECK(txn.exec_params1("SELECT to_char(next_run_at AT TIME ZONE 'UTC', 'HH24:MI') FROM dm.schedules WHERE id = $1",
                           id)[0]
              .as<std::string>() == "11:10");
}

TEST_CASE("a fire time just due runs on time with either catchup", "[schedule][runner]")
{
  TestDatabase db;
  const Micros t0 = at("2026-03-02T10:00:30Z");
  auto none = every_minute("on time");
  none.catchup = "none";
  const auto s = ScheduleStore(db.connection()).create(none, t0);
  auto runs = dm::schedule::claim_due(db.connection(), t0 + 40 * dm::util::micros_per_second, 60s, 5);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].trigger == "cron");
  CHECK(runs[0].schedule.id == s.id);
  CHECK(runs[0].fire_time == t0 + 30 * dm::util::micros_per_second);
  // Claimed: not due again, and a second claim finds nothing.
  CHECK(dm::schedule::claim_due(db.connection(), t0 + 50 * dm::util::micros_per_second, 60s, 5).empty());
  // A manual run while it runs is refused.
  CHECK_THROWS_AS(dm::schedule::claim_manual(db.connection(), s.id, t0 + minute), dm::Conflict);
}

TEST_CASE("scheduled reports are e-mailed with their artifacts, failures retried and recorded",
          "[schedule][runner][mail]")
{
  TestDatabase db;
  dm::test::SmtpServer smtp;
  dm::config::Config config;
  config.smtp.url = smtp.url();
  config.smtp.from = "DriveMaster Reports <reports@drivemaster.example>";
  auto spec = every_minute("mailed");
  spec.formats = {"pdf", "csv"};
  spec.notify = {"ops@drivemaster.example", "lead@drivemaster.example"};
  const auto s = ScheduleStore(db.connection()).create(spec);

  dm::schedule::ExecuteOptions options;
  options.config = &config;
  options.delivery_attempts = 3;
  options.delivery_backoff = {50ms};
  std::vector<std::chrono::milliseconds> waits;
  options.wait = [&](std::chrono::milliseconds d) {
    waits.push_back(d);
    std::this_thread::sleep_for(d);
    return true;
  };

  SECTION("delivered")
  {
    const auto run = dm::schedule::execute(db.connection(), dm::schedule::claim_manual(db.connection(), s.id,
                                                                                       dm::util::now()),
                                           options);
    CHECK(run.status == "succeeded");
    CHECK(run.delivery_status == "sent");
    CHECK(run.attempts == 1);
    const auto messages = smtp.wait_for_messages(1);
    REQUIRE(messages.size() == 1);
    const std::string& m = messages[0];
    CHECK(m.find("ops@drivemaster.example") != std::string::npos);
    CHECK(m.find("lead@drivemaster.example") != std::string::npos);
    CHECK(m.find("business report: mailed") != std::string::npos);
    CHECK(m.find("From: \"DriveMaster Reports\" <reports@drivemaster.example>") != std::string::npos);
    CHECK(m.find("X-MailFrom: reports@drivemaster.example") != std::string::npos);
    CHECK(m.find(fmt::format("filename=\"dmanalytics-business-{}-v1.pdf\"", run.report_ids.at(0))) !=
          std::string::npos);
    CHECK(m.find(fmt::format("filename=\"dmanalytics-business-{}-v1.csv\"", run.report_ids.at(0))) !=
          std::string::npos);
    CHECK(m.find("application/pdf") != std::string::npos);
  }

  SECTION("server down: retried, then the run fails with the reason; back up: delivered")
  {
    smtp.stop();
    const auto run = dm::schedule::execute(db.connection(), dm::schedule::claim_manual(db.connection(), s.id,
                                                                                       dm::util::now()),
                                           options);
    CHECK(run.status == "failed");
    CHECK(run.delivery_status == "failed");
    CHECK(run.attempts == 3);
    CHECK(waits.size() == 2);
    CHECK(run.error.find("after 3 attempts") != std::string::npos);
    CHECK(run.error.find(smtp.url()) != std::string::npos);
    CHECK(run.delivery_error.find(smtp.url()) != std::string::npos);
    // The report itself was generated and stays.
    REQUIRE(run.report_ids.size() == 1);
    CHECK(dm::report::ReportStore(db.connection()).get(run.report_ids[0]).status == "succeeded");
    CHECK(ScheduleStore(db.connection()).get(s.id).last_status == "failed");

    smtp.start();
    const auto again = dm::schedule::execute(db.connection(), dm::schedule::claim_manual(db.connection(), s.id,
                                                                                         dm::util::now()),
                                             options);
    CHECK(again.status == "succeeded");
    CHECK(again.delivery_status == "sent");
    CHECK(smtp.wait_for_messages(1).size() == 1);
  }

  SECTION("no [smtp] url: the run fails saying so")
  {
    config.smtp.url.clear();
    const auto run = dm::schedule::execute(db.connection(), dm::schedule::claim_manual(db.connection(), s.id,
                                                                                       dm::util::now()),
                                           options);
    CHECK(run.status == "failed");
    CHECK(run.error.find("no [smtp] url") != std::string::npos);
  }
}

TEST_CASE("keep removes a schedule's oldest reports and nothing else", "[schedule][runner]")
{
  TestDatabase db;
  dm::config::Config config;
  auto spec = every_minute("kept");
  spec.keep = 2;
  ScheduleStore store(db.connection());
  const auto s = store.create(spec);
  const auto other = store.create(every_minute("unlimited"));
  dm::schedule::ExecuteOptions options;
  options.config = &config;
  std::vector<std::int64_t> kept_ids, other_ids;
  for (int i = 0; i < 4; ++i) {
    kept_ids.push_back(
        dm::schedule::execute(db.connection(), dm::schedule::claim_manual(db.connection(), s.id, dm::util::now()), options)
            .report_ids.at(0));
    other_ids.push_back(dm::schedule::execute(db.connection(),
                                              dm::schedule::claim_manual(db.connection(), other.id, dm::util::now()),
                                              options)
                            .report_ids.at(0));
  }
  CHECK(db.scalar(fmt::format("SELECT string_agg(id::text, ',' ORDER BY id) FROM dm.reports WHERE schedule_id = {}",
                              s.id)) == fmt::format("{},{}", kept_ids[2], kept_ids[3]));
  CHECK(count(db, fmt::format("SELECT count(*) FROM dm.reports WHERE schedule_id = {}", other.id)) == 4);
  // Versions go on counting across deleted ones.
  CHECK(count(db, fmt::format("SELECT max(version) FROM dm.reports WHERE schedule_id = {}", s.id)) == 4);
}

TEST_CASE("schedule_missed: no success within twice the interval, cleared by a success", "[schedule][runner]")
{
  TestDatabase db;
  const Micros t0 = at("2026-03-02T10:00:30Z");
  auto spec = every_minute("watched");
  spec.cron = "*/10 * * * *";
  const auto s = ScheduleStore(db.connection()).create(spec, t0);
  // created_at is the database's now(): move it to t0.
  db.scalar(fmt::format("UPDATE dm.schedules SET created_at = 'epoch'::timestamptz + {} * interval '1 microsecond' "
                        "RETURNING id",
                        t0));
  // 10:10 and 10:20 passed without a success: missed from 10:20 (+ a minute).
  CHECK(dm::schedule::update_missed(db.connection(), at("2026-03-02T10:20:30Z")).empty());
  const auto entered = dm::schedule::update_missed(db.connection(), at("2026-03-02T10:21:30Z"));
  REQUIRE(entered.size() == 1);
  CHECK(entered[0].id == s.id);
  CHECK(entered[0].since == at("2026-03-02T10:20:00Z"));
  CHECK(dm::schedule::update_missed(db.connection(), at("2026-03-02T10:22:30Z")).empty()); // said once
  CHECK(dm::schedule::missed_schedules(db.connection()).size() == 1);

  dm::config::Config config;
  dm::schedule::ExecuteOptions options;
  options.config = &config;
  const auto run =
      dm::schedule::execute(db.connection(), dm::schedule::claim_manual(db.connection(), s.id, dm::util::now()), options);
  REQUIRE(run.status == "succeeded");
  CHECK(dm::schedule::missed_schedules(db.connection()).empty());
  CHECK(ScheduleStore(db.connection()).get(s.id).last_success_at.has_value());
}

TEST_CASE("schedule_missed counts from the instant a paused schedule is enabled again", "[schedule][runner]")
{
  TestDatabase db;
  const Micros t0 = at("2026-03-02T10:00:30Z");
  auto spec = every_minute("paused");
  spec.cron = "*/10 * * * *";
  ScheduleStore store(db.connection());
  const auto s = store.create(spec, t0);
  db.scalar(fmt::format("UPDATE dm.schedules SET created_at = 'epoch'::timestamptz + {} * interval '1 microsecond' "
                        "RETURNING id",
                        t0));
  store.set_enabled(s.id, false, at("2026-03-02T10:05:00Z"));
  // Switched off, nothing is missed however long the pause.
  CHECK(dm::schedule::update_missed(db.connection(), at("2026-03-02T12:00:00Z")).empty());
  store.set_enabled(s.id, true, at("2026-03-02T12:05:00Z"));
  // Enabling it again does not move the reference.
  store.set_enabled(s.id, true, at("2026-03-02T12:15:00Z"));
  // Counted from 12:05: 12:10 and 12:20 must pass (plus a minute) first.
  CHECK(dm::schedule::update_missed(db.connection(), at("2026-03-02T12:06:00Z")).empty());
  CHECK(dm::schedule::update_missed(db.connection(), at("2026-03-02T12:20:30Z")).empty());
  const auto entered = dm::schedule::update_missed(db.connection(), at("2026-03-02T12:21:30Z"));
  REQUIRE(entered.size() == 1);
  CHECK(entered[0].since == at("2026-03-02T12:20:00Z"));
}

TEST_CASE("runs of a process that died are recorded as failed", "[schedule][runner]")
{
  TestDatabase db;
  const auto s = ScheduleStore(db.connection()).create(every_minute("orphaned"));
  const std::string host = dm::schedule::this_runner().substr(0, dm::schedule::this_runner().rfind(':'));
  // A pid that does not exist on this host, and another host's silent run.
  db.scalar(fmt::format("INSERT INTO dm.schedule_runs (schedule_id, fire_time, started_at, status, runner, heartbeat_at) "
                        "VALUES ({0}, now() - interval '2 minutes', now(), 'running', '{1}:{2}', now()) RETURNING id",
                        s.id, host, 4194303 + 1000));
  const auto other = ScheduleStore(db.connection()).create(every_minute("elsewhere"));
  db.scalar(fmt::format("INSERT INTO dm.schedule_runs (schedule_id, fire_time, started_at, status, runner, heartbeat_at) "
                        "VALUES ({}, now() - interval '1 minute', now(), 'running', 'another-host:42', "
                        "now() - interval '10 minutes') RETURNING id",
                        other.id));
  CHECK(dm::schedule::record_dead_runs(db.connection(), 120s) == 2);
  CHECK(count(db, "SELECT count(*) FROM dm.schedule_runs WHERE status = 'failed' AND error LIKE '%ended before%'") == 1);
  CHECK(count(db, "SELECT count(*) FROM dm.schedule_runs WHERE status = 'failed' AND error LIKE '%stopped reporting%'") ==
        1);
  // Our own live run is left alone.
  dm::schedule::claim_manual(db.connection(), s.id, dm::util::now());
  CHECK(dm::schedule::record_dead_runs(db.connection(), 120s) == 0);
}

TEST_CASE("the reporting_schedule defaults are created once and follow the configuration", "[schedule][defaults]")
{
  TestDatabase db;
  dm::config::ReportingSchedule config; // daily, weekly, monthly set; hourly empty
  // Two daemons starting at once.
  std::vector<std::thread> starts;
  std::atomic<int> created{0};
  for (int i = 0; i < 2; ++i)
    starts.emplace_back([&] {
      auto conn = db.connect();
      created += dm::schedule::ensure_default_schedules(*conn, config).created;
    });
  for (auto& t : starts)
    t.join();
  CHECK(created.load() == 3);
  CHECK(db.scalar("SELECT string_agg(name || ':' || report_type || ':' || source, ',' ORDER BY name) FROM dm.schedules") ==
        "daily-business:business:config,monthly-learning:learning:config,weekly-engagement:engagement:config");
  CHECK(dm::schedule::ensure_default_schedules(db.connection(), config).created == 0);

  config.daily = "30 5 * * *";
  config.monthly = "";
  config.hourly = "@hourly";
  const auto r = dm::schedule::ensure_default_schedules(db.connection(), config);
  CHECK(r.created == 1);
  CHECK(r.updated == 1);
  CHECK(r.disabled == 1);
  CHECK(db.scalar("SELECT cron FROM dm.schedules WHERE name = 'daily-business'") == "30 5 * * *");
  CHECK(db.scalar("SELECT enabled FROM dm.schedules WHERE name = 'monthly-learning'") == "f");

  config.weekly = "0 7 * * NOPE";
  try {
    dm::schedule::ensure_default_schedules(db.connection(), config);
    FAIL("a bad expression was accepted");
  } catch (const dm::FieldError& e) {
    CHECK(std::string(e.what()).find("reporting_schedule.weekly") != std::string::npos);
  }
}

TEST_CASE("reports.export_dir gets each report's files and retention prunes only its own", "[schedule][runner][export]")
{
  TestDatabase db;
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("dm-export-test-{}", ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  dm::config::Config config;
  config.reports.export_dir = dir.string();
  auto spec = every_minute("exported");
  spec.keep = 1;
  const auto s = ScheduleStore(db.connection()).create(spec);
  dm::schedule::ExecuteOptions options;
  options.config = &config;
  auto run = [&] {
    return dm::schedule::execute(db.connection(), dm::schedule::claim_manual(db.connection(), s.id, dm::util::now()),
                                 options);
  };
  const auto first = run();
  REQUIRE(first.status == "succeeded");
  const auto id1 = first.report_ids.at(0);
  for (const char* format : {"json", "csv", "pdf"})
    CHECK(std::filesystem::is_regular_file(dir / fmt::format("dmanalytics-business-{}-v1.{}", id1, format)));
  // Files that are not exports of this database stay.
  std::ofstream(dir / "notes.txt") << "keep me";
  std::ofstream(dir / fmt::format("dmanalytics-business-{}-v1.pdf.bak", id1)) << "keep me";

  const auto second = run(); // keep = 1 deletes the first report
  REQUIRE(second.status == "succeeded");
  CHECK(dm::report::prune_exports(db.connection(), dir) == 3);
  CHECK(!std::filesystem::exists(dir / fmt::format("dmanalytics-business-{}-v1.pdf", id1)));
  CHECK(std::filesystem::exists(dir / fmt::format("dmanalytics-business-{}-v2.pdf", second.report_ids.at(0))));
  CHECK(std::filesystem::exists(dir / "notes.txt"));
  CHECK(std::filesystem::exists(dir / fmt::format("dmanalytics-business-{}-v1.pdf.bak", id1)));

  // A folder that cannot be written: the report and the run fail, naming it.
  config.reports.export_dir = (dir / "missing" / "deeper").string();
  const auto failed = run();
  CHECK(failed.status == "failed");
  CHECK(failed.error.find((dir / "missing" / "deeper").string()) != std::string::npos);
  CHECK(dm::report::ReportStore(db.connection()).get(failed.report_ids.at(0)).status == "failed");
  std::filesystem::remove_all(dir);
}
