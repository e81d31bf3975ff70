#pragma once
// What a verified bearer token says about its holder.

#include "dm/auth/role.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace dm::auth {

struct Claims {
  /// `sub`; empty when the token has none. A numeric `sub` is given in decimal.
  std::string sub;
  Role role = Role::viewer;
  /// Instants in seconds since the Unix epoch.
  std::int64_t exp = 0;
  std::optional<std::int64_t> nbf;
  std::optional<std::int64_t> iat;
  /// `iss`; empty when absent.
  std::string iss;
  /// The configured audience when one is required (it matched); else the
  /// `aud` string, or the first string of an `aud` array; empty when absent.
  std::string aud;
};

} // namespace dm::auth
