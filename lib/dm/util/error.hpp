#pragma once
// Typed errors of libdmanalytics. Each binary turns them into an exit code or
// an HTTP status in exactly one place (see exit_code_for()).

#include <stdexcept>
#include <string>

namespace dm {

/// The user asked for something malformed: a bad flag value, date, zone, key.
/// CLI exit code 2, HTTP 400.
class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A UsageError about one named field of a request, rule or schedule (a JSON
/// member, a query parameter, a config key's value): `field()` names it as
/// the API does. Exit 2, HTTP 400 with "field".
class FieldError : public UsageError {
public:
  FieldError(std::string field, const std::string& message) : UsageError(message), field_(std::move(field)) {}
  const std::string& field() const noexcept { return field_; }

private:
  std::string field_;
};

/// Something named does not exist (report id, schedule, rule). Exit 5, HTTP 404.
class NotFound : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// No valid credentials: a missing, malformed, expired or forged token.
/// Exit 4, HTTP 401.
class Unauthorised : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Valid credentials without the right to this action (role too low, another
/// user's progress). Exit 4, HTTP 403.
class Forbidden : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// The daemon could not be reached (CLI over HTTP). Exit 3.
class Unreachable : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A service this request needs (the database) is down right now. Exit 1, HTTP 503.
class Unavailable : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// The request conflicts with the current state (a duplicate name). Exit 1, HTTP 409.
class Conflict : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Exit codes of DESIGN section 11.
enum class ExitCode : int {
  ok = 0,
  failure = 1,
  usage = 2,
  unreachable = 3,
  unauthorised = 4,
  not_found = 5,
};

/// Maps the innermost typed error of a (possibly nested) exception to its exit code.
ExitCode exit_code_for(const std::exception& e) noexcept;

/// The message of an exception and of every exception nested in it,
/// outermost first, joined by ": ".
std::string full_message(const std::exception& e);

} // namespace dm
