#include "dm/auth/local_token.hpp"

#include "dm/auth/secret_file.hpp"
#include "dm/auth/token_issuer.hpp"

#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace dm::auth {

std::string local_user_name()
{
  const long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size > 0 ? static_cast<std::size_t>(size) : 16384);
  passwd entry{};
  passwd* found = nullptr;
  const uid_t uid = geteuid();
  if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr &&
      found->pw_name != nullptr && *found->pw_name != '\0')
    return found->pw_name;
  return "uid" + std::to_string(uid);
}

std::string mint_local_token(const config::Config& config, const std::filesystem::path& state_dir,
                             std::chrono::seconds ttl)
{
  const std::string secret = configured_secret(config, state_dir);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return issue_token(secret, Role::admin, "local:" + local_user_name(), ttl, config.auth.issuer,
                     config.auth.audience, now);
}

} // namespace dm::auth
