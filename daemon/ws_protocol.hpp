#pragma once
// The WebSocket dashboard protocol (DESIGN 9) as data: the frames the server
// sends, built once and shared by every subscriber, and the messages a client
// may send. No I/O here.

#include "dm/dashboard/snapshot_cache.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace dm::daemon {

/// The `dashboard` values of the protocol, in the order of
/// metrics::DaemonMetrics::dashboards.
enum class WsDashboard { user_progress, system_performance, business_kpis, alerts };

/// "user_progress", "system_performance", ...
std::string_view to_string(WsDashboard dashboard) noexcept;
/// The dashboard named `name`; nullopt for anything else.
std::optional<WsDashboard> parse_dashboard(std::string_view name) noexcept;

/// One stream a client can subscribe to: a dashboard, and for user_progress
/// the learner.
struct WsTopic {
  WsDashboard dashboard = WsDashboard::system_performance;
  std::int64_t user_id = 0; ///< user_progress only

  bool operator==(const WsTopic&) const = default;
};

/// One server frame, immutable once built and queued by shared_ptr to every
/// subscriber of its topic.
struct WsFrame {
  /// The whole JSON text of the frame.
  std::string text;
  /// The WebSocket frame header of `text` as a server sends it (FIN, text
  /// opcode, unmasked, no extension bits): `header` then `text` is the frame
  /// on the wire.
  std::string header;
  /// The snapshot a data frame carries (its cache key is the unit of
  /// conflation); nullptr for an error frame.
  std::shared_ptr<const dashboard::Snapshot> snapshot;
  WsTopic topic;
  /// Type "snapshot" (a subscriber's first frame of a topic) rather than "update".
  bool is_snapshot = false;

  bool is_data() const noexcept { return snapshot != nullptr; }
};

/// `{"type":"snapshot"|"update","dashboard","user_id"? ,"seq","ts","data"}`
/// around the snapshot's serialised body (not parsed again). `ts` is the
/// instant the data was computed for, as the REST dashboards give it;
/// `user_id` only on user_progress.
std::shared_ptr<const WsFrame> make_data_frame(std::shared_ptr<const dashboard::Snapshot> snapshot, WsTopic topic,
                                               bool is_snapshot);

/// `{"type":"error","code","message"}`.
std::shared_ptr<const WsFrame> make_error_frame(std::string_view code, std::string_view message);

/// A well-formed client message.
struct WsClientMessage {
  enum class Type { subscribe, unsubscribe };
  Type type = Type::subscribe;
  WsDashboard dashboard = WsDashboard::system_performance;
  /// `user_id` as sent (user_progress); absent = the token's own.
  std::optional<std::int64_t> user_id;
};

/// Why a client message was refused: the `code` and `message` of the error
/// frame ("bad_json", "bad_message", "unknown_type", "unknown_dashboard",
/// "bad_user_id").
struct WsProtocolError {
  std::string code;
  std::string message;
};

/// Parses one text frame of a client.
std::variant<WsClientMessage, WsProtocolError> parse_client_message(std::string_view text);

} // namespace dm::daemon
