#include "dm/schedule/runner.hpp"

#include "dm/cron/schedule.hpp"
#include "dm/mail/smtp.hpp"
#include "dm/render/pdf_format.hpp"
#include "dm/report/calendar.hpp"
#include "dm/report/runner.hpp"
#include "dm/report/store.hpp"
#include "dm/util/error.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>
#include <unistd.h>

namespace dm::schedule {

namespace {

/// A timestamptz parameter ($N) from microseconds since the epoch, exactly.
std::string ts_param(int n)
{
  return fmt::format("('epoch'::timestamptz + ${}::bigint * interval '1 microsecond')", n);
}

/// A timestamptz column as microseconds since the epoch.
std::string micros_of(std::string_view column)
{
  return fmt::format("(extract(epoch FROM {}) * 1000000)::bigint", column);
}

std::optional<util::Micros> optional_micros(const pqxx::field& f)
{
  if (f.is_null())
    return std::nullopt;
  return f.as<util::Micros>();
}

std::string run_columns()
{
  return fmt::format("id, schedule_id, {}, {}, {}, status, trigger, skipped, coalesce(error, ''), "
                     "array_to_string(report_ids, ','), coalesce(delivery_status, ''), coalesce(delivery_error, ''), "
                     "attempts, coalesce(runner, '')",
                     micros_of("fire_time"), micros_of("started_at"), micros_of("finished_at"));
}

RunRecord run_from_row(const pqxx::row& r)
{
  RunRecord run;
  run.id = r[0].as<std::int64_t>();
  run.schedule_id = r[1].as<std::int64_t>();
  run.fire_time = r[2].as<util::Micros>();
  run.started_at = optional_micros(r[3]);
  run.finished_at = optional_micros(r[4]);
  run.status = r[5].as<std::string>();
  run.trigger = r[6].as<std::string>();
  run.skipped = r[7].as<int>();
  run.error = r[8].as<std::string>();
  const std::string ids = r[9].as<std::string>();
  for (std::size_t start = 0; start < ids.size();) {
    const std::size_t comma = ids.find(',', start);
    run.report_ids.push_back(std::stoll(ids.substr(start, comma - start)));
    start = comma == std::string::npos ? ids.size() : comma + 1;
  }
  run.delivery_status = r[10].as<std::string>();
  run.delivery_error = r[11].as<std::string>();
  run.attempts = r[12].as<int>();
  run.runner = r[13].as<std::string>();
  return run;
}

std::string ids_text(const std::vector<std::int64_t>& ids)
{
  std::string out = "{";
  for (const auto id : ids)
    out += (out.size() > 1 ? "," : "") + std::to_string(id);
  return out + "}";
}

/// Inserts a run row; returns its id, or nothing when the schedule already
/// runs or this fire time has a row (another daemon took it).
std::optional<std::int64_t> insert_run(pqxx::work& txn, std::int64_t schedule_id, util::Micros fire_time,
                                       std::string_view status, std::string_view trigger, int skipped,
                                       const std::string& error)
{
  const bool running = status == "running";
  const auto rows = txn.exec_params(
      fmt::format("INSERT INTO dm.schedule_runs (schedule_id, fire_time, started_at, finished_at, status, trigger, "
                  "skipped, error, runner, heartbeat_at) "
                  "VALUES ($1, {}, now(), CASE WHEN $3 = 'running' THEN NULL ELSE now() END, $3, $4, $5, "
                  "nullif($6, ''), CASE WHEN $3 = 'running' THEN $7 END, CASE WHEN $3 = 'running' THEN now() END) "
                  "ON CONFLICT DO NOTHING RETURNING id",
                  ts_param(2)),
      schedule_id, fire_time, std::string(status), std::string(trigger), skipped, error,
      running ? this_runner() : std::string());
  if (rows.empty())
    return std::nullopt;
  return rows[0][0].as<std::int64_t>();
}

/// The period a schedule's report covers when it fires at `fire_time`.
report::Period period_at(const ScheduleSpec& spec, util::Micros fire_time)
{
  return report::resolve_period(spec.period, std::nullopt, std::nullopt, spec.tz, fire_time);
}

std::string_view content_type_of(std::string_view format)
{
  if (format == "pdf")
    return "application/pdf";
  if (format == "csv")
    return "text/csv; charset=utf-8";
  return "application/json";
}

/// The e-mail of a successful run: the KPIs in the text, the artifacts attached.
mail::Message report_mail(const config::Config& config, const ClaimedRun& run, const report::RunOutput& out)
{
  const auto& spec = run.schedule.spec;
  const auto& r = out.report;
  mail::Message m;
  m.from = config.smtp.from;
  m.to = spec.notify;
  const std::string from_local = report::format_local(r.period.from, r.period.tz);
  const std::string to_local = report::format_local(r.period.to, r.period.tz);
  m.subject = fmt::format("DriveMaster {} report: {} ({} to {})", report::name_of(r.type), spec.name,
                          from_local.substr(0, 10), to_local.substr(0, 10));
  std::string text = fmt::format("Schedule '{}' ({} in {}) generated report {} version {}.\n", spec.name, spec.cron,
                                 spec.tz, r.id, r.version);
  text += fmt::format("Period: {} to {} ({}).\n\n", from_local, to_local, spec.period);
  for (const auto& k : r.kpis) {
    text += fmt::format("{}: {}", k.label.empty() ? k.name : k.label, render::pdf::format_cell(k.value, k.type, 2));
    if (k.has_comparison)
      text += fmt::format(" (previous {}, {})", render::pdf::format_cell(k.previous, k.type, 2), report::name_of(k.trend));
    text += '\n';
  }
  text += "\nAttached: ";
  for (std::size_t i = 0; i < spec.formats.size(); ++i)
    text += (i ? ", " : "") + spec.formats[i];
  text += ".\n";
  m.text = std::move(text);
  for (const auto& format : spec.formats) {
    const auto it = out.artifacts.find(format);
    if (it == out.artifacts.end())
      continue;
    m.attachments.push_back(mail::Attachment{
        .filename = fmt::format("dmanalytics-{}-{}-v{}.{}", report::name_of(r.type), r.id, r.version, format),
        .content_type = std::string(content_type_of(format)),
        .data = it->second});
  }
  return m;
}

/// Deletes the schedule's finished reports beyond its newest `keep`
/// (every schedule with a keep when `schedule_id` is 0).
std::int64_t apply_keep(pqxx::connection_base& conn, std::int64_t schedule_id)
{
  pqxx::work txn{conn};
  const auto n = txn.exec_params(
                        "DELETE FROM dm.reports WHERE id IN (SELECT id FROM (SELECT r.id, s.keep, "
                        "row_number() OVER (PARTITION BY r.schedule_id ORDER BY r.id DESC) AS n "
                        "FROM dm.reports r JOIN dm.schedules s ON s.id = r.schedule_id "
                        "WHERE s.keep IS NOT NULL AND r.status <> 'running' AND ($1 = 0 OR s.id = $1)) x "
                        "WHERE n > keep)",
                        schedule_id)
                     .affected_rows();
  txn.commit();
  return static_cast<std::int64_t>(n);
}

struct Delivery {
  std::string status = "none";
  std::string error;
  int attempts = 0;
};

Delivery deliver(pqxx::connection_base& conn, const ClaimedRun& run, const report::RunOutput& out,
                 const ExecuteOptions& options)
{
  Delivery d;
  const auto& notify = run.schedule.spec.notify;
  if (notify.empty())
    return d;
  d.status = "failed";
  const config::Config& config = *options.config;
  if (config.smtp.url.empty()) {
    d.error = fmt::format("e-mail to {} not sent: no [smtp] url is configured", fmt::join(notify, ", "));
    return d;
  }
  mail::SmtpSettings settings;
  mail::Message message;
  try {
    settings = mail::settings_from_config(config.smtp);
    message = report_mail(config, run, out);
  } catch (const std::exception& e) {
    d.error = fmt::format("e-mail to {} not sent: {}", fmt::join(notify, ", "), full_message(e));
    return d;
  }
  const int attempts = std::max(1, options.delivery_attempts);
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    d.attempts = attempt;
    try {
      mail::send(settings, message);
      d.status = "sent";
      d.error.clear();
      break;
    } catch (const UsageError& e) {
      d.error = full_message(e); // the message itself is wrong: no retry helps
      break;
    } catch (const std::exception& e) {
      d.error = full_message(e);
    }
    {
      pqxx::work txn{conn};
      txn.exec_params("UPDATE dm.schedule_runs SET delivery_status = 'pending', attempts = $2, delivery_error = $3, "
                      "heartbeat_at = now() WHERE id = $1",
                      run.run_id, attempt, d.error);
      txn.commit();
    }
    if (attempt == attempts)
      break;
    const auto& backoff = options.delivery_backoff;
    const auto wait = backoff.empty() ? std::chrono::milliseconds(0)
                                      : backoff[std::min(static_cast<std::size_t>(attempt - 1), backoff.size() - 1)];
    spdlog::warn("schedule '{}' run {}: delivery attempt {} of {} failed ({}); retrying in {} ms",
                 run.schedule.spec.name, run.run_id, attempt, attempts, d.error, wait.count());
    if (!options.wait(wait)) {
      d.error += "; the daemon stopped before the next attempt";
      break;
    }
  }
  return d;
}

} // namespace

