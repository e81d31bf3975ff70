#pragma once
// Base64url without padding (RFC 4648 section 5), the encoding of the three
// parts of a JWT and of generated secrets. The bit work is OpenSSL's; this
// only maps the URL-safe alphabet and the padding.

#include <optional>
#include <string>
#include <string_view>

namespace dm::auth {

/// Encodes bytes as base64url without `=` padding.
std::string base64url_encode(std::string_view bytes);

/// Decodes unpadded base64url. Returns nullopt for any character outside the
/// URL-safe alphabet (including `=`, `+`, `/` and white space) and for a
/// length that no encoding produces (1 modulo 4).
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace dm::auth
