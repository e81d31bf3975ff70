#include "jwt_support.hpp"

#include "dm/auth/token_issuer.hpp"
#include "dm/auth/token_verifier.hpp"
#include "dm/util/error.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <atomic>
#include <thread>
#include <vector>

using dm::auth::Role;
using dm::auth::TokenVerifier;
using dm::test::b64url;
using dm::test::hs256_header;
using dm::test::sign;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

const std::string secret = "0123456789abcdef0123456789abcdef-unit-test";
const std::string other_secret = "fedcba9876543210fedcba9876543210-unit-test";
constexpr std::int64_t now = 1'793'000'000; // 2026-10-26T07:33:20Z

std::string claims(std::string_view extra = "", std::int64_t exp = now + 600, std::string_view role = "analyst")
{
  return fmt::format(R"({{"sub":"42","role":"{}","exp":{},"iat":{}{}{}}})", role, exp, now - 10,
                     extra.empty() ? "" : ",", extra);
}

TokenVerifier verifier(int leeway = 30)
{
  return TokenVerifier(secret, "", "", leeway);
}

std::string refusal(const TokenVerifier& v, const std::string& token, std::int64_t at = now)
{
  try {
    v.verify(token, at);
  } catch (const dm::Unauthorised& e) {
    return e.what();
  }
  return "accepted";
}

} // namespace

TEST_CASE("a valid HS256 token is accepted with its claims", "[auth][jwt]")
{
  const auto token = sign(hs256_header,
                          fmt::format(R"({{"sub":"user-7","role":"admin","exp":{},"nbf":{},"iat":{},"iss":"dm","aud":"api"}})",
                                      now + 600, now - 5, now - 10),
                          secret);
  const auto c = TokenVerifier(secret, "dm", "api", 30).verify(token, now);
  CHECK(c.sub == "user-7");
  CHECK(c.role == Role::admin);
  CHECK(c.exp == now + 600);
  REQUIRE(c.nbf.has_value());
  CHECK(*c.nbf == now - 5);
  REQUIRE(c.iat.has_value());
  CHECK(*c.iat == now - 10);
  CHECK(c.iss == "dm");
  CHECK(c.aud == "api");
}

TEST_CASE("optional claims may be absent; a numeric sub reads as decimal", "[auth][jwt]")
{
  const auto c = verifier().verify(sign(hs256_header, fmt::format(R"({{"sub":12345,"role":"viewer","exp":{}}})", now + 60), secret), now);
  CHECK(c.sub == "12345");
  CHECK(c.role == Role::viewer);
  CHECK_FALSE(c.nbf.has_value());
  CHECK_FALSE(c.iat.has_value());
  CHECK(c.iss.empty());
  CHECK(c.aud.empty());
  // A header without typ is valid JWS.
  CHECK(refusal(verifier(), sign(R"({"alg":"HS256"})", claims(), secret)) == "accepted");
}

TEST_CASE("tokens from issue_token() verify", "[auth][jwt]")
{
  const auto token = dm::auth::issue_token(secret, Role::viewer, "dash-1", std::chrono::seconds(90), "dm", "api", now);
  CHECK_THAT(dm::test::header_of(token), Contains(R"("alg":"HS256")"));
  const auto c = TokenVerifier(secret, "dm", "api", 0).verify(token, now);
  CHECK(c.sub == "dash-1");
  CHECK(c.role == Role::viewer);
  CHECK(c.exp == now + 90);
  CHECK(c.iat == now);
  CHECK(c.iss == "dm");
  CHECK(c.aud == "api");
  CHECK_THAT(refusal(TokenVerifier(secret, "dm", "api", 0), token, now + 90), Contains("token expired at"));
  CHECK_THAT(refusal(TokenVerifier(other_secret, "dm", "api", 0), token), Equals("token signature does not match"));
}

TEST_CASE("issue_token() leaves out empty sub, iss and aud", "[auth][jwt]")
{
  const auto token = dm::auth::issue_token(secret, Role::admin, "", std::chrono::hours(1), "", "", now);
  const auto payload = dm::test::payload_of(token);
  CHECK_THAT(payload, !Contains("\"sub\"") && !Contains("\"iss\"") && !Contains("\"aud\"") && Contains(R"("role":"admin")"));
  CHECK_THROWS_AS(dm::auth::issue_token("short", Role::admin, "x", std::chrono::hours(1), "", "", now), dm::UsageError);
  CHECK_THROWS_AS(dm::auth::issue_token(secret, Role::admin, "x", std::chrono::seconds(0), "", "", now), dm::UsageError);
}

