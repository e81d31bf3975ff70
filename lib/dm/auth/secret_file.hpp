#pragma once
// The HMAC secret of the bearer tokens (DESIGN 8): `auth.jwt_secret_file`
// when configured, else `<state>/jwt.secret`, which the daemon and the CLI
// of the same user create on first use and then share.

#include "dm/config/config.hpp"

#include <filesystem>
#include <string>

namespace dm::auth {

/// The secret file: `auth.jwt_secret_file` (a relative name is taken from
/// the folder of the config file that set it), else `<state_dir>/jwt.secret`.
std::filesystem::path secret_path(const config::Config& config, const std::filesystem::path& state_dir);

/// The file's contents without one trailing newline. Throws dm::UsageError
/// naming the file when it is missing, unreadable, larger than 64 KiB or
/// shorter than 32 bytes. Logs a warning when other users may read it.
std::string load_secret(const std::filesystem::path& file);

/// load_secret(), creating the file first when it does not exist: 48 random
/// bytes (OpenSSL RAND_bytes) in base64url and a newline, mode 0600, in a
/// folder created when missing. The file appears complete or not at all
/// (written aside, then hard-linked into place without replacing anything),
/// so processes racing to create it all end up with the winner's secret.
std::string load_or_create_secret(const std::filesystem::path& file);

/// The secret as both programs use it: a configured `auth.jwt_secret_file`
/// must exist (load_secret()); the default `<state>/jwt.secret` is created
/// when missing (load_or_create_secret()).
std::string configured_secret(const config::Config& config, const std::filesystem::path& state_dir);

} // namespace dm::auth
