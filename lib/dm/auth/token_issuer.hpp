#pragma once
// Minting the HS256 bearer tokens that TokenVerifier accepts.

#include "dm/auth/role.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace dm::auth {

/// A signed HS256 JWT with `iat` = now_unix, `exp` = now_unix + ttl and
/// `role`; `sub`, `iss` and `aud` when non-empty. Throws dm::UsageError when
/// the secret is shorter than 32 bytes or ttl is not positive.
std::string issue_token(const std::string& secret, Role role, const std::string& sub, std::chrono::seconds ttl,
                        const std::string& issuer, const std::string& audience, std::int64_t now_unix);

} // namespace dm::auth