std::string this_runner()
{
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return fmt::format("{}:{}", host, getpid());
}

std::vector<ClaimedRun> claim_due(pqxx::connection_base& conn, util::Micros now, std::chrono::milliseconds grace,
                                  int limit)
{
  const util::Micros grace_us = std::chrono::duration_cast<std::chrono::microseconds>(grace).count();
  std::vector<std::pair<ClaimedRun, std::int64_t>> claimed;
  {
    pqxx::work txn{conn};
    const auto due = txn.exec_params(
        fmt::format("SELECT s.id, s.cron, s.tz, s.catchup, {} FROM dm.schedules s "
                    "WHERE s.enabled AND s.next_run_at <= {} AND NOT EXISTS (SELECT 1 FROM dm.schedule_runs r "
                    "WHERE r.schedule_id = s.id AND r.status = 'running') "
                    "ORDER BY s.next_run_at LIMIT $2 FOR UPDATE OF s SKIP LOCKED",
                    micros_of("s.next_run_at"), ts_param(1)),
        now, limit);
    for (const auto& row : due) {
      const std::int64_t id = row[0].as<std::int64_t>();
      const std::string cron_text = row[1].as<std::string>();
      const std::string tz = row[2].as<std::string>();
      const std::string catchup = row[3].as<std::string>();
      const util::Micros first = row[4].as<util::Micros>();
      std::optional<util::Micros> next;
      util::Micros latest = first;
      int due_count = 1;
      try {
        const cron::Schedule cron(cron_text, tz);
        // Every fire time up to now: the latest runs, the others are caught
        // up or recorded as missed.
        next = cron.next_fire_after(first);
        while (next && *next <= now) {
          latest = *next;
          ++due_count;
          next = cron.next_fire_after(latest);
        }
      } catch (const std::exception& e) {
        // An expression this build refuses (edited by hand): disabled, said once.
        spdlog::error("schedule {}: cron '{}' in {} cannot be evaluated ({}); disabling it", id, cron_text, tz,
                      full_message(e));
        txn.exec_params("UPDATE dm.schedules SET enabled = false, next_run_at = NULL WHERE id = $1", id);
        insert_run(txn, id, first, "failed", "cron", 0,
                   fmt::format("cron '{}' in {} cannot be evaluated: {}; the schedule was disabled", cron_text, tz,
                               full_message(e)));
        continue;
      }
      if (next)
        txn.exec_params(fmt::format("UPDATE dm.schedules SET next_run_at = {} WHERE id = $2", ts_param(1)), *next, id);
      else
        txn.exec_params("UPDATE dm.schedules SET enabled = false, next_run_at = NULL WHERE id = $1", id);

      const bool latest_on_time = now - latest <= grace_us;
      ClaimedRun run;
      run.fire_time = latest;
      if (due_count == 1 && latest_on_time) {
        run.trigger = "cron";
      } else if (catchup == "last") {
        run.trigger = "catchup";
        run.skipped = due_count - 1;
      } else {
        // catchup = none: the late fire times are recorded as one missed row;
        // a fire time within the grace still runs.
        const int late = latest_on_time ? due_count - 1 : due_count;
        util::Micros last_late = latest;
        if (latest_on_time) {
          // The fire time before `latest`: walk again from `first`.
          const cron::Schedule cron(cron_text, tz);
          last_late = first;
          for (auto t = cron.next_fire_after(first); t && *t < latest; t = cron.next_fire_after(*t))
            last_late = *t;
        }
        insert_run(txn, id, last_late, "missed", "cron", late,
                   fmt::format("{} fire time(s) from {} to {} passed while no daemon could run the schedule; "
                               "catchup = none",
                               late, util::format_rfc3339_utc(first), util::format_rfc3339_utc(last_late)));
        if (!latest_on_time)
          continue;
        run.trigger = "cron";
      }
      const auto run_id = insert_run(txn, id, run.fire_time, "running", run.trigger, run.skipped, "");
      if (!run_id)
        continue;
      run.run_id = *run_id;
      claimed.emplace_back(std::move(run), id);
    }
    txn.commit();
  }
  std::vector<ClaimedRun> out;
  ScheduleStore store(conn);
  for (auto& [run, id] : claimed) {
    run.schedule = store.get(id);
    out.push_back(std::move(run));
  }
  return out;
}

