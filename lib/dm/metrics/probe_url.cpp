#include "dm/metrics/probe_url.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <charconv>
#include <stdexcept>

namespace dm::metrics {

namespace {

bool starts_with_nocase(std::string_view s, std::string_view prefix) noexcept
{
  if (s.size() < prefix.size())
    return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i])
      return false;
  }
  return true;
}

int hex_digit(char c) noexcept
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s)
{
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string base64(std::string_view s)
{
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool is_host_char(char c) noexcept
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

/// Characters allowed unescaped in a request target: printable ASCII but space.
bool is_target_char(char c) noexcept
{
  return c > ' ' && c < 0x7f;
}

} // namespace

ProbeUrl parse_probe_url(std::string_view url)
{
  ProbeUrl out;
  std::string_view rest;
  if (starts_with_nocase(url, "https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else if (starts_with_nocase(url, "http://")) {
    rest = url.substr(7);
  } else {
    throw std::invalid_argument("the URL does not start with http:// or https://");
  }
  const std::string_view default_port = out.tls ? "443" : "80";

  const std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);

  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    // RFC 7617: user-id ":" password, each percent-decoded on its own so that
    // an encoded colon stays part of the name.
    const std::string_view info = authority.substr(0, at);
    const std::size_t colon = info.find(':');
    const std::string user = percent_decode(info.substr(0, colon));
    const std::string password = colon == std::string_view::npos ? "" : percent_decode(info.substr(colon + 1));
    out.authorization = "Basic " + base64(user + ":" + password);
    authority.remove_prefix(at + 1);
  }

  std::string_view host;
  std::string_view port;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos)
      throw std::invalid_argument("the IPv6 address has no closing ]");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':'))
      throw std::invalid_argument("unexpected text after the IPv6 address");
    if (!after.empty())
      port = after.substr(1);
    if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos)
      throw std::invalid_argument(fmt::format("{:?} is not an IPv6 address", host));
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos)
      port = authority.substr(colon + 1);
    if (host.empty())
      throw std::invalid_argument("the URL has no host");
    for (const char c : host)
      if (!is_host_char(c))
        throw std::invalid_argument(fmt::format("{:?} is not a host name", host));
  }

  const bool explicit_port = !port.empty();
  if (explicit_port) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
      throw std::invalid_argument(fmt::format("{:?} is not a port number", port));
    out.port = std::to_string(value);
  } else {
    out.port = std::string(default_port);
  }
  out.host = std::string(host);

  std::string_view target = tail.substr(0, tail.find('#'));
  for (const char c : target)
    if (!is_target_char(c))
      throw std::invalid_argument("the path holds a space or control character (percent-encode it)");
  out.target = target.empty() || target.starts_with('?') ? "/" + std::string(target) : std::string(target);

  const std::string host_text = authority.starts_with('[') ? "[" + out.host + "]" : out.host;
  out.host_header = explicit_port && out.port != default_port ? host_text + ":" + out.port : host_text;
  return out;
}

std::string redact_url(std::string_view url)
{
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return std::string(url);
  const std::size_t authority = scheme_end + 3;
  const std::size_t authority_end = url.find_first_of("/?#", authority);
  const std::string_view auth = url.substr(authority, authority_end == std::string_view::npos
                                                          ? std::string_view::npos
                                                          : authority_end - authority);
  const std::size_t at = auth.rfind('@');
  if (at == std::string_view::npos)
    return std::string(url);
  const std::size_t colon = auth.substr(0, at).find(':');
  if (colon == std::string_view::npos)
    return std::string(url);
  return fmt::format("{}***{}", url.substr(0, authority + colon + 1), url.substr(authority + at));
}

} // namespace dm::metrics
