#pragma once
// The URL of a health probe, split into what an HTTP/1.1 client needs.

#include <string>
#include <string_view>

namespace dm::metrics {

struct ProbeUrl {
  bool tls = false;        ///< https
  std::string host;        ///< name or address, IPv6 without brackets
  std::string port;        ///< "80" or "443" when the URL has none
  std::string target;      ///< path and query, "/" when empty; no fragment
  std::string host_header; ///< host as written (IPv6 in brackets), ":port" only when not the default
  /// "Basic ..." when the URL carries user:password@ (percent-decoded), else empty.
  std::string authorization;
};

/// Parses `http://host[:port][/path][?query][#fragment]` or `https://...`
/// (scheme case-insensitive, IPv6 hosts in brackets, optional user info).
/// Throws std::invalid_argument with the reason, which never contains the
/// password.
ProbeUrl parse_probe_url(std::string_view url);

/// The URL with the password of its user info replaced by `***`, for logs,
/// status and errors.
std::string redact_url(std::string_view url);

} // namespace dm::metrics
