#include "dm/schedule/store.hpp"

#include "dm/cron/parse_error.hpp"
#include "dm/cron/schedule.hpp"
#include "dm/report/calendar.hpp"
#include "dm/report/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

namespace dm::schedule {

namespace {

constexpr std::size_t max_name_length = 200;

/// Columns of a schedule row with its latest run, in the order from_row reads.
constexpr const char* select_schedules =
    "SELECT s.id, s.name, s.cron, s.tz, s.report_type, s.period, array_to_string(s.formats, ','), s.keep, "
    "array_to_string(s.notify, ','), s.catchup, s.source, s.enabled, "
    "(extract(epoch FROM s.next_run_at) * 1000000)::bigint, (extract(epoch FROM s.created_at) * 1000000)::bigint, "
    "(extract(epoch FROM r.fire_time) * 1000000)::bigint, coalesce(r.status, ''), "
    "(extract(epoch FROM s.last_success_at) * 1000000)::bigint, (extract(epoch FROM s.missed_since) * 1000000)::bigint "
    "FROM dm.schedules s LEFT JOIN LATERAL (SELECT fire_time, status FROM dm.schedule_runs "
    "WHERE schedule_id = s.id ORDER BY fire_time DESC LIMIT 1) r ON true ";

/// A timestamptz parameter from microseconds since the epoch, exactly.
constexpr const char* micros_to_timestamptz = "('epoch'::timestamptz + $1::bigint * interval '1 microsecond')";

std::vector<std::string> split_commas(const std::string& text)
{
  std::vector<std::string> out;
  if (text.empty())
    return out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    out.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos)
      return out;
    start = comma + 1;
  }
}

std::string join_commas(const std::vector<std::string>& items)
{
  std::string out;
  for (const auto& s : items)
    out += (out.empty() ? "" : ",") + s;
  return out;
}

std::optional<util::Micros> optional_micros(const pqxx::field& f)
{
  if (f.is_null())
    return std::nullopt;
  return f.as<util::Micros>();
}

StoredSchedule from_row(const pqxx::row& r, util::Micros now)
{
  StoredSchedule s;
  s.id = r[0].as<std::int64_t>();
  s.spec.name = r[1].as<std::string>();
  s.spec.cron = r[2].as<std::string>();
  s.spec.tz = r[3].as<std::string>();
  s.spec.report_type = r[4].as<std::string>();
  s.spec.period = r[5].as<std::string>();
  s.spec.formats = split_commas(r[6].as<std::string>());
  if (!r[7].is_null())
    s.spec.keep = r[7].as<int>();
  s.spec.notify = split_commas(r[8].as<std::string>());
  s.spec.catchup = r[9].as<std::string>();
  s.spec.source = r[10].as<std::string>();
  s.enabled = r[11].as<bool>();
  s.next_run_at = optional_micros(r[12]);
  s.created_at = r[13].as<util::Micros>();
  s.last_run_at = optional_micros(r[14]);
  s.last_status = r[15].as<std::string>();
  s.last_success_at = optional_micros(r[16]);
  s.missed_since = optional_micros(r[17]);
  if (!s.next_run_at) {
    // A row the store has checked always parses; one edited by hand into an
    // expression this build refuses keeps an empty next run instead of
    // failing the whole list.
    try {
      s.next_run_at = next_fire_time(s.spec.cron, s.spec.tz, now);
    } catch (const UsageError&) {
    }
  }
  return s;
}

bool is_atext(char c) noexcept
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return std::string_view("!#$%&'*+/=?^_`{|}~-").find(c) != std::string_view::npos;
}

bool is_valid_local_part(std::string_view local) noexcept
{
  if (local.empty() || local.size() > 64 || local.front() == '.' || local.back() == '.')
    return false;
  for (std::size_t i = 0; i < local.size(); ++i) {
    if (local[i] == '.') {
      if (local[i + 1] == '.')
        return false;
    } else if (!is_atext(local[i])) {
      return false;
    }
  }
  return true;
}

bool is_valid_domain(std::string_view domain) noexcept
{
  if (domain.empty() || domain.size() > 253)
    return false;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = domain.find('.', start);
    const std::string_view label = domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (const char c : label)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
        return false;
    if (dot == std::string_view::npos)
      return true;
    start = dot + 1;
  }
}

/// Maps a unique violation on the name to dm::Conflict.
[[noreturn]] void rethrow_insert_error(const pqxx::unique_violation& e, const std::string& name)
{
  if (std::string_view(e.what()).find("schedules_name_key") != std::string_view::npos)
    throw Conflict(fmt::format("name '{}': a schedule with this name exists", name));
  throw;
}

} // namespace

bool is_valid_address(std::string_view address) noexcept
{
  if (address.size() > 254)
    return false;
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos)
    return false;
  return is_valid_local_part(address.substr(0, at)) && is_valid_domain(address.substr(at + 1));
}

util::Micros next_fire_time(const std::string& cron, const std::string& tz, util::Micros after)
{
  try {
    report::check_zone(tz);
  } catch (const UsageError& e) {
    throw FieldError("tz", fmt::format("tz '{}': {}", tz, e.what()));
  }
  std::optional<util::Micros> next;
  try {
    next = cron::Schedule(cron, tz).next_fire_after(after);
  } catch (const cron::ParseError& e) {
    throw FieldError("cron", fmt::format("cron '{}': {}", cron, e.what()));
  }
  if (!next)
    throw FieldError("cron", fmt::format("cron '{}': no fire time before the year 10000", cron));
  return *next;
}

