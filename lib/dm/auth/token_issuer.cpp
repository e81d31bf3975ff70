#include "dm/auth/token_issuer.hpp"

#include "dm/util/error.hpp"

#include <fmt/format.h>
#include <jwt.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace dm::auth {

namespace {

struct JwtFree {
  void operator()(jwt_t* jwt) const noexcept { jwt_free(jwt); }
};

void check(int rc, const char* what)
{
  if (rc != 0)
    throw std::runtime_error(fmt::format("cannot build token: {}: {}", what, std::strerror(rc)));
}

} // namespace

std::string issue_token(const std::string& secret, Role role, const std::string& sub, std::chrono::seconds ttl,
                        const std::string& issuer, const std::string& audience, std::int64_t now_unix)
{
  if (secret.size() < 32)
    throw UsageError(fmt::format("the JWT secret is {} bytes long; HS256 needs at least 32 bytes", secret.size()));
  if (ttl.count() <= 0)
    throw UsageError(fmt::format("token lifetime {} s: must be positive", ttl.count()));
  // The verifier refuses instants after 9999-12-31.
  if (ttl.count() > 253402300799 - now_unix)
    throw UsageError(fmt::format("token lifetime {} s: the token would expire after the year 9999", ttl.count()));

  jwt_t* raw = nullptr;
  check(jwt_new(&raw), "jwt_new");
  const std::unique_ptr<jwt_t, JwtFree> jwt(raw);
  check(jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                    static_cast<int>(secret.size())),
        "jwt_set_alg");
  static_assert(sizeof(long) >= sizeof(std::int64_t), "NumericDate claims need 64-bit long");
  check(jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(now_unix)), "iat");
  check(jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(now_unix + ttl.count())), "exp");
  check(jwt_add_grant(jwt.get(), "role", std::string(to_string(role)).c_str()), "role");
  if (!sub.empty())
    check(jwt_add_grant(jwt.get(), "sub", sub.c_str()), "sub");
  if (!issuer.empty())
    check(jwt_add_grant(jwt.get(), "iss", issuer.c_str()), "iss");
  if (!audience.empty())
    check(jwt_add_grant(jwt.get(), "aud", audience.c_str()), "aud");

  char* encoded = jwt_encode_str(jwt.get());
  if (encoded == nullptr)
    throw std::runtime_error(fmt::format("cannot encode token: {}", std::strerror(errno)));
  std::string token(encoded);
  std::free(encoded);
  return token;
}

} // namespace dm::auth
