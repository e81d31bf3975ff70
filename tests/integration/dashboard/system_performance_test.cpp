// The system performance dashboard against plain SQL over dm.request_metrics
// and dm.host_samples: counts exactly, ratios to 1e-9, percentiles within 1%
// of percentile_cont; the window's edges; no traffic.

#include "dashboard_fixtures.hpp"
#include "temp_file.hpp"

#include "dm/dashboard/system_performance.hpp"
#include "dm/ingest/ingest.hpp"

#include <fmt/format.h>

using dm::dashboard::compute_system_performance;
using dm::dashboard::ProbeStatusView;
using dm::util::Micros;
using dm::util::micros_per_hour;
using dm::util::micros_per_minute;
using namespace dm::test::dashboard;

namespace {

std::string ts(Micros t)
{
  return dm::util::format_rfc3339_utc(t);
}

/// Compares the requests part of the dashboard with plain SQL over the raw
/// rows of [raw_from, raw_to), the minutes whose buckets the window holds.
void check_requests(dm::test::TestDatabase& db, const boost::json::object& out, Micros raw_from, Micros raw_to)
{
  pqxx::nontransaction txn{db.connection()};
  const auto all = txn.exec_params1(
      "SELECT count(*), count(*) FILTER (WHERE status >= 500),"
      " percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms), percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms),"
      " percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms)"
      " FROM dm.request_metrics WHERE ts >= $1 AND ts < $2",
      ts(raw_from), ts(raw_to));
  const auto requests = all[0].as<std::int64_t>();
  REQUIRE(requests > 500); // enough traffic for the comparison to mean something
  const auto& overall = out.at("overall").as_object();
  CHECK(integer(overall.at("requests")) == requests);
  CHECK(integer(overall.at("errors")) == all[1].as<std::int64_t>());
  CHECK(close(num(overall.at("rps")), static_cast<double>(requests) / 3600.0));
  CHECK(close(num(overall.at("error_rate")), all[1].as<double>() / static_cast<double>(requests)));
  CHECK(within_1pct(num(overall.at("p50_ms")), all[2].as<double>()));
  CHECK(within_1pct(num(overall.at("p95_ms")), all[3].as<double>()));
  CHECK(within_1pct(num(overall.at("p99_ms")), all[4].as<double>()));

  const auto services_sql = txn.exec_params(
      "SELECT service, count(*), count(*) FILTER (WHERE status >= 500),"
      " percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms), percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms),"
      " percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms)"
      " FROM dm.request_metrics WHERE ts >= $1 AND ts < $2 GROUP BY service ORDER BY service COLLATE \"C\"",
      ts(raw_from), ts(raw_to));
  const auto& services = out.at("services").as_array();
  REQUIRE(services.size() == services_sql.size());
  REQUIRE(services.size() >= 2);
  for (std::size_t i = 0; i < services.size(); ++i) {
    const auto& s = services[i].as_object();
    const auto& r = services_sql[static_cast<pqxx::result::size_type>(i)];
    INFO("service " << r[0].as<std::string>());
    CHECK(text(s.at("service")) == r[0].as<std::string>());
    const auto n = r[1].as<std::int64_t>();
    CHECK(integer(s.at("requests")) == n);
    CHECK(integer(s.at("errors")) == r[2].as<std::int64_t>());
    CHECK(close(num(s.at("rps")), static_cast<double>(n) / 3600.0));
    CHECK(close(num(s.at("error_rate")), r[2].as<double>() / static_cast<double>(n)));
    CHECK(within_1pct(num(s.at("p50_ms")), r[3].as<double>()));
    CHECK(within_1pct(num(s.at("p95_ms")), r[4].as<double>()));
    CHECK(within_1pct(num(s.at("p99_ms")), r[5].as<double>()));
  }

  const auto minutes_sql = txn.exec_params(
      "SELECT (extract(epoch FROM date_trunc('minute', ts)) * 1000000)::bigint, count(*),"
      " count(*) FILTER (WHERE status >= 500), percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)"
      " FROM dm.request_metrics WHERE ts >= $1 AND ts < $2 GROUP BY 1 ORDER BY 1",
      ts(raw_from), ts(raw_to));
  const auto& timeline = out.at("timeline").as_array();
  REQUIRE(timeline.size() == minutes_sql.size());
  for (std::size_t i = 0; i < timeline.size(); ++i) {
    const auto& m = timeline[i].as_object();
    const auto& r = minutes_sql[static_cast<pqxx::result::size_type>(i)];
    INFO("minute " << text(m.at("minute")));
    CHECK(instant(m.at("minute")) == r[0].as<Micros>());
    CHECK(integer(m.at("requests")) == r[1].as<std::int64_t>());
    CHECK(close(num(m.at("error_rate")), r[2].as<double>() / r[1].as<double>()));
    CHECK(within_1pct(num(m.at("p95_ms")), r[3].as<double>()));
  }
}

/// Compares the hosts part with plain SQL over [from, to).
void check_hosts(dm::test::TestDatabase& db, const boost::json::object& out, Micros from, Micros to)
{
  pqxx::nontransaction txn{db.connection()};
  const auto latest = txn.exec_params(
      "SELECT DISTINCT ON (host) host, (extract(epoch FROM ts) * 1000000)::bigint, cpu, mem, disk, load1"
      " FROM dm.host_samples WHERE ts >= $1 AND ts < $2 ORDER BY host, ts DESC",
      ts(from), ts(to));
  const auto& hosts = out.at("hosts").as_array();
  REQUIRE(hosts.size() == latest.size());
  REQUIRE(!hosts.empty());
  std::map<std::string, pqxx::row> by_host;
  for (const auto& r : latest)
    by_host.emplace(r[0].as<std::string>(), r);
  std::string previous;
  for (const auto& v : hosts) {
    const auto& h = v.as_object();
    const std::string host = text(h.at("host"));
    INFO("host " << host);
    CHECK(host > previous); // sorted, unique
    previous = host;
    REQUIRE(by_host.count(host) == 1);
    const pqxx::row& r = by_host.at(host);
    CHECK(instant(h.at("ts")) == r[1].as<Micros>());
    CHECK(close(num(h.at("cpu")), r[2].as<double>()));
    CHECK(close(num(h.at("mem")), r[3].as<double>()));
    CHECK(close(num(h.at("disk")), r[4].as<double>()));
    CHECK(close(num(h.at("load1")), r[5].as<double>()));
    const auto agg = txn.exec_params1("SELECT avg(cpu), max(cpu) FROM dm.host_samples WHERE host = $1 AND ts >= $2 AND ts < $3",
                                      host, ts(from), ts(to));
    CHECK(close(num(h.at("cpu_avg")), agg[0].as<double>()));
    CHECK(close(num(h.at("cpu_max")), agg[1].as<double>()));
  }
  const auto all = txn.exec_params1("SELECT avg(cpu), max(cpu) FROM dm.host_samples WHERE ts >= $1 AND ts < $2", ts(from), ts(to));
  CHECK(close(num(out.at("cpu_avg")), all[0].as<double>()));
  CHECK(close(num(out.at("cpu_max")), all[1].as<double>()));
}

std::vector<ProbeStatusView> sample_probes()
{
  ProbeStatusView up{"api", "http://127.0.0.1:9000/healthz", true, 200, 3.5, at("2026-11-08T13:59:30Z"), ""};
  ProbeStatusView down{"auth", "http://127.0.0.1:9001/healthz", false, std::nullopt, std::nullopt,
                       at("2026-11-08T13:59:31.25Z"), "connection refused"};
  ProbeStatusView never{"content", "http://127.0.0.1:9002/healthz", false, std::nullopt, std::nullopt, std::nullopt, ""};
  return {up, down, never};
}

} // namespace