TEST_CASE("the algorithm is pinned to HS256", "[auth][jwt]")
{
  const auto v = verifier();
  SECTION("alg none without a signature")
  {
    const auto token = b64url(R"({"alg":"none","typ":"JWT"})") + "." + b64url(claims()) + ".";
    CHECK_THAT(refusal(v, token), Equals("token algorithm none is not accepted (HS256 only)"));
    CHECK_THAT(refusal(v, b64url(R"({"alg":"none"})") + "." + b64url(claims()) + "."), Contains("algorithm none"));
    CHECK_THAT(refusal(v, b64url(R"({"alg":"NONE"})") + "." + b64url(claims()) + "."), Contains("algorithm NONE"));
  }
  SECTION("alg none with the HS256 signature of the same parts")
  {
    const std::string header = R"({"alg":"none","typ":"JWT"})";
    CHECK_THAT(refusal(v, sign(header, claims(), secret)), Contains("algorithm none is not accepted"));
  }
  SECTION("HS384 and HS512 signed with the right secret")
  {
    CHECK_THAT(refusal(v, sign(R"({"alg":"HS512","typ":"JWT"})", claims(), secret, EVP_sha512())),
               Equals("token algorithm HS512 is not accepted (HS256 only)"));
    CHECK_THAT(refusal(v, sign(R"({"alg":"HS384","typ":"JWT"})", claims(), secret, EVP_sha384())),
               Equals("token algorithm HS384 is not accepted (HS256 only)"));
  }
  SECTION("an HS256 signature under a header that names another algorithm")
  {
    CHECK_THAT(refusal(v, sign(R"({"alg":"RS256","typ":"JWT"})", claims(), secret)),
               Equals("token algorithm RS256 is not accepted (HS256 only)"));
    CHECK_THAT(refusal(v, sign(R"({"alg":"hs256","typ":"JWT"})", claims(), secret)), Contains("algorithm hs256"));
    CHECK_THAT(refusal(v, sign(R"({"alg":"ES256"})", claims(), secret)), Contains("algorithm ES256"));
  }
  SECTION("no alg, or not a string")
  {
    CHECK_THAT(refusal(v, sign(R"({"typ":"JWT"})", claims(), secret)), Equals("token header has no alg"));
    CHECK_THAT(refusal(v, sign(R"({"alg":256})", claims(), secret)), Equals("token header has no alg"));
  }
  SECTION("critical header extensions and a foreign typ")
  {
    CHECK_THAT(refusal(v, sign(R"({"alg":"HS256","crit":["b64"],"b64":false})", claims(), secret)), Contains("critical"));
    CHECK_THAT(refusal(v, sign(R"({"alg":"HS256","typ":"at+jwt"})", claims(), secret)), Contains("typ"));
  }
}

TEST_CASE("forged signatures and tampered payloads are refused", "[auth][jwt]")
{
  const auto v = verifier();
  const auto good = sign(hs256_header, claims(), secret);
  REQUIRE(refusal(v, good) == "accepted");

  SECTION("signed with another secret")
  {
    CHECK_THAT(refusal(v, sign(hs256_header, claims(), other_secret)), Equals("token signature does not match"));
  }
  SECTION("signature altered, truncated or missing")
  {
    auto flipped = good;
    flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
    CHECK_THAT(refusal(v, flipped), Equals("token signature does not match"));
    CHECK_THAT(refusal(v, good.substr(0, good.size() - 4)), Equals("token signature does not match"));
    CHECK_THAT(refusal(v, good.substr(0, good.rfind('.') + 1)), Equals("token has no signature"));
  }
  SECTION("payload re-encoded with a higher role, signature kept")
  {
    const auto signature = good.substr(good.rfind('.'));
    const auto forged = b64url(hs256_header) + "." + b64url(claims("", now + 600, "admin")) + signature;
    CHECK_THAT(refusal(v, forged), Equals("token signature does not match"));
  }
  SECTION("header re-encoded, signature kept")
  {
    const auto forged = b64url(R"({"typ":"JWT","alg":"HS256"})") + good.substr(good.find('.'));
    CHECK_THAT(refusal(v, forged), Equals("token signature does not match"));
  }
}

