#include "dm/util/json_text.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <limits>

using dm::util::json_text;

TEST_CASE("json_text writes doubles in their shortest plain form", "[util][json]")
{
  CHECK(json_text(0.25) == "0.25");
  CHECK(json_text(0.0) == "0.0");
  CHECK(json_text(-0.0) == "0.0");
  CHECK(json_text(3.0) == "3.0");
  CHECK(boost::json::parse(json_text(3.0)).is_double());
  CHECK(json_text(12.61) == "12.61");
  CHECK(json_text(0.1 + 0.2) == "0.30000000000000004");
  CHECK(json_text(1e21) == "1e+21");
  CHECK(json_text(std::numeric_limits<double>::quiet_NaN()) == "null");
  CHECK(json_text(std::numeric_limits<double>::infinity()) == "null");
  for (double d : {0.8017145991325378, 1e-7, 123456789.125, -3.5})
    CHECK(boost::json::parse(json_text(d)).as_double() == d);
}

TEST_CASE("json_text writes everything else as boost::json::serialize does", "[util][json]")
{
  const auto v = boost::json::parse(R"({"a":[1,-2,18446744073709551615,true,false,null],"s":"Über \"x\"\n\u0001","o":{}})");
  CHECK(json_text(v) == boost::json::serialize(v));
}
