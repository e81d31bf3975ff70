#include "jwt_support.hpp"

#include "dm/auth/base64url.hpp"

#include <catch2/catch.hpp>

using dm::auth::base64url_decode;
using dm::auth::base64url_encode;

TEST_CASE("base64url matches the RFC 4648 test vectors without padding", "[auth][base64url]")
{
  // RFC 4648 section 10, padding removed.
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    CHECK(base64url_encode(plain) == encoded);
    CHECK(base64url_decode(encoded) == plain);
  }
  // The URL-safe alphabet: 0xfb 0xff -> "-_8".
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK(base64url_decode("-_8") == std::string("\xfb\xff"));
}

TEST_CASE("base64url round-trips every byte value", "[auth][base64url]")
{
  std::string all;
  for (int i = 0; i < 256; ++i)
    all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    const auto part = all.substr(0, n);
    CHECK(base64url_encode(part) == dm::test::b64url(part));
    CHECK(base64url_decode(base64url_encode(part)) == part);
  }
}

TEST_CASE("base64url refuses what no encoder produces", "[auth][base64url]")
{
  CHECK_FALSE(base64url_decode("Zg==").has_value());
  CHECK_FALSE(base64url_decode("Zm9v+w").has_value());
  CHECK_FALSE(base64url_decode("Zm9v/w").has_value());
  CHECK_FALSE(base64url_decode("Zm9 v").has_value());
  CHECK_FALSE(base64url_decode("Zm9vY").has_value()); // 1 modulo 4
  CHECK_FALSE(base64url_decode("\n").has_value());
}
