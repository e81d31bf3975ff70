#pragma once
// Verification of the bearer tokens of DESIGN 8: HS256 JWTs with a required
// `exp` and `role`, `iss` and `aud` checked when configured.

#include "dm/auth/claims.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace dm::auth {

/// Checks tokens against one HMAC secret. The algorithm is pinned to HS256:
/// a token naming any other algorithm in its header (`none`, HS384, HS512,
/// RS256, ...) is refused before its signature is looked at, so neither
/// algorithm confusion nor unsigned tokens get through.
///
/// Thread-safe: verify() is const and uses its own libjwt objects per call.
class TokenVerifier {
public:
  /// `issuer` / `audience`: the required `iss` / `aud`; empty = not checked.
  /// `leeway_s`: seconds of clock skew allowed on `exp`, `nbf` and `iat`.
  /// Throws dm::UsageError when the secret is shorter than 32 bytes (naming
  /// its length) or the leeway is negative.
  TokenVerifier(std::string secret, std::string issuer, std::string audience, int leeway_s);

  /// The claims of a valid token at `now_unix` (seconds since the epoch).
  /// Throws dm::Unauthorised with a short reason ("token expired at
  /// 2026-11-02T08:15:00Z", "token signature does not match", "token has no
  /// exp claim", ...) for a malformed, forged, expired, not yet valid or
  /// foreign token, or one without a known role.
  Claims verify(std::string_view token, std::int64_t now_unix) const;

  /// Tokens longer than this are refused unread (the HTTP header limit is 8 KiB).
  static constexpr std::size_t max_token_length = 8192;

private:
  std::string secret_;
  std::string issuer_;
  std::string audience_;
  std::int64_t leeway_s_;
};

} // namespace dm::auth
