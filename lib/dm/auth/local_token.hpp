#pragma once
// The CLI's own credentials for the daemon (DESIGN 8): with no token given,
// the CLI signs a short-lived admin token with the secret it shares with a
// daemon run by the same user.

#include "dm/config/config.hpp"

#include <chrono>
#include <filesystem>
#include <string>

namespace dm::auth {

/// The name of the effective user (password database), else `uid<N>`.
std::string local_user_name();

/// An admin token with sub `local:<user name>`, valid for `ttl`, signed with
/// configured_secret() (the default `<state>/jwt.secret` is created when
/// missing), carrying `auth.issuer` / `auth.audience` when configured.
/// Throws dm::UsageError when the secret cannot be read.
std::string mint_local_token(const config::Config& config, const std::filesystem::path& state_dir,
                             std::chrono::seconds ttl = std::chrono::seconds(300));

} // namespace dm::auth
