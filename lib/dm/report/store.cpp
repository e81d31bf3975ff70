#include "dm/report/store.hpp"

#include "dm/render/json_renderer.hpp"
#include "dm/util/error.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <openssl/sha.h>

#include <cerrno>
#include <csignal>
#include <unistd.h>

namespace dm::report {

namespace {

constexpr const char* columns =
    "r.id, r.type, r.version, r.status, r.params::text, to_char(r.period_from AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), to_char(r.period_to AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "r.tz, coalesce(r.source, ''), to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "coalesce(to_char(r.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), "
    "coalesce(r.error, ''), coalesce(r.kpis::text, '{}')";

StoredReport from_row(const pqxx::row& r)
{
  StoredReport s;
  s.id = r[0].as<std::int64_t>();
  s.type = r[1].as<std::string>();
  s.version = r[2].as<int>();
  s.status = r[3].as<std::string>();
  s.params = r[4].as<std::string>();
  s.period_from = r[5].as<std::string>();
  s.period_to = r[6].as<std::string>();
  s.tz = r[7].as<std::string>();
  s.source = r[8].as<std::string>();
  s.started_at = r[9].as<std::string>();
  s.finished_at = r[10].as<std::string>();
  s.error = r[11].as<std::string>();
  s.kpis = r[12].as<std::string>();
  return s;
}

/// "host:pid" of this process.
std::string this_runner()
{
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return fmt::format("{}:{}", host, getpid());
}

} // namespace

std::int64_t ReportStore::record_crashed_runs()
{
  const std::string me = this_runner();
  const std::string host = me.substr(0, me.rfind(':'));
  std::vector<std::pair<std::int64_t, long>> dead;
  {
    pqxx::read_transaction txn{conn_};
    for (const auto& r : txn.exec("SELECT id, runner FROM dm.reports WHERE status = 'running' AND runner IS NOT NULL")) {
      const std::string runner = r[1].as<std::string>();
      const auto colon = runner.rfind(':');
      if (colon == std::string::npos || runner.substr(0, colon) != host)
        continue; // another machine's run: only that machine can tell
      const long pid = std::strtol(runner.c_str() + colon + 1, nullptr, 10);
      if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
        dead.emplace_back(r[0].as<std::int64_t>(), pid);
    }
  }
  for (const auto& [id, pid] : dead) {
    pqxx::work txn{conn_};
    txn.exec_params("UPDATE dm.reports SET status = 'failed', finished_at = now(), error = $2 "
                    "WHERE id = $1 AND status = 'running'",
                    id, fmt::format("the generating process (pid {}) ended before the report was finished", pid));
    txn.exec_params("DELETE FROM dm.report_artifacts WHERE report_id = $1", id);
    txn.commit();
  }
  return static_cast<std::int64_t>(dead.size());
}

std::string sha256_hex(const std::string& bytes)
{
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  std::string hex;
  for (unsigned char c : digest)
    hex += fmt::format("{:02x}", c);
  return hex;
}

std::pair<std::int64_t, int> ReportStore::begin(ReportType type, const Period& period, const std::string& params_json)
{
  record_crashed_runs();
  const std::string key = fmt::format("{}|{}|{}|{}|{}", name_of(type), util::format_rfc3339_utc(period.from),
                                      util::format_rfc3339_utc(period.to), period.tz, params_json);
  pqxx::work txn{conn_};
  // Concurrent generations of the same report take versions one after the other.
  txn.exec_params("SELECT pg_advisory_xact_lock(hashtext($1))", key);
  const auto r = txn.exec_params1(
      "INSERT INTO dm.reports (type, params, params_key, period_from, period_to, tz, version, status, runner)"
      " SELECT $1, $2::jsonb, $3, $4, $5, $6, coalesce(max(version), 0) + 1, 'running', $7"
      " FROM dm.reports WHERE params_key = $3 RETURNING id, version",
      std::string(name_of(type)), params_json, key, util::format_rfc3339_utc(period.from),
      util::format_rfc3339_utc(period.to), period.tz, this_runner());
  txn.commit();
  return {r[0].as<std::int64_t>(), r[1].as<int>()};
}

void ReportStore::succeed(std::int64_t id, const Report& report, const std::map<std::string, std::string>& artifacts)
{
  const boost::json::value doc = boost::json::parse(render::render_json(report));
  pqxx::work txn{conn_};
  for (const auto& [format, bytes] : artifacts)
    txn.exec_params("INSERT INTO dm.report_artifacts (report_id, format, content, size, sha256) VALUES ($1, $2, $3, $4, $5)",
                    id, format, pqxx::binarystring(bytes), static_cast<std::int64_t>(bytes.size()), sha256_hex(bytes));
  txn.exec_params("UPDATE dm.reports SET status = 'succeeded', finished_at = now(), source = $2, kpis = $3::jsonb"
                  " WHERE id = $1",
                  id, report.source, boost::json::serialize(doc.at("kpis")));
  txn.commit();
}

void ReportStore::fail(std::int64_t id, const std::string& error) noexcept
{
  try {
    pqxx::work txn{conn_};
    txn.exec_params("DELETE FROM dm.report_artifacts WHERE report_id = $1", id);
    txn.exec_params("UPDATE dm.reports SET status = 'failed', finished_at = now(), error = $2 WHERE id = $1", id, error);
    txn.commit();
  } catch (...) {
    // The row stays 'running'; nothing better can be done without a database.
  }
}

StoredReport ReportStore::get(std::int64_t id)
{
  pqxx::read_transaction txn{conn_};
  const auto rows = txn.exec_params(fmt::format("SELECT {} FROM dm.reports r WHERE r.id = $1", columns), id);
  if (rows.empty())
    throw NotFound(fmt::format("no report with id {}", id));
  StoredReport s = from_row(rows[0]);
  for (const auto& a : txn.exec_params("SELECT format, size, sha256 FROM dm.report_artifacts WHERE report_id = $1 ORDER BY format", id))
    s.artifacts[a[0].as<std::string>()] = {a[1].as<std::int64_t>(), a[2].as<std::string>()};
  return s;
}

std::vector<StoredReport> ReportStore::list(const ListFilter& filter)
{
  record_crashed_runs();
  pqxx::read_transaction txn{conn_};
  std::vector<StoredReport> out;
  const std::optional<std::string> since =
      filter.since ? std::optional<std::string>(util::format_rfc3339_utc(*filter.since)) : std::nullopt;
  for (const auto& r : txn.exec_params(
           fmt::format("SELECT {} FROM dm.reports r WHERE ($1::text IS NULL OR r.type = $1)"
                       " AND ($2::timestamptz IS NULL OR r.started_at >= $2)"
                       " AND ($4::bigint IS NULL OR r.id < $4) ORDER BY r.id DESC LIMIT $3",
                       columns),
           filter.type, since, filter.limit, filter.before_id))
    out.push_back(from_row(r));
  return out;
}

std::string ReportStore::artifact(std::int64_t id, const std::string& format)
{
  pqxx::read_transaction txn{conn_};
  const auto rows = txn.exec_params("SELECT content FROM dm.report_artifacts WHERE report_id = $1 AND format = $2", id, format);
  if (rows.empty()) {
    if (txn.exec_params("SELECT 1 FROM dm.reports WHERE id = $1", id).empty())
      throw NotFound(fmt::format("no report with id {}", id));
    throw NotFound(fmt::format("report {} has no {} artifact", id, format));
  }
  return pqxx::binarystring(rows[0][0]).str();
}

void ReportStore::remove(std::int64_t id)
{
  pqxx::work txn{conn_};
  if (txn.exec_params("DELETE FROM dm.reports WHERE id = $1", id).affected_rows() == 0)
    throw NotFound(fmt::format("no report with id {}", id));
  txn.commit();
}

std::int64_t ReportStore::apply_retention(int keep_days)
{
  if (keep_days <= 0)
    return 0;
  pqxx::work txn{conn_};
  const auto n = txn.exec_params("DELETE FROM dm.reports WHERE finished_at < now() - make_interval(days => $1)", keep_days)
                     .affected_rows();
  txn.commit();
  return static_cast<std::int64_t>(n);
}

} // namespace dm::report
