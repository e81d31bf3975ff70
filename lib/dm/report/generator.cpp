#include "dm/report/generator.hpp"

#include "dm/report/calendar.hpp"
#include "dm/util/error.hpp"

namespace dm::report {

bool rollups_exact_for(const Period& p)
{
  return p.from % util::micros_per_hour == 0 && p.to % util::micros_per_hour == 0 &&
         whole_hour_offsets(p.tz, p.from, p.to);
}

Report generate_report(pqxx::connection_base& conn, const GenerateRequest& request)
{
  if (request.period.from >= request.period.to)
    throw UsageError("the period is empty: --from must be before --to");
  Report out;
  out.type = request.type;
  out.period = request.period;
  out.generated_at = request.now != 0 ? request.now : util::now();
  // A zone with a fractional offset, or bounds inside an hour, read raw rows.
  const bool exact = request.exact || !rollups_exact_for(request.period);
  out.source = exact ? "exact" : "rollup";
  out.params = {{"exact", request.exact ? "true" : "false"}};
  // One snapshot: every KPI of the report sees the same data.
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> txn{conn};
  // Distinct users per day over months of rollups are large hash aggregates:
  // spilling them to disk at the default 4 MB is many times slower. JIT
  // compilation costs more than it saves on these one-off queries.
  txn.exec0("SET LOCAL work_mem = '256MB'");
  txn.exec0("SET LOCAL jit = off");
  // date_trunc and ::date on timestamptz follow the session's zone; the
  // rollup queries truncate UTC hours and days.
  txn.exec0("SET LOCAL TimeZone = 'UTC'");
  switch (request.type) {
  case ReportType::engagement:
    detail::generate_engagement(txn, request, exact, out);
    break;
  case ReportType::learning:
    detail::generate_learning(txn, request, exact, out);
    break;
  case ReportType::performance:
    detail::generate_performance(txn, request, exact, out);
    break;
  case ReportType::business:
    detail::generate_business(txn, request, exact, out);
    break;
  }
  txn.commit();
  return out;
}

} // namespace dm::report