void validate(const ScheduleSpec& spec)
{
  if (spec.name.empty())
    throw FieldError("name", "name '': a schedule needs a name");
  if (spec.name.size() > max_name_length)
    throw FieldError("name", fmt::format("name '{}…': longer than {} bytes", spec.name.substr(0, 40), max_name_length));
  if (std::any_of(spec.name.begin(), spec.name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    throw FieldError("name", fmt::format("name '{}': control characters are not allowed", spec.name));
  next_fire_time(spec.cron, spec.tz, util::now());
  if (!report::report_type_from_name(spec.report_type))
    throw FieldError("report_type", fmt::format("report_type '{}': expected performance, engagement, learning or business",
                                                  spec.report_type));
  try {
    report::resolve_period(spec.period, std::nullopt, std::nullopt, spec.tz, util::now());
  } catch (const UsageError& e) {
    std::string_view why(e.what());
    if (why.substr(0, 10) == "--period: ")
      why.remove_prefix(10);
    throw FieldError("period", fmt::format("period '{}': {}", spec.period, why));
  }
  if (spec.formats.empty())
    throw FieldError("formats", "formats '': expected one or more of json, csv, pdf");
  for (const auto& f : spec.formats)
    if (f != "json" && f != "csv" && f != "pdf")
      throw FieldError("formats", fmt::format("formats '{}': expected json, csv or pdf", f));
  for (std::size_t i = 0; i < spec.formats.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (spec.formats[i] == spec.formats[j])
        throw FieldError("formats", fmt::format("formats '{}': listed twice", spec.formats[i]));
  if (spec.keep && *spec.keep < 1)
    throw FieldError("keep", fmt::format("keep '{}': expected a number of reports >= 1", *spec.keep));
  for (const auto& a : spec.notify)
    if (!is_valid_address(a))
      throw FieldError("notify", fmt::format("notify '{}': not an e-mail address (expected local@domain)", a));
  if (spec.catchup != "none" && spec.catchup != "last")
    throw FieldError("catchup", fmt::format("catchup '{}': expected none or last", spec.catchup));
  if (spec.source != "user" && spec.source != "config")
    throw FieldError("source", fmt::format("source '{}': expected user or config", spec.source));
}

StoredSchedule ScheduleStore::create(const ScheduleSpec& spec, util::Micros now)
{
  validate(spec);
  const util::Micros next = next_fire_time(spec.cron, spec.tz, now);
  std::int64_t id = 0;
  try {
    pqxx::work txn{conn_};
    id = txn.exec_params1(
                fmt::format("INSERT INTO dm.schedules (name, cron, tz, report_type, period, formats, keep, notify, "
                            "catchup, source, enabled, next_run_at) "
                            "VALUES ($2, $3, $4, $5, $6, string_to_array($7, ','), $8, string_to_array($9, ','), $10, "
                            "$11, true, {}) RETURNING id",
                            micros_to_timestamptz),
                next, spec.name, spec.cron, spec.tz, spec.report_type, spec.period, join_commas(spec.formats), spec.keep,
                join_commas(spec.notify), spec.catchup, spec.source)[0]
             .as<std::int64_t>();
    txn.commit();
  } catch (const pqxx::unique_violation& e) {
    rethrow_insert_error(e, spec.name);
  }
  return get(id, now);
}

std::vector<StoredSchedule> ScheduleStore::list(util::Micros now)
{
  pqxx::read_transaction txn{conn_};
  std::vector<StoredSchedule> out;
  for (const auto& r : txn.exec(std::string(select_schedules) + "ORDER BY s.id"))
    out.push_back(from_row(r, now));
  return out;
}

StoredSchedule ScheduleStore::get(std::int64_t id, util::Micros now)
{
  pqxx::read_transaction txn{conn_};
  const auto rows = txn.exec_params(std::string(select_schedules) + "WHERE s.id = $1", id);
  if (rows.empty())
    throw NotFound(fmt::format("no schedule with id {}", id));
  return from_row(rows[0], now);
}

void ScheduleStore::remove(std::int64_t id)
{
  pqxx::work txn{conn_};
  if (txn.exec_params("DELETE FROM dm.schedules WHERE id = $1", id).affected_rows() == 0)
    throw NotFound(fmt::format("no schedule with id {}", id));
  txn.commit();
}

StoredSchedule ScheduleStore::set_enabled(std::int64_t id, bool enabled, util::Micros now)
{
  {
    pqxx::work txn{conn_};
    const auto rows = txn.exec_params("SELECT cron, tz FROM dm.schedules WHERE id = $1 FOR UPDATE", id);
    if (rows.empty())
      throw NotFound(fmt::format("no schedule with id {}", id));
    if (enabled) {
      const util::Micros next = next_fire_time(rows[0][0].as<std::string>(), rows[0][1].as<std::string>(), now);
      // enabled_at moves only when the schedule was off: enabling an enabled
      // schedule again does not put off its schedule_missed condition.
      txn.exec_params(fmt::format("UPDATE dm.schedules SET enabled_at = CASE WHEN enabled THEN enabled_at ELSE {} END, "
                                  "enabled = true, next_run_at = {} WHERE id = $2",
                                  "('epoch'::timestamptz + $3::bigint * interval '1 microsecond')", micros_to_timestamptz),
                      next, id, now);
    } else {
      txn.exec_params("UPDATE dm.schedules SET enabled = false, next_run_at = NULL WHERE id = $1", id);
    }
    txn.commit();
  }
  return get(id, now);
}

} // namespace dm::schedule
