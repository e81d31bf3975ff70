#include "dm/config/listen_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace dm::config {

namespace {

bool is_host_name_char(char c) noexcept
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

bool is_ipv6_address(std::string_view text)
{
  // A zone (`%eth0`) is legal in a listen address but not in inet_pton's input.
  const std::string_view address = text.substr(0, text.find('%'));
  if (address.size() != text.size() && address.size() + 1 == text.size())
    return false;
  const std::string copy(address);
  in6_addr parsed{};
  return inet_pton(AF_INET6, copy.c_str(), &parsed) == 1;
}

std::optional<std::uint16_t> parse_port(std::string_view text) noexcept
{
  if (text.empty() || text.size() > 5 || !std::all_of(text.begin(), text.end(), [](char c) {
        return c >= '0' && c <= '9';
      }))
    return std::nullopt;
  unsigned value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  if (value < 1 || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

} // namespace

std::optional<ListenAddress> parse_listen_address(std::string_view text)
{
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (!is_ipv6_address(host))
      return std::nullopt;
  } else {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos)
      return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.empty() || !std::all_of(host.begin(), host.end(), is_host_name_char))
      return std::nullopt;
  }
  const auto number = parse_port(port);
  if (!number)
    return std::nullopt;
  return ListenAddress{std::string(host), *number};
}

} // namespace dm::config