TEST_CASE("exp is required and checked with the leeway", "[auth][jwt]")
{
  const auto v = verifier(30);
  CHECK_THAT(refusal(v, sign(hs256_header, R"({"sub":"a","role":"viewer"})", secret)), Equals("token has no exp claim"));
  CHECK_THAT(refusal(v, sign(hs256_header, R"({"sub":"a","role":"viewer","exp":"tomorrow"})", secret)),
             Equals("token exp claim is not a number"));
  CHECK_THAT(refusal(v, sign(hs256_header, R"({"sub":"a","role":"viewer","exp":-5})", secret)), Contains("out of range"));
  CHECK_THAT(refusal(v, sign(hs256_header, R"({"sub":"a","role":"viewer","exp":1e300})", secret)), Contains("out of range"));

  // Expired 31 s ago: beyond the 30 s leeway.
  CHECK_THAT(refusal(v, sign(hs256_header, claims("", now - 31), secret)),
             Equals("token expired at 2026-10-26T07:32:49Z"));
  // Exactly at exp + leeway it is no longer accepted (RFC 7519 4.1.4: "on or after").
  CHECK_THAT(refusal(v, sign(hs256_header, claims("", now - 30), secret)), Contains("token expired at"));
  // Expired 29 s ago: within the leeway.
  CHECK(v.verify(sign(hs256_header, claims("", now - 29), secret), now).exp == now - 29);
  // A fractional exp is cut to whole seconds.
  CHECK(v.verify(sign(hs256_header, fmt::format(R"({{"role":"viewer","exp":{}.75}})", now + 5), secret), now).exp == now + 5);

  const auto strict = verifier(0);
  CHECK_THAT(refusal(strict, sign(hs256_header, claims("", now), secret)), Contains("token expired at"));
  CHECK(refusal(strict, sign(hs256_header, claims("", now + 1), secret)) == "accepted");
}

TEST_CASE("nbf and iat are checked with the leeway", "[auth][jwt]")
{
  const auto v = verifier(30);
  CHECK_THAT(refusal(v, sign(hs256_header, claims(fmt::format(R"("nbf":{})", now + 31)), secret)),
             Equals("token is not valid before 2026-10-26T07:33:51Z"));
  CHECK(refusal(v, sign(hs256_header, claims(fmt::format(R"("nbf":{})", now + 30)), secret)) == "accepted");
  CHECK(refusal(v, sign(hs256_header, claims(fmt::format(R"("nbf":{})", now - 1000)), secret)) == "accepted");
  CHECK_THAT(refusal(v, sign(hs256_header, claims(R"("nbf":"soon")"), secret)), Equals("token nbf claim is not a number"));

  const auto issued_at = [](std::int64_t iat) {
    return fmt::format(R"({{"role":"viewer","exp":{},"iat":{}}})", now + 600, iat);
  };
  CHECK_THAT(refusal(v, sign(hs256_header, issued_at(now + 31), secret)), Contains("issued in the future"));
  CHECK(refusal(v, sign(hs256_header, issued_at(now + 30), secret)) == "accepted");
}

TEST_CASE("iss and aud are checked when configured", "[auth][jwt]")
{
  const TokenVerifier v(secret, "dm-issuer", "dm-api", 30);
  const auto with = [](std::string_view extra) { return sign(hs256_header, claims(extra), secret); };

  CHECK(refusal(v, with(R"("iss":"dm-issuer","aud":"dm-api")")) == "accepted");
  CHECK_THAT(refusal(v, with(R"("iss":"evil","aud":"dm-api")")),
             Equals("token issuer 'evil' is not accepted (expected 'dm-issuer')"));
  CHECK_THAT(refusal(v, with(R"("aud":"dm-api")")), Equals("token has no iss claim (expected 'dm-issuer')"));
  CHECK_THAT(refusal(v, with(R"("iss":7,"aud":"dm-api")")), Contains("iss claim is not a string"));

  CHECK_THAT(refusal(v, with(R"("iss":"dm-issuer","aud":"other")")),
             Equals("token audience 'other' is not accepted (expected 'dm-api')"));
  CHECK_THAT(refusal(v, with(R"("iss":"dm-issuer")")), Equals("token has no aud claim (expected 'dm-api')"));
  CHECK_THAT(refusal(v, with(R"("iss":"dm-issuer","aud":42)")), Contains("neither a string nor an array"));

  SECTION("aud as an array")
  {
    const auto c = v.verify(with(R"("iss":"dm-issuer","aud":["billing","dm-api"])"), now);
    CHECK(c.aud == "dm-api");
    CHECK_THAT(refusal(v, with(R"("iss":"dm-issuer","aud":["billing","other"])")),
               Equals("token audience does not include 'dm-api'"));
    CHECK_THAT(refusal(v, with(R"("iss":"dm-issuer","aud":[])")), Contains("does not include"));
    CHECK_THAT(refusal(v, with(R"("iss":"dm-issuer","aud":[1,"dm-api"])")), Contains("not a string"));
  }
  SECTION("not configured: any iss and aud pass and are reported")
  {
    const auto c = verifier().verify(with(R"("iss":"anyone","aud":["x","y"])"), now);
    CHECK(c.iss == "anyone");
    CHECK(c.aud == "x");
  }
}

