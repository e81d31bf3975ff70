#include "jwt_support.hpp"
#include "temp_dir.hpp"

#include "dm/auth/local_token.hpp"
#include "dm/auth/secret_file.hpp"
#include "dm/auth/token_verifier.hpp"

#include <catch2/catch.hpp>

#include <pwd.h>
#include <unistd.h>

#include <chrono>

namespace {

std::int64_t unix_now()
{
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

} // namespace

TEST_CASE("the local token is a short-lived admin token of this user", "[auth][local]")
{
  const dm::test::TempDir dir;
  dm::config::Config config;
  const auto before = unix_now();
  const auto token = dm::auth::mint_local_token(config, dir.path());
  const auto after = unix_now();

  // The secret was created under the state folder, and the token verifies with it.
  const auto secret = dm::auth::load_secret(dir.path() / "jwt.secret");
  const auto claims = dm::auth::TokenVerifier(secret, "", "", 0).verify(token, after);
  CHECK(claims.role == dm::auth::Role::admin);
  const passwd* user = ::getpwuid(::geteuid());
  REQUIRE(user != nullptr);
  CHECK(claims.sub == std::string("local:") + user->pw_name);
  CHECK(dm::auth::local_user_name() == user->pw_name);
  REQUIRE(claims.iat.has_value());
  CHECK(*claims.iat >= before);
  CHECK(*claims.iat <= after);
  CHECK(claims.exp - *claims.iat == 300);
}

TEST_CASE("the local token carries the configured issuer and audience", "[auth][local]")
{
  const dm::test::TempDir dir;
  dm::config::Config config;
  config.auth.issuer = "dm-prod";
  config.auth.audience = "dm-api";
  const auto token = dm::auth::mint_local_token(config, dir.path(), std::chrono::seconds(60));
  const auto secret = dm::auth::load_secret(dir.path() / "jwt.secret");
  const auto claims = dm::auth::TokenVerifier(secret, "dm-prod", "dm-api", 0).verify(token, unix_now());
  CHECK(claims.exp - *claims.iat == 60);
  CHECK(claims.iss == "dm-prod");
  CHECK(claims.aud == "dm-api");
  // A second token of the same state folder uses the same secret.
  const auto second = dm::auth::mint_local_token(config, dir.path());
  CHECK_NOTHROW(dm::auth::TokenVerifier(secret, "dm-prod", "dm-api", 0).verify(second, unix_now()));
}
