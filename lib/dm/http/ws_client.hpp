#pragma once
// A small WebSocket client (RFC 6455 on Beast) for the CLI watching the
// daemon's dashboards, and for tests: one connection at a time, ws:// or
// wss://, text messages, deadlines on connecting and on silence.
// Not thread-safe: every method must be called from one thread. The signals
// given to interrupt_on() are the one way to stop a blocking call from outside.

#include "dm/http/client.hpp"
#include "dm/util/error.hpp"

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dm::http {

/// The server ended the connection with a close frame: DESIGN 9's 1001 when
/// the daemon shuts down, 1008 (policy) for a subscriber it drops or a
/// token it no longer accepts.
class WsClosed : public Unreachable {
public:
  WsClosed(int code, std::string reason, const std::string& message)
      : Unreachable(message), code_(code), reason_(std::move(reason))
  {
  }
  int code() const noexcept { return code_; }
  /// The close frame's reason text, possibly empty.
  const std::string& reason() const noexcept { return reason_; }

private:
  int code_;
  std::string reason_;
};

struct WsOptions {
  /// For resolving, connecting, the TLS handshake and the upgrade together.
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);
  /// Silence after which the connection counts as lost. A ping goes out after
  /// half of it, so a server that is alive but has nothing to say answers
  /// with a pong and keeps the connection.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  /// How long close() waits for the server's close frame.
  std::chrono::milliseconds close_timeout = std::chrono::seconds(2);
  /// The largest message read() accepts; a larger one loses the connection.
  std::size_t max_message = std::size_t{64} << 20;
};

class WsClient {
public:
  explicit WsClient(WsOptions options = {});
  /// Drops the connection without a close handshake; call close() first for one.
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  /// From now on, for the client's lifetime, any of `signals` (SIGINT,
  /// SIGTERM) interrupts connect(), read() and wait_for() and makes them
  /// return as documented there, instead of its default action.
  void interrupt_on(std::initializer_list<int> signals);
  /// Whether one of those signals has arrived.
  bool interrupted() const noexcept;

  /// Connects to `url` (`ws://HOST[:PORT][/PATH][?QUERY]` or `wss://...`;
  /// http:// and https:// are read as ws:// and wss://) and upgrades, with
  /// `headers` (e.g. Authorization) on the upgrade request. A connection still
  /// open is dropped first. Returns false when interrupted. Throws UsageError
  /// for another kind of URL; ConnectError when nothing can be connected to;
  /// when the server declines the upgrade, by its status: Unauthorised (401),
  /// Forbidden (403), NotFound (404), UsageError (400), Unavailable (503),
  /// else Unreachable, each with the server's message; Unreachable for a TLS
  /// failure, a lost connection or connect_timeout.
  bool connect(const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers = {});

  /// Whether a connection is open (connected and not closed since).
  bool is_open() const noexcept;

  /// Sends one text message. Throws Unreachable when the connection is lost.
  void send_text(std::string_view text);

  /// The next text message (binary ones are skipped). std::nullopt when
  /// interrupted: the connection is then closed with 1000 (normal closure).
  /// Throws WsClosed when the server closes the connection, Unreachable when
  /// it is lost or silent for idle_timeout; the connection is closed either way.
  std::optional<std::string> read();

  /// Closes with `code`, waiting at most close_timeout for the server's
  /// answer. Does nothing when no connection is open. Never throws.
  void close(int code = 1000, std::string_view reason = {}) noexcept;

  /// Waits `duration`. Returns false when interrupted before its end.
  bool wait_for(std::chrono::milliseconds duration);

  /// The URL of the latest connect(), as given.
  const std::string& url() const noexcept { return url_; }

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string url_;
};

/// The WebSocket URL of `path` on the server at `base_url` (`http://HOST:PORT`
/// with an optional path prefix, or `https://...`): ws:// or wss:// and the
/// prefix kept. Throws UsageError for any other kind of URL.
std::string websocket_url(const std::string& base_url, std::string_view path);

} // namespace dm::http
