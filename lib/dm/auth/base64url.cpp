#include "dm/auth/base64url.hpp"

#include <openssl/evp.h>

#include <climits>

namespace dm::auth {

namespace {

bool is_base64url_char(char c) noexcept
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

unsigned char* as_bytes(char* p) noexcept
{
  return reinterpret_cast<unsigned char*>(p);
}

const unsigned char* as_bytes(const char* p) noexcept
{
  return reinterpret_cast<const unsigned char*>(p);
}

} // namespace

std::string base64url_encode(std::string_view bytes)
{
  if (bytes.empty())
    return {};
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int written = EVP_EncodeBlock(as_bytes(out.data()), as_bytes(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  while (!out.empty() && out.back() == '=')
    out.pop_back();
  for (char& c : out) {
    if (c == '+')
      c = '-';
    else if (c == '/')
      c = '_';
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text)
{
  if (text.size() % 4 == 1 || text.size() > INT_MAX / 2)
    return std::nullopt;
  std::string padded;
  padded.reserve(text.size() + 3);
  for (const char c : text) {
    if (!is_base64url_char(c))
      return std::nullopt;
    padded.push_back(c == '-' ? '+' : c == '_' ? '/' : c);
  }
  const std::size_t padding = (4 - text.size() % 4) % 4;
  padded.append(padding, '=');
  if (padded.empty())
    return std::string();
  std::string out(padded.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(as_bytes(out.data()), as_bytes(padded.data()), static_cast<int>(padded.size()));
  if (n < 0)
    return std::nullopt;
  // EVP_DecodeBlock counts the zero bytes that stand for the padding.
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

} // namespace dm::auth
