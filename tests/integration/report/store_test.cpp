// The report store: versions, failures, crashed runs, retention.

#include "test_database.hpp"

#include "dm/report/store.hpp"
#include "dm/util/error.hpp"

#include <catch2/catch.hpp>
#include <unistd.h>

using dm::report::ReportStore;
using dm::test::TestDatabase;

namespace {
dm::report::Period week()
{
  return {*dm::util::parse_date_or_timestamp("2026-10-26"), *dm::util::parse_date_or_timestamp("2026-11-02"), "UTC"};
}
} // namespace

TEST_CASE("versions count up per type and parameters; a failure keeps its error and no artifact", "[report][store]")
{
  TestDatabase db;
  ReportStore store(db.connection());
  const auto [a, va] = store.begin(dm::report::ReportType::learning, week(), R"({"exact":false})");
  const auto [b, vb] = store.begin(dm::report::ReportType::learning, week(), R"({"exact":false})");
  const auto [c, vc] = store.begin(dm::report::ReportType::learning, week(), R"({"exact":true})");
  CHECK(va == 1);
  CHECK(vb == 2);
  CHECK(vc == 1);
  store.fail(a, "the database went away");
  const auto failed = store.get(a);
  CHECK(failed.status == "failed");
  CHECK(failed.error == "the database went away");
  CHECK(failed.artifacts.empty());
  CHECK_THROWS_AS(store.artifact(a, "json"), dm::NotFound);
  CHECK_THROWS_AS(store.get(999999), dm::NotFound);
  (void)b;
  (void)c;
}

TEST_CASE("a run whose process died is recorded as failed", "[report][store]")
{
  TestDatabase db;
  ReportStore store(db.connection());
  const auto [id, version] = store.begin(dm::report::ReportType::business, week(), "{}");
  (void)version;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  // A pid that cannot exist (above pid_max), as a crashed process leaves it.
  db.scalar("UPDATE dm.reports SET runner = '" + std::string(host) + ":99999999' WHERE id = " + std::to_string(id) +
            " RETURNING 1");
  CHECK(store.get(id).status == "running");
  const auto listed = store.list({});
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].status == "failed");
  CHECK(listed[0].error.find("pid 99999999") != std::string::npos);
  // This process is alive: its own running report is left alone.
  const auto [mine, v2] = store.begin(dm::report::ReportType::business, week(), "{}");
  (void)v2;
  CHECK(store.record_crashed_runs() == 0);
  CHECK(store.get(mine).status == "running");
}
