#pragma once
// The roles of DESIGN 8, carried in a token's `role` claim. Each role holds
// every right of the ones below it: admin ⊇ analyst ⊇ viewer ⊇ user. A `user`
// token belongs to one learner (its `sub`) and may only read that learner's
// own progress.

#include <string_view>

namespace dm::auth {

enum class Role { user, viewer, analyst, admin };

/// `user`, `viewer`, `analyst` or `admin` (exactly, lower case). Throws dm::UsageError
/// naming the value and the valid ones otherwise.
Role parse_role(std::string_view text);

/// The claim value of a role, as parse_role() accepts it.
std::string_view to_string(Role role) noexcept;

/// True when a holder of `have` may do what needs `need`.
constexpr bool role_allows(Role have, Role need) noexcept
{
  return static_cast<int>(have) >= static_cast<int>(need);
}

} // namespace dm::auth
