#include "dm/auth/role.hpp"
#include "dm/util/error.hpp"

#include <catch2/catch.hpp>

using dm::auth::Role;

TEST_CASE("roles parse from their exact names and print back", "[auth][role]")
{
  for (const Role role : {Role::user, Role::viewer, Role::analyst, Role::admin})
    CHECK(dm::auth::parse_role(dm::auth::to_string(role)) == role);
  CHECK(dm::auth::to_string(Role::analyst) == "analyst");
  CHECK(dm::auth::parse_role("admin") == Role::admin);
}

TEST_CASE("an unknown role names the value and the valid ones", "[auth][role]")
{
  CHECK_THROWS_MATCHES(dm::auth::parse_role("superuser"), dm::UsageError,
                       Catch::Matchers::Message("unknown role 'superuser' (expected user, viewer, analyst or admin)"));
  CHECK_THROWS_AS(dm::auth::parse_role("Admin"), dm::UsageError);
  CHECK_THROWS_AS(dm::auth::parse_role(""), dm::UsageError);
  CHECK_THROWS_AS(dm::auth::parse_role("admin "), dm::UsageError);
}

TEST_CASE("each role holds the rights of the roles below it", "[auth][role]")
{
  using dm::auth::role_allows;
  CHECK(role_allows(Role::admin, Role::admin));
  CHECK(role_allows(Role::admin, Role::analyst));
  CHECK(role_allows(Role::admin, Role::viewer));
  CHECK_FALSE(role_allows(Role::analyst, Role::admin));
  CHECK(role_allows(Role::analyst, Role::analyst));
  CHECK(role_allows(Role::analyst, Role::viewer));
  CHECK_FALSE(role_allows(Role::viewer, Role::admin));
  CHECK_FALSE(role_allows(Role::viewer, Role::analyst));
  CHECK(role_allows(Role::viewer, Role::viewer));
  CHECK(role_allows(Role::viewer, Role::user));
  CHECK(role_allows(Role::user, Role::user));
  CHECK_FALSE(role_allows(Role::user, Role::viewer));
}
