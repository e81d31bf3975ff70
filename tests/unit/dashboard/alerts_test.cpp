// The alerts dashboard's fixed shape until the alert evaluator fills it.

#include "dm/dashboard/alerts.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

TEST_CASE("alerts dashboard: an empty list", "[dashboard]")
{
  CHECK(boost::json::serialize(dm::dashboard::compute_alerts()) == R"({"alerts":[]})");
}