TEST_CASE("system performance: the last hour of seeded traffic equals plain SQL", "[dashboard]")
{
  auto& db = seeded();
  const Micros now = at("2026-11-08T14:00:00Z");
  const auto out = compute_system_performance(db.connection(), now, sample_probes());
  CHECK(text(out.at("window").at("from")) == "2026-11-08T13:00:00Z");
  CHECK(text(out.at("window").at("to")) == "2026-11-08T14:00:00Z");
  check_requests(db, out, now - micros_per_hour, now);
  check_hosts(db, out, now - micros_per_hour, now);

  const auto& probes = out.at("probes").as_array();
  REQUIRE(probes.size() == 3);
  CHECK(probes[0] == boost::json::parse(R"({"name":"api","url":"http://127.0.0.1:9000/healthz","up":true,)"
                                       R"("status_code":200,"latency_ms":3.5,"checked_at":"2026-11-08T13:59:30Z",)"
                                       R"("error":null})"));
  CHECK(probes[1] == boost::json::parse(R"({"name":"auth","url":"http://127.0.0.1:9001/healthz","up":false,)"
                                       R"("status_code":null,"latency_ms":null,)"
                                       R"("checked_at":"2026-11-08T13:59:31.250000Z","error":"connection refused"})"));
  CHECK(probes[2].at("checked_at").is_null());
}

