#pragma once
// The error answers of the API, `{"error":{"code","message","field"?}}`
// (DESIGN 8), and the one place that turns an exception into one.

#include "daemon/http_types.hpp"

#include "dm/util/error.hpp"

#include <boost/json/fwd.hpp>

#include <exception>
#include <string>

namespace dm::daemon {

/// An answer with a status of its own (413, 415, 429, 503 when busy).
class ApiError : public std::runtime_error {
public:
  ApiError(http::status status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code))
  {
  }
  http::status status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }

private:
  http::status status_;
  std::string code_;
};

/// The request body as a JSON object; FieldError "body" when it is empty,
/// not JSON, or not an object.
boost::json::object json_body_object(const Request& req);

/// A JSON answer to `req` (its HTTP version and keep-alive).
Response json_response(const Request& req, http::status status, const boost::json::value& body);
/// An already serialised JSON body.
Response json_text_response(const Request& req, http::status status, std::string body);
/// An error answer.
Response error_response(const Request& req, http::status status, std::string_view code, std::string_view message,
                        std::string_view field = {});
/// The answer for an exception thrown while handling `req`: UsageError 400,
/// Unauthorised 401, Forbidden 403, NotFound 404, Conflict 409, ApiError its
/// own, Unavailable and lost database connections 503, anything else 500
/// (logged, with a generic message).
Response error_response(const Request& req, std::exception_ptr error);

} // namespace dm::daemon
