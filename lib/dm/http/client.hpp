#pragma once
// A small synchronous HTTP/1.1 client for the CLI talking to the daemon (and
// for tests): one keep-alive connection, a deadline on every exchange.
// Not thread-safe.

#include "dm/util/error.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dm::http {

/// The daemon could not be connected to at all (name not resolved, nothing
/// listening, no route): it is not running there, as opposed to a daemon that
/// stopped answering (plain Unreachable).
class ConnectError : public Unreachable {
public:
  using Unreachable::Unreachable;
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// The first header of that name (case-insensitive); "" when absent.
  std::string header(std::string_view name) const;
};

class HttpClient {
public:
  /// `base_url`: `http://host:port` (a path prefix is kept). Throws
  /// UsageError for anything else (https is not spoken to the daemon).
  explicit HttpClient(const std::string& base_url, std::chrono::milliseconds timeout = std::chrono::seconds(300));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends one request; reconnects once when a kept-alive connection was
  /// closed by the server. Throws ConnectError naming the URL when the daemon
  /// cannot be connected to, dm::Unreachable when the connection is lost or
  /// the deadline passes.
  HttpResponse request(std::string_view method, const std::string& target, const std::string& body = "",
                       std::vector<std::pair<std::string, std::string>> headers = {});

  const std::string& base_url() const noexcept { return base_url_; }

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string base_url_;
};

} // namespace dm::http