ClaimedRun claim_manual(pqxx::connection_base& conn, std::int64_t id, util::Micros now)
{
  ClaimedRun run;
  run.schedule = ScheduleStore(conn).get(id); // NotFound
  run.trigger = "manual";
  run.fire_time = now;
  pqxx::work txn{conn};
  txn.exec_params("SELECT 1 FROM dm.schedules WHERE id = $1 FOR UPDATE", id);
  const auto running = txn.exec_params(fmt::format("SELECT id, {} FROM dm.schedule_runs WHERE schedule_id = $1 AND "
                                                   "status = 'running'",
                                                   micros_of("started_at")),
                                       id);
  if (!running.empty())
    throw Conflict(fmt::format("schedule {} '{}' is running (run {} started {}); it never runs twice at once", id,
                               run.schedule.spec.name, running[0][0].as<std::int64_t>(),
                               util::format_rfc3339_utc(running[0][1].as<util::Micros>())));
  const auto run_id = insert_run(txn, id, now, "running", "manual", 0, "");
  if (!run_id)
    throw Conflict(fmt::format("schedule {} '{}' has a run at {} already", id, run.schedule.spec.name,
                               util::format_rfc3339_utc(now)));
  txn.commit();
  run.run_id = *run_id;
  return run;
}

RunRecord execute(pqxx::connection_base& conn, const ClaimedRun& run, const ExecuteOptions& options)
{
  const config::Config& config = *options.config;
  const auto& spec = run.schedule.spec;
  std::string status = "succeeded";
  std::string error;
  std::vector<std::int64_t> report_ids;
  report::RunOutput out;
  try {
    if (options.before_generate)
      options.before_generate(run);
    const auto type = report::report_type_from_name(spec.report_type);
    if (!type)
      throw UsageError(fmt::format("report_type '{}' is unknown", spec.report_type));
    const auto request = report::request_from_config(config, *type, period_at(spec, run.fire_time), false);
    const std::vector<std::pair<std::string, std::string>> params{
        {"exact", "false"}, {"period", spec.period}, {"schedule", spec.name}};
    const auto [report_id, version] = report::begin_report(conn, request, params);
    report_ids.push_back(report_id);
    {
      pqxx::work txn{conn};
      txn.exec_params("UPDATE dm.reports SET schedule_id = $2 WHERE id = $1", report_id, run.schedule.id);
      txn.exec_params(fmt::format("UPDATE dm.schedule_runs SET report_ids = $2::bigint[], heartbeat_at = now() "
                                  "WHERE id = $1"),
                      run.run_id, ids_text(report_ids));
      txn.commit();
    }
    const auto started = std::chrono::steady_clock::now();
    out = report::finish_report(conn, report_id, version, request, params, 0);
    if (options.on_report)
      options.on_report(spec.report_type,
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (spec.keep)
      if (const auto removed = apply_keep(conn, run.schedule.id); removed > 0)
        spdlog::info("schedule '{}': removed {} report(s) beyond its newest {}", spec.name, removed, *spec.keep);
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const std::exception& e) {
    status = "failed";
    error = report_ids.empty() ? full_message(e)
                               : fmt::format("report {} failed: {}", report_ids.front(), full_message(e));
  }

  Delivery delivery;
  if (status == "succeeded") {
    delivery = deliver(conn, run, out, options);
    if (delivery.status == "failed") {
      status = "failed";
      error = delivery.attempts > 1
                  ? fmt::format("e-mail delivery failed after {} attempts: {}", delivery.attempts, delivery.error)
                  : fmt::format("e-mail delivery failed: {}", delivery.error);
    }
  }

  pqxx::work txn{conn};
  txn.exec_params("UPDATE dm.schedule_runs SET status = $2, finished_at = now(), error = nullif($3, ''), "
                  "report_ids = $4::bigint[], delivery_status = $5, delivery_error = nullif($6, ''), attempts = $7, "
                  "heartbeat_at = now() WHERE id = $1",
                  run.run_id, status, error, ids_text(report_ids), delivery.status, delivery.error, delivery.attempts);
  if (status == "succeeded")
    txn.exec_params("UPDATE dm.schedules SET last_success_at = now(), missed_since = NULL, last_run_at = now() "
                    "WHERE id = $1",
                    run.schedule.id);
  else
    txn.exec_params("UPDATE dm.schedules SET last_run_at = now() WHERE id = $1", run.schedule.id);
  txn.commit();
  if (status == "succeeded")
    spdlog::info("schedule '{}' run {} ({}, fire time {}): report {} succeeded{}", spec.name, run.run_id, run.trigger,
                 util::format_rfc3339_utc(run.fire_time), report_ids.empty() ? 0 : report_ids.front(),
                 delivery.status == "sent" ? fmt::format(", e-mailed to {}", fmt::join(spec.notify, ", ")) : "");
  else
    spdlog::error("schedule '{}' run {} ({}, fire time {}) failed: {}", spec.name, run.run_id, run.trigger,
                  util::format_rfc3339_utc(run.fire_time), error);
  try {
    return get_run(conn, run.run_id);
  } catch (const NotFound&) {
    // The schedule was deleted during the run, and its runs with it.
    RunRecord gone;
    gone.id = run.run_id;
    gone.schedule_id = run.schedule.id;
    gone.fire_time = run.fire_time;
    gone.status = status;
    gone.trigger = run.trigger;
    gone.error = error;
    gone.report_ids = report_ids;
    gone.delivery_status = delivery.status;
    gone.delivery_error = delivery.error;
    gone.attempts = delivery.attempts;
    return gone;
  }
}

void heartbeat(pqxx::connection_base& conn, const std::vector<std::int64_t>& run_ids)
{
  if (run_ids.empty())
    return;
  pqxx::work txn{conn};
  txn.exec_params("UPDATE dm.schedule_runs SET heartbeat_at = now() WHERE id = ANY($1::bigint[]) AND "
                  "status = 'running'",
                  ids_text(run_ids));
  txn.commit();
}

std::int64_t record_dead_runs(pqxx::connection_base& conn, std::chrono::seconds stale_after)
{
  const std::string me = this_runner();
  const std::string host = me.substr(0, me.rfind(':'));
  std::vector<std::pair<std::int64_t, std::string>> dead;
  {
    pqxx::read_transaction txn{conn};
    const auto rows = txn.exec_params(
        "SELECT id, coalesce(runner, ''), heartbeat_at < now() - make_interval(secs => $1) FROM dm.schedule_runs "
        "WHERE status = 'running'",
        static_cast<double>(stale_after.count()));
    for (const auto& r : rows) {
      const std::string runner = r[1].as<std::string>();
      const bool stale = !r[2].is_null() && r[2].as<bool>();
      const auto colon = runner.rfind(':');
      if (colon != std::string::npos && runner.substr(0, colon) == host) {
        const long pid = std::strtol(runner.c_str() + colon + 1, nullptr, 10);
        if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
          dead.emplace_back(r[0].as<std::int64_t>(),
                            fmt::format("the process running it ({}) ended before the run finished", runner));
          continue;
        }
      }
      if (stale)
        dead.emplace_back(r[0].as<std::int64_t>(),
                          fmt::format("the process running it ({}) stopped reporting for {} s; it is taken as dead",
                                      runner.empty() ? "unknown" : runner, stale_after.count()));
    }
  }
  for (const auto& [id, why] : dead) {
    pqxx::work txn{conn};
    const auto n = txn.exec_params("UPDATE dm.schedule_runs SET status = 'failed', finished_at = now(), error = $2 "
                                   "WHERE id = $1 AND status = 'running'",
                                   id, why)
                       .affected_rows();
    txn.commit();
    if (n > 0)
      spdlog::warn("schedule run {} recorded as failed: {}", id, why);
  }
  return static_cast<std::int64_t>(dead.size());
}

