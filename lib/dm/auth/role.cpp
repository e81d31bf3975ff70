#include "dm/auth/role.hpp"

#include "dm/util/error.hpp"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace dm::auth {

namespace {

constexpr std::array<std::pair<std::string_view, Role>, 4> role_names{{
    {"user", Role::user},
    {"viewer", Role::viewer},
    {"analyst", Role::analyst},
    {"admin", Role::admin},
}};

} // namespace

Role parse_role(std::string_view text)
{
  for (const auto& [name, role] : role_names)
    if (name == text)
      return role;
  throw UsageError(fmt::format("unknown role '{}' (expected user, viewer, analyst or admin)", text));
}

std::string_view to_string(Role role) noexcept
{
  for (const auto& [name, r] : role_names)
    if (r == role)
      return name;
  return "viewer";
}

} // namespace dm::auth
