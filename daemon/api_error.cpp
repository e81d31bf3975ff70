#include "daemon/api_error.hpp"

#include "daemon/db_gate.hpp"

#include "dm/ingest/ingest.hpp"
#include "dm/util/json_text.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace dm::daemon {

Response json_text_response(const Request& req, http::status status, std::string body)
{
  Response res{status, req.version()};
  res.set(http::field::server, "dmanalyticsd");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response json_response(const Request& req, http::status status, const boost::json::value& body)
{
  return json_text_response(req, status, util::json_text(body));
}

Response error_response(const Request& req, http::status status, std::string_view code, std::string_view message,
                        std::string_view field)
{
  boost::json::object error{{"code", code}, {"message", message}};
  if (!field.empty())
    error["field"] = field;
  return json_response(req, status, boost::json::object{{"error", std::move(error)}});
}

namespace {

template <typename T> const T* innermost(const std::exception& e)
{
  const T* found = dynamic_cast<const T*>(&e);
  try {
    std::rethrow_if_nested(e);
  } catch (const std::exception& inner) {
    if (const T* deeper = innermost<T>(inner))
      found = deeper;
  } catch (...) {
  }
  return found;
}

} // namespace

boost::json::object json_body_object(const Request& req)
{
  if (req.body().empty())
    throw FieldError("body", "the request needs a JSON object body");
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(req.body(), ec);
  if (ec)
    throw FieldError("body", fmt::format("the body is not valid JSON: {}", ec.message()));
  if (!v.is_object())
    throw FieldError("body", "the body must be a JSON object");
  return std::move(v.as_object());
}

Response error_response(const Request& req, std::exception_ptr error)
{
  try {
    std::rethrow_exception(error);
  } catch (const ApiError& e) {
    return error_response(req, e.status(), e.code(), e.what());
  } catch (const ingest::IngestRejected& e) {
    return error_response(req, http::status::bad_request, "invalid_events", e.what());
  } catch (const std::exception& e) {
    if (const auto* f = innermost<FieldError>(e))
      return error_response(req, http::status::bad_request, "invalid_field", full_message(e), f->field());
    if (innermost<Unavailable>(e) != nullptr || is_connection_error(e))
      return error_response(req, http::status::service_unavailable, "unavailable", full_message(e));
    switch (exit_code_for(e)) {
    case ExitCode::usage:
      return error_response(req, http::status::bad_request, "invalid_request", full_message(e));
    case ExitCode::not_found:
      return error_response(req, http::status::not_found, "not_found", full_message(e));
    case ExitCode::unauthorised:
      if (innermost<Forbidden>(e) != nullptr)
        return error_response(req, http::status::forbidden, "forbidden", full_message(e));
      return error_response(req, http::status::unauthorized, "unauthorized", full_message(e));
    default:
      break;
    }
    if (innermost<Conflict>(e) != nullptr)
      return error_response(req, http::status::conflict, "conflict", full_message(e));
    spdlog::error("{} {}: {}", std::string_view(req.method_string()), std::string_view(req.target()),
                  full_message(e));
    return error_response(req, http::status::internal_server_error, "internal", "internal error; see the daemon log");
  } catch (...) {
    spdlog::error("{} {}: unknown exception", std::string_view(req.method_string()), std::string_view(req.target()));
    return error_response(req, http::status::internal_server_error, "internal", "internal error; see the daemon log");
  }
}

} // namespace dm::daemon