std::vector<MissedSchedule> update_missed(pqxx::connection_base& conn, util::Micros now)
{
  struct Row {
    std::int64_t id;
    std::string name, cron, tz;
    util::Micros reference;
    std::optional<util::Micros> last_success, missed_since;
    bool running;
  };
  std::vector<Row> rows;
  {
    pqxx::read_transaction txn{conn};
    for (const auto& r : txn.exec(fmt::format(
             "SELECT s.id, s.name, s.cron, s.tz, {}, {}, {}, EXISTS (SELECT 1 FROM dm.schedule_runs r "
             "WHERE r.schedule_id = s.id AND r.status = 'running') FROM dm.schedules s WHERE s.enabled",
             micros_of("greatest(s.created_at, s.last_success_at, s.enabled_at)"), micros_of("s.last_success_at"),
             micros_of("s.missed_since"))))
      rows.push_back(Row{r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                         r[3].as<std::string>(), r[4].as<util::Micros>(), optional_micros(r[5]), optional_micros(r[6]),
                         r[7].as<bool>()});
  }
  std::vector<MissedSchedule> entered;
  for (const auto& row : rows) {
    std::optional<util::Micros> since;
    try {
      const cron::Schedule cron(row.cron, row.tz);
      // Two fire times after the last success (or the creation, or being
      // enabled again) have passed,
      // with a minute for the second one's run to begin, and none runs now.
      const auto f1 = cron.next_fire_after(row.reference);
      const auto f2 = f1 ? cron.next_fire_after(*f1) : std::nullopt;
      if (f2 && now > *f2 + 60 * util::micros_per_second && !row.running)
        since = *f2;
    } catch (const std::exception&) {
      continue;
    }
    if (since && !row.missed_since) {
      pqxx::work txn{conn};
      txn.exec_params(fmt::format("UPDATE dm.schedules SET missed_since = {} WHERE id = $2 AND missed_since IS NULL",
                                  ts_param(1)),
                      *since, row.id);
      txn.commit();
      entered.push_back(MissedSchedule{row.id, row.name, *since, row.last_success});
    } else if (!since && row.missed_since && !row.running) {
      pqxx::work txn{conn};
      txn.exec_params("UPDATE dm.schedules SET missed_since = NULL WHERE id = $1", row.id);
      txn.commit();
    }
  }
  return entered;
}

