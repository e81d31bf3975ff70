#include "dm/auth/token_verifier.hpp"

#include "dm/auth/base64url.hpp"
#include "dm/util/error.hpp"
#include "dm/util/time.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <jwt.h>

#include <algorithm>

#include <cmath>
#include <memory>

namespace dm::auth {

namespace {

namespace json = boost::json;

/// Instants outside [1970, 9999] are not plausible token times.
constexpr std::int64_t max_instant = 253402300799; // 9999-12-31T23:59:59Z

struct JwtFree {
  void operator()(jwt_t* jwt) const noexcept { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

[[noreturn]] void refuse(std::string message)
{
  throw Unauthorised(std::move(message));
}

/// Text from the token, safe to put in a message: printable ASCII, at most 40 characters.
std::string printable(std::string_view text)
{
  std::string out;
  for (const char c : text.substr(0, 40))
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (text.size() > 40)
    out += "...";
  return out;
}

std::string instant(std::int64_t unix_s)
{
  return util::format_rfc3339_utc(unix_s * util::micros_per_second);
}

/// One part of the token, base64url-decoded and parsed as a JSON object.
json::object decode_part(std::string_view part, std::string_view name)
{
  const auto bytes = base64url_decode(part);
  if (!bytes)
    refuse(fmt::format("token {} is not valid base64url", name));
  json::error_code ec;
  json::value value = json::parse(*bytes, ec);
  if (ec || !value.is_object())
    refuse(fmt::format("token {} is not a JSON object", name));
  return std::move(value.as_object());
}

/// A NumericDate claim (RFC 7519 2): seconds since the epoch, integer or
/// not (fractions are cut off). nullopt when absent.
std::optional<std::int64_t> numeric_date(const json::object& claims, std::string_view name)
{
  const auto* value = claims.if_contains(name);
  if (value == nullptr)
    return std::nullopt;
  double seconds = 0;
  if (const auto* i = value->if_int64())
    seconds = static_cast<double>(*i);
  else if (const auto* u = value->if_uint64())
    seconds = static_cast<double>(*u);
  else if (const auto* d = value->if_double())
    seconds = *d;
  else
    refuse(fmt::format("token {} claim is not a number", name));
  if (!std::isfinite(seconds) || seconds < 0 || seconds > static_cast<double>(max_instant))
    refuse(fmt::format("token {} claim is out of range", name));
  return static_cast<std::int64_t>(seconds);
}

/// A claim that must be a string when present; empty when absent.
std::string string_claim(const json::object& claims, std::string_view name)
{
  const auto* value = claims.if_contains(name);
  if (value == nullptr)
    return {};
  if (!value->is_string())
    refuse(fmt::format("token {} claim is not a string", name));
  return std::string(value->get_string());
}

std::string subject_claim(const json::object& claims)
{
  const auto* value = claims.if_contains("sub");
  if (value == nullptr)
    return {};
  // Numeric subjects (user ids) are common in the wild; RFC 7519 wants a string.
  if (const auto* i = value->if_int64())
    return std::to_string(*i);
  if (const auto* u = value->if_uint64())
    return std::to_string(*u);
  return string_claim(claims, "sub");
}

bool is_user_id(std::string_view sub)
{
  return !sub.empty() && sub.size() <= 19 &&
         std::all_of(sub.begin(), sub.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

Role role_claim(const json::object& claims)
{
  const auto* value = claims.if_contains("role");
  if (value == nullptr)
    refuse("token has no role claim");
  if (!value->is_string())
    refuse("token role claim is not a string");
  const std::string_view role = value->get_string();
  for (const Role r : {Role::user, Role::viewer, Role::analyst, Role::admin})
    if (to_string(r) == role)
      return r;
  refuse(fmt::format("token role '{}' is unknown (expected user, viewer, analyst or admin)", printable(role)));
}

/// The matched audience; refuses a token that does not name `required`.
std::string check_audience(const json::object& claims, const std::string& required)
{
  const auto* value = claims.if_contains("aud");
  if (value == nullptr) {
    if (!required.empty())
      refuse(fmt::format("token has no aud claim (expected '{}')", required));
    return {};
  }
  if (const auto* s = value->if_string()) {
    if (!required.empty() && *s != required)
      refuse(fmt::format("token audience '{}' is not accepted (expected '{}')", printable(*s), required));
    return std::string(*s);
  }
  const auto* array = value->if_array();
  if (array == nullptr)
    refuse("token aud claim is neither a string nor an array");
  std::string first;
  for (const auto& entry : *array) {
    const auto* s = entry.if_string();
    if (s == nullptr)
      refuse("token aud claim holds a value that is not a string");
    if (first.empty())
      first = std::string(*s);
    if (!required.empty() && *s == required)
      return required;
  }
  if (!required.empty())
    refuse(fmt::format("token audience does not include '{}'", required));
  return first;
}

} // namespace

TokenVerifier::TokenVerifier(std::string secret, std::string issuer, std::string audience, int leeway_s)
    : secret_(std::move(secret)), issuer_(std::move(issuer)), audience_(std::move(audience)), leeway_s_(leeway_s)
{
  if (secret_.size() < 32)
    throw UsageError(
        fmt::format("the JWT secret is {} bytes long; HS256 needs at least 32 bytes", secret_.size()));
  if (leeway_s < 0)
    throw UsageError(fmt::format("the token leeway {} s is negative", leeway_s));
}

Claims TokenVerifier::verify(std::string_view token, std::int64_t now_unix) const
{
  if (token.empty())
    refuse("token is empty");
  if (token.size() > max_token_length)
    refuse(fmt::format("token is longer than {} bytes", max_token_length));

  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    refuse("token is malformed (expected three base64url parts separated by dots)");
  const auto header_part = token.substr(0, dot1);
  const auto payload_part = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const auto signature_part = token.substr(dot2 + 1);

  // The algorithm is decided here, from the header, before any signature
  // check: the key is an HMAC secret and only ever used as one.
  const json::object header = decode_part(header_part, "header");
  const auto* alg = header.if_contains("alg");
  if (alg == nullptr || !alg->is_string())
    refuse("token header has no alg");
  if (alg->get_string() != "HS256")
    refuse(fmt::format("token algorithm {} is not accepted (HS256 only)", printable(alg->get_string())));
  if (header.contains("crit"))
    refuse("token header has critical extensions, which are not supported");
  if (const auto* typ = header.if_contains("typ"); typ != nullptr && !(typ->is_string() && typ->get_string() == "JWT"))
    refuse("token typ is not JWT");
  const json::object claims = decode_part(payload_part, "payload");
  if (signature_part.empty())
    refuse("token has no signature");

  const std::string token_text(token);
  jwt_t* raw = nullptr;
  const int rc = jwt_decode(&raw, token_text.c_str(), reinterpret_cast<const unsigned char*>(secret_.data()),
                            static_cast<int>(secret_.size()));
  const JwtPtr jwt(raw);
  // The parts parsed above, so what remains for libjwt to refuse is the signature.
  if (rc != 0 || jwt == nullptr)
    refuse("token signature does not match");
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256)
    refuse("token algorithm is not accepted (HS256 only)");

  // The claims are read from the payload parsed above: the same bytes the
  // signature covers.
  Claims c;
  const auto exp = numeric_date(claims, "exp");
  if (!exp)
    refuse("token has no exp claim");
  c.exp = *exp;
  c.nbf = numeric_date(claims, "nbf");
  c.iat = numeric_date(claims, "iat");
  // RFC 7519 4.1.4: not accepted on or after exp.
  if (now_unix >= c.exp + leeway_s_)
    refuse(fmt::format("token expired at {}", instant(c.exp)));
  if (c.nbf && now_unix < *c.nbf - leeway_s_)
    refuse(fmt::format("token is not valid before {}", instant(*c.nbf)));
  if (c.iat && *c.iat - leeway_s_ > now_unix)
    refuse(fmt::format("token was issued in the future ({})", instant(*c.iat)));

  c.iss = string_claim(claims, "iss");
  if (!issuer_.empty()) {
    if (!claims.contains("iss"))
      refuse(fmt::format("token has no iss claim (expected '{}')", issuer_));
    if (c.iss != issuer_)
      refuse(fmt::format("token issuer '{}' is not accepted (expected '{}')", printable(c.iss), issuer_));
  }
  c.aud = check_audience(claims, audience_);
  c.sub = subject_claim(claims);
  c.role = role_claim(claims);
  if (c.role == Role::user && !is_user_id(c.sub))
    refuse(fmt::format("token with role user has no numeric sub ('{}'): it must name the learner", printable(c.sub)));
  return c;
}

} // namespace dm::auth
