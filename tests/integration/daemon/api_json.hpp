#pragma once
// Reading the daemon's JSON answers in tests.

#include "dm/http/client.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <string>

namespace dm::test {

/// A response body as JSON; a body that is not JSON is shown with the failure.
inline boost::json::value body_json(const http::HttpResponse& r)
{
  INFO(r.body);
  return boost::json::parse(r.body);
}

/// The "field" an error answer names; "" when it names none.
inline std::string error_field(const http::HttpResponse& r)
{
  const auto v = body_json(r);
  const auto* f = v.at("error").as_object().if_contains("field");
  return f != nullptr && f->is_string() ? std::string(f->as_string()) : std::string();
}

} // namespace dm::test