TEST_CASE("system performance: inside a minute, the window holds the buckets of the 60 minutes up to now", "[dashboard]")
{
  auto& db = seeded();
  const Micros now = at("2026-11-08T09:17:42.5Z");
  const auto out = compute_system_performance(db.connection(), now, {});
  CHECK(text(out.at("window").at("from")) == "2026-11-08T08:17:42.500000Z");
  // Buckets 08:18 ... 09:17, the last one as stored (here: the whole minute).
  check_requests(db, out, at("2026-11-08T08:18:00Z"), at("2026-11-08T09:18:00Z"));
  check_hosts(db, out, now - micros_per_hour, now);
  CHECK(out.at("timeline").as_array().size() <= 60);
  CHECK(out.at("probes").as_array().empty());
}

TEST_CASE("system performance: window edges and host samples on hand-made rows", "[dashboard]")
{
  dm::test::TestDatabase db;
  dm::db::PgConnection raw(db.url());
  dm::ingest::IngestOptions o;
  o.kind = dm::ingest::Kind::requests;
  dm::test::TempFile requests("ts,service,endpoint,status,duration_ms\n"
                              "2026-11-02T08:59:59.999Z,api,/a,200,5\n"   // before the window
                              "2026-11-02T09:00:00Z,api,/a,200,10\n"      // first instant of it
                              "2026-11-02T09:30:10Z,api,/a,500,20\n"
                              "2026-11-02T09:30:50Z,api,/b,503,30\n"
                              "2026-11-02T09:45:00Z,auth,/login,404,60\n" // 4xx is no error
                              "2026-11-02T09:59:59Z,auth,/login,200,40\n"
                              "2026-11-02T10:00:00Z,api,/a,200,50\n");    // now: outside
  dm::ingest::ingest_file(raw, requests.path(), o);
  o.kind = dm::ingest::Kind::host;
  dm::test::TempFile hosts("ts,host,cpu,mem,disk,load1\n"
                           "2026-11-02T08:59:00Z,db-1,0.9,0.9,0.9,9\n"
                           "2026-11-02T09:10:00Z,db-1,0.2,0.5,0.3,1\n"
                           "2026-11-02T09:50:00Z,db-1,0.4,0.6,0.3,2\n"
                           "2026-11-02T09:20:00Z,app-1,,0.1,0.2,0.5\n"
                           "2026-11-02T10:00:00Z,db-1,1,1,1,10\n");
  dm::ingest::ingest_file(raw, hosts.path(), o);

  const auto out = compute_system_performance(db.connection(), at("2026-11-02T10:00:00Z"), {});
  const auto& overall = out.at("overall").as_object();
  CHECK(integer(overall.at("requests")) == 5);
  CHECK(integer(overall.at("errors")) == 2);
  CHECK(close(num(overall.at("error_rate")), 0.4));
  CHECK(close(num(overall.at("rps")), 5.0 / 3600));
  // percentile_cont over {10, 20, 30, 40, 60}
  CHECK(within_1pct(num(overall.at("p50_ms")), 30));
  CHECK(within_1pct(num(overall.at("p95_ms")), 56));
  CHECK(within_1pct(num(overall.at("p99_ms")), 59.2));

  const auto& services = out.at("services").as_array();
  REQUIRE(services.size() == 2);
  CHECK(text(services[0].at("service")) == "api");
  CHECK(integer(services[0].at("requests")) == 3);
  CHECK(integer(services[0].at("errors")) == 2);
  CHECK(text(services[1].at("service")) == "auth");
  CHECK(integer(services[1].at("requests")) == 2);
  CHECK(num(services[1].at("error_rate")) == 0);
  CHECK(within_1pct(num(services[1].at("p50_ms")), 50));

  const auto& timeline = out.at("timeline").as_array();
  REQUIRE(timeline.size() == 4);
  CHECK(text(timeline[0].at("minute")) == "2026-11-02T09:00:00Z");
  CHECK(text(timeline[1].at("minute")) == "2026-11-02T09:30:00Z");
  CHECK(integer(timeline[1].at("requests")) == 2);
  CHECK(num(timeline[1].at("error_rate")) == 1.0);
  CHECK(within_1pct(num(timeline[1].at("p95_ms")), 29.5));
  CHECK(text(timeline[3].at("minute")) == "2026-11-02T09:59:00Z");

  const auto& host_rows = out.at("hosts").as_array();
  REQUIRE(host_rows.size() == 2);
  const auto& app = host_rows[0].as_object();
  CHECK(text(app.at("host")) == "app-1");
  CHECK(app.at("cpu").is_null());
  CHECK(num(app.at("cpu_avg")) == 0);
  CHECK(num(app.at("cpu_max")) == 0);
  CHECK(std::abs(num(app.at("mem")) - 0.1) < 1e-6);
  const auto& dbh = host_rows[1].as_object();
  CHECK(text(dbh.at("host")) == "db-1");
  CHECK(text(dbh.at("ts")) == "2026-11-02T09:50:00Z");
  CHECK(std::abs(num(dbh.at("cpu")) - 0.4) < 1e-6);
  CHECK(std::abs(num(dbh.at("load1")) - 2) < 1e-6);
  CHECK(std::abs(num(dbh.at("cpu_avg")) - 0.3) < 1e-6);
  CHECK(std::abs(num(dbh.at("cpu_max")) - 0.4) < 1e-6);
  CHECK(std::abs(num(out.at("cpu_avg")) - 0.3) < 1e-6);
  CHECK(std::abs(num(out.at("cpu_max")) - 0.4) < 1e-6);

  // Inside a minute the current bucket counts as stored, also its rows after
  // `now`, and the oldest bucket must start inside the window.
  const auto mid = compute_system_performance(db.connection(), at("2026-11-02T09:30:30Z"), {});
  // Buckets 08:31 ... 09:30: 08:59:59.999, 09:00, 09:30:10 and 09:30:50.
  CHECK(integer(mid.at("overall").at("requests")) == 4);
  const auto late = compute_system_performance(db.connection(), at("2026-11-02T10:00:00.5Z"), {});
  // Buckets 09:01 ... 10:00: no longer 09:00, now 10:00.
  CHECK(integer(late.at("overall").at("requests")) == 5);
  CHECK(text(late.at("timeline").as_array().back().at("minute")) == "2026-11-02T10:00:00Z");
}

TEST_CASE("system performance: no traffic gives zeros and empty arrays", "[dashboard]")
{
  dm::test::TestDatabase db;
  const auto out = compute_system_performance(db.connection(), at("2026-11-02T10:00:00Z"), {});
  const std::string body = boost::json::serialize(out);
  CHECK(body.find("NaN") == std::string::npos);
  CHECK(body.find("null") == std::string::npos);
  for (const char* key : {"requests", "errors", "rps", "error_rate", "p50_ms", "p95_ms", "p99_ms"}) {
    INFO(key);
    CHECK(num(out.at("overall").at(key)) == 0);
  }
  CHECK(out.at("services").as_array().empty());
  CHECK(out.at("timeline").as_array().empty());
  CHECK(out.at("hosts").as_array().empty());
  CHECK(out.at("probes").as_array().empty());
  CHECK(num(out.at("cpu_avg")) == 0);
  CHECK(num(out.at("cpu_max")) == 0);
  CHECK(text(out.at("window").at("from")) == "2026-11-02T09:00:00Z");
}
