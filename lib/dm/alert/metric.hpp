#pragma once
// The value a rule watches (DESIGN 7), read from the rollups and raw tables
// exactly as ingest wrote them.
//
// The value at an instant t is the metric over the window [t - window_s, t):
// - p95_ms, p99_ms, error_rate, rps: request_rollup_1m rows whose minute
//   starts in the window, for the rule's service or every service; p95/p99
//   from the merged sketches (within 1%), error_rate = errors / requests,
//   rps = requests / window_s. The minute holding t counts with what it holds.
//   No requests: rps is 0, the others have no value.
// - active_users: distinct users with a learning event in the window (0 when
//   none: a count, so a `<` rule alarms on silence).
// - cpu, mem, disk, load1: the largest, over hosts, of each host's mean in
//   the window (dm.host_samples); no value without samples.

#include "dm/alert/rule.hpp"
#include "dm/util/time.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <optional>
#include <utility>
#include <vector>

namespace dm::alert {

/// The metric of `rule` over [at - window_s, at); nullopt when there is no data.
std::optional<double> metric_value(pqxx::transaction_base& txn, const RuleSpec& rule, util::Micros at);

/// The metric at every instant from, from + step, ... before `to`, each over
/// its own window, in one query. metric_value(at) equals the point of the
/// series at `at`. Throws UsageError for a step <= 0 or more than 1,000,000 points.
std::vector<std::pair<util::Micros, std::optional<double>>> metric_series(pqxx::transaction_base& txn,
                                                                          const RuleSpec& rule, util::Micros from,
                                                                          util::Micros to, std::chrono::seconds step);

} // namespace dm::alert