TEST_CASE("the role claim is required and must be known", "[auth][jwt]")
{
  const auto v = verifier();
  CHECK_THAT(refusal(v, sign(hs256_header, fmt::format(R"({{"sub":"a","exp":{}}})", now + 60), secret)),
             Equals("token has no role claim"));
  CHECK_THAT(refusal(v, sign(hs256_header, claims("", now + 60, "root"), secret)),
             Equals("token role 'root' is unknown (expected user, viewer, analyst or admin)"));
  CHECK_THAT(refusal(v, sign(hs256_header, claims("", now + 60, "Admin"), secret)), Contains("'Admin' is unknown"));
  CHECK_THAT(refusal(v, sign(hs256_header, fmt::format(R"({{"role":["admin"],"exp":{}}})", now + 60), secret)),
             Equals("token role claim is not a string"));
  for (const auto& [name, role] : {std::pair{"viewer", Role::viewer}, {"analyst", Role::analyst}, {"admin", Role::admin}})
    CHECK(v.verify(sign(hs256_header, claims("", now + 60, name), secret), now).role == role);
}

TEST_CASE("a user token names its learner by a numeric sub", "[auth][jwt]")
{
  const auto v = verifier();
  const auto c = v.verify(sign(hs256_header, claims("", now + 60, "user"), secret), now);
  CHECK(c.role == Role::user);
  CHECK(c.sub == "42");
  CHECK_THAT(refusal(v, sign(hs256_header, fmt::format(R"({{"sub":"anna","role":"user","exp":{}}})", now + 60), secret)),
             Equals("token with role user has no numeric sub ('anna'): it must name the learner"));
  CHECK_THAT(refusal(v, sign(hs256_header, fmt::format(R"({{"role":"user","exp":{}}})", now + 60), secret)),
             Contains("token with role user has no numeric sub"));
}

TEST_CASE("secrets shorter than 32 bytes are refused", "[auth][jwt]")
{
  CHECK_THROWS_MATCHES(TokenVerifier(std::string(31, 'k'), "", "", 30), dm::UsageError,
                       Catch::Matchers::Message("the JWT secret is 31 bytes long; HS256 needs at least 32 bytes"));
  CHECK_THROWS_AS(TokenVerifier("", "", "", 30), dm::UsageError);
  CHECK_THROWS_AS(TokenVerifier(secret, "", "", -1), dm::UsageError);
  CHECK_NOTHROW(TokenVerifier(std::string(32, 'k'), "", "", 0));
}

TEST_CASE("malformed tokens are refused with a reason", "[auth][jwt]")
{
  const auto v = verifier();
  CHECK_THAT(refusal(v, ""), Equals("token is empty"));
  CHECK_THAT(refusal(v, "a.b"), Contains("malformed"));
  CHECK_THAT(refusal(v, "abc"), Contains("malformed"));
  CHECK_THAT(refusal(v, "a.b.c.d"), Contains("malformed"));
  CHECK_THAT(refusal(v, sign(hs256_header, claims(), secret) + ".x"), Contains("malformed"));
  CHECK_THAT(refusal(v, "!!!.***.###"), Equals("token header is not valid base64url"));
  CHECK_THAT(refusal(v, "eyJhbGciOiJIUzI1NiJ9=.e30.c2ln"), Equals("token header is not valid base64url"));
  CHECK_THAT(refusal(v, "a.b.c"), Equals("token header is not valid base64url"));
  CHECK_THAT(refusal(v, b64url("hello") + ".e30.c2ln"), Equals("token header is not a JSON object"));
  CHECK_THAT(refusal(v, b64url("[1,2]") + ".e30.c2ln"), Equals("token header is not a JSON object"));
  CHECK_THAT(refusal(v, b64url(hs256_header) + ".%%%.c2ln"), Equals("token payload is not valid base64url"));
  CHECK_THAT(refusal(v, b64url(hs256_header) + "." + b64url("{\"role\":") + ".c2ln"), Equals("token payload is not a JSON object"));
  CHECK_THAT(refusal(v, sign(hs256_header, "\"just a string\"", secret)), Equals("token payload is not a JSON object"));
  CHECK_THAT(refusal(v, " " + sign(hs256_header, claims(), secret)), Contains("base64url"));
  CHECK_THAT(refusal(v, std::string(TokenVerifier::max_token_length + 1, 'a')), Contains("longer than"));
  // Bytes from the token are not echoed raw into messages.
  CHECK_THAT(refusal(v, sign("{\"alg\":\"H\\u0000S\\n256\"}", claims(), secret)), Contains("algorithm H?S?256 is not"));
}

TEST_CASE("one verifier serves several threads", "[auth][jwt]")
{
  const auto v = verifier();
  const auto good = sign(hs256_header, claims(), secret);
  const auto bad = sign(hs256_header, claims(), other_secret);
  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (v.verify(good, now).sub == "42")
          ++accepted;
        try {
          v.verify(bad, now);
        } catch (const dm::Unauthorised&) {
          ++refused;
        }
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(accepted == 2000);
  CHECK(refused == 2000);
}