std::vector<MissedSchedule> missed_schedules(pqxx::connection_base& conn)
{
  pqxx::read_transaction txn{conn};
  std::vector<MissedSchedule> out;
  for (const auto& r : txn.exec(fmt::format("SELECT id, name, {}, {} FROM dm.schedules WHERE enabled AND "
                                            "missed_since IS NOT NULL ORDER BY id",
                                            micros_of("missed_since"), micros_of("last_success_at"))))
    out.push_back(MissedSchedule{r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<util::Micros>(),
                                 optional_micros(r[3])});
  return out;
}

std::vector<std::pair<std::string, util::Micros>> last_successes(pqxx::connection_base& conn)
{
  pqxx::read_transaction txn{conn};
  std::vector<std::pair<std::string, util::Micros>> out;
  for (const auto& r : txn.exec(fmt::format("SELECT name, {} FROM dm.schedules WHERE last_success_at IS NOT NULL "
                                            "ORDER BY name",
                                            micros_of("last_success_at"))))
    out.emplace_back(r[0].as<std::string>(), r[1].as<util::Micros>());
  return out;
}

std::int64_t apply_retention(pqxx::connection_base& conn, int keep_days)
{
  std::int64_t removed = apply_keep(conn, 0);
  removed += report::ReportStore(conn).apply_retention(keep_days);
  return removed;
}

std::vector<RunRecord> runs_of(pqxx::connection_base& conn, std::int64_t schedule_id, int limit)
{
  pqxx::read_transaction txn{conn};
  std::vector<RunRecord> out;
  for (const auto& r : txn.exec_params("SELECT " + run_columns() +
                                           " FROM dm.schedule_runs WHERE schedule_id = $1 ORDER BY fire_time DESC, "
                                           "id DESC LIMIT $2",
                                       schedule_id, limit))
    out.push_back(run_from_row(r));
  return out;
}

RunRecord get_run(pqxx::connection_base& conn, std::int64_t run_id)
{
  pqxx::read_transaction txn{conn};
  const auto rows = txn.exec_params("SELECT " + run_columns() + " FROM dm.schedule_runs WHERE id = $1", run_id);
  if (rows.empty())
    throw NotFound(fmt::format("no schedule run with id {}", run_id));
  return run_from_row(rows[0]);
}

} // namespace dm::schedule
