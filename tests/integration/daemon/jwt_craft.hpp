#pragma once
// Hand-made JWTs for the refusal cases: any header, any payload, signed with
// HMAC-SHA256/384/512 or not at all.

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

namespace dm::test {

inline std::string base64url(const std::string& in)
{
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (i + 1 == in.size()) {
    const auto n = static_cast<unsigned char>(in[i]) << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
  } else if (i + 2 == in.size()) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
  }
  return out;
}

/// header.payload.signature with `alg` in the header; "none" leaves the signature empty.
inline std::string craft_jwt(const std::string& alg, const std::string& payload_json, const std::string& secret)
{
  const std::string signing_input =
      base64url(R"({"alg":")" + alg + R"(","typ":"JWT"})") + "." + base64url(payload_json);
  if (alg == "none")
    return signing_input + ".";
  const EVP_MD* md = alg == "HS512" ? EVP_sha512() : alg == "HS384" ? EVP_sha384() : EVP_sha256();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(signing_input.data()),
       signing_input.size(), mac, &len);
  return signing_input + "." + base64url(std::string(reinterpret_cast<const char*>(mac), len));
}

} // namespace dm::test
