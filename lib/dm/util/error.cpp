#include "dm/util/error.hpp"

#include "dm/config/config.hpp"

#include <exception>

namespace dm {

namespace {

ExitCode own_code(const std::exception& e) noexcept
{
  if (dynamic_cast<const UsageError*>(&e) != nullptr ||
      dynamic_cast<const config::ConfigError*>(&e) != nullptr)
    return ExitCode::usage;
  if (dynamic_cast<const NotFound*>(&e) != nullptr)
    return ExitCode::not_found;
  if (dynamic_cast<const Unauthorised*>(&e) != nullptr || dynamic_cast<const Forbidden*>(&e) != nullptr)
    return ExitCode::unauthorised;
  if (dynamic_cast<const Unreachable*>(&e) != nullptr)
    return ExitCode::unreachable;
  return ExitCode::failure;
}

} // namespace

ExitCode exit_code_for(const std::exception& e) noexcept
{
  ExitCode code = own_code(e);
  try {
    std::rethrow_if_nested(e);
  } catch (const std::exception& inner) {
    ExitCode nested = exit_code_for(inner);
    if (nested != ExitCode::failure)
      code = nested;
  } catch (...) {
  }
  return code;
}

std::string full_message(const std::exception& e)
{
  std::string message = e.what();
  try {
    std::rethrow_if_nested(e);
  } catch (const std::exception& inner) {
    message += ": ";
    message += full_message(inner);
  } catch (...) {
  }
  return message;
}

} // namespace dm
