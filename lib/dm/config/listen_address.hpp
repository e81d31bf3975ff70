#pragma once
// The `daemon.listen` address: where the daemon accepts connections.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dm::config {

struct ListenAddress {
  /// A host name, an IPv4 address or an IPv6 address without brackets.
  std::string host;
  std::uint16_t port = 0;

  bool operator==(const ListenAddress&) const = default;
};

/// Parses `host:port` (`127.0.0.1:8470`, `localhost:8470`) or `[ipv6]:port`
/// (`[::1]:8470`, `[fe80::1%eth0]:8470`). The port must be 1..65535, a host
/// name may hold letters, digits, `.`, `-` and `_`, and an IPv6 address must
/// be bracketed and valid. Returns nullopt on anything else.
std::optional<ListenAddress> parse_listen_address(std::string_view text);

} // namespace dm::config
