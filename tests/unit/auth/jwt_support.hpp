#pragma once
// Tokens built by hand for the auth tests: base64url and HMAC straight from
// their definitions (RFC 4648 5, RFC 7515), independent of the code under test.

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace dm::test {

inline std::string b64url(std::string_view bytes)
{
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : bytes) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0)
    out.push_back(alphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

inline std::string b64url_decode(std::string_view text)
{
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    int v = 0;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    else
      return "<invalid>";
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

inline std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data)
{
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       out, &length);
  return std::string(reinterpret_cast<const char*>(out), length);
}

/// header.payload.signature with an HMAC signature of `md`.
inline std::string sign(std::string_view header_json, std::string_view payload_json, std::string_view secret,
                        const EVP_MD* md = EVP_sha256())
{
  const std::string input = b64url(header_json) + "." + b64url(payload_json);
  return input + "." + b64url(hmac(md, secret, input));
}

inline constexpr std::string_view hs256_header = R"({"alg":"HS256","typ":"JWT"})";

/// The middle part of a token, decoded.
inline std::string payload_of(std::string_view token)
{
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  return b64url_decode(token.substr(first + 1, second - first - 1));
}

inline std::string header_of(std::string_view token)
{
  return b64url_decode(token.substr(0, token.find('.')));
}

} // namespace dm::test
