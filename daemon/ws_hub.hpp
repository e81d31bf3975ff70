#pragma once
// The WebSocket hub (DESIGN 1 and 9): who subscribes to which dashboard, and
// the fan-out of the snapshot cache to them. The hub subscribes once to the
// SnapshotCache; for each published snapshot that has subscribers it builds
// the "update" frame once and queues the same buffer to every subscriber, so
// a publish never waits for a socket and a slow client never delays the
// others. Connections are spread over a fixed set of strands (shards) of the
// I/O context: a publish posts one handler per shard, which queues the frame
// to each of the shard's subscribers in turn. "snapshot" frames (a new subscriber's
// first) are built on demand, once per snapshot.
//
// User progress lives in the cache under a key per learner; the hub asks for
// it to be computed while someone watches (watch_user on the first
// subscriber of a learner, unwatch_user after the last one).
//
// Threading: every public method may be called from any thread.

#include "daemon/http_types.hpp"
#include "daemon/ws_protocol.hpp"

#include "dm/auth/claims.hpp"
#include "dm/dashboard/snapshot_cache.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace dm::metrics {
struct DaemonMetrics;
} // namespace dm::metrics

namespace dm::daemon {

class ConnectionSlot;
class WsSession;

struct WsHubOptions {
  /// Frames waiting for one subscriber before it is dropped (daemon.ws_queue_max).
  std::size_t queue_max = 64;
  /// How long one write may stay in flight (daemon.ws_write_timeout).
  std::chrono::milliseconds write_timeout = std::chrono::seconds(10);
  /// Between two pings (daemon.heartbeat_interval).
  std::chrono::milliseconds heartbeat_interval = std::chrono::seconds(30);
  /// Silence (no pong, no message) after which a connection is closed
  /// (daemon.connection_timeout).
  std::chrono::milliseconds connection_timeout = std::chrono::seconds(60);
  /// How long a close handshake may take before the socket is torn down.
  std::chrono::milliseconds close_timeout = std::chrono::seconds(2);
  /// Seconds a token is honoured after its exp (auth.leeway).
  std::int64_t token_leeway_s = 30;
  /// Largest client message; larger ones close the connection with 1009.
  std::size_t read_message_max = 64 * 1024;
  /// Control frames (ping, pong) a client may send per second before it is
  /// closed with 1008.
  unsigned max_control_frames_per_second = 50;
  /// Topics one connection may subscribe to at a time.
  std::size_t max_subscriptions = 64;
  /// Start and stop the computation of a learner's progress, published in
  /// the cache under progress_key(); empty = nobody computes it. Called
  /// without the hub's locks held; must not throw and must return at once.
  std::function<void(std::int64_t user_id)> watch_user;
  std::function<void(std::int64_t user_id)> unwatch_user;
  /// The SnapshotCache key of a learner's progress.
  std::function<std::string(std::int64_t user_id)> progress_key;
};

/// What GET /websocket/stats reports.
struct WsStats {
  std::size_t connections = 0;
  /// Subscriptions per dashboard, indexed by WsDashboard.
  std::array<std::size_t, 4> subscribers{};
  std::uint64_t sent = 0;      ///< frames written completely
  std::uint64_t conflated = 0; ///< frames replaced by a newer one while queued
  std::uint64_t dropped = 0;   ///< frames never written because their subscriber was dropped
};

class WsHub {
public:
  /// Subscribes to `cache`; `cache` and `metrics` must outlive the hub.
  WsHub(dashboard::SnapshotCache& cache, metrics::DaemonMetrics& metrics, WsHubOptions options);
  /// Calls detach().
  ~WsHub();
  WsHub(const WsHub&) = delete;
  WsHub& operator=(const WsHub&) = delete;

  /// Takes over an upgraded connection: its upgrade request has been read
  /// and `claims` authorise it (`progress_user`: the learner of
  /// /ws/user/:userId/progress, already checked against the token). Answers
  /// the upgrade and serves the connection on the socket's strand; `slot`
  /// stays held until the connection ends. After shutdown() the connection
  /// is closed with 1001 right after the upgrade.
  void accept(boost::asio::ip::tcp::socket socket, Request upgrade, auth::Claims claims,
              std::optional<std::int64_t> progress_user, std::shared_ptr<ConnectionSlot> slot);

  /// Sends close 1001 (going away) to every connection. Connections end on
  /// their own within the close timeout; callers wait for them as for any
  /// connection (the HTTP server's drain).
  void shutdown();

  /// Stops the fan-out: unsubscribes from the cache and calls watch_user /
  /// unwatch_user no more. For the owner's teardown, before what those call
  /// goes away. Idempotent.
  void detach();

  WsStats stats() const;
  const WsHubOptions& options() const noexcept { return options_; }

  /// May a holder of `claims` subscribe to `topic`? Empty when yes, else why not.
  static std::string refusal(const auth::Claims& claims, const WsTopic& topic);

private:
  friend class WsSession;

  using Shard = boost::asio::strand<boost::asio::io_context::executor_type>;
  /// Strands the connections are spread over.
  static constexpr std::size_t shard_count = 16;

  struct Topic {
    WsTopic topic;
    std::unordered_map<WsSession*, std::weak_ptr<WsSession>> sessions;
    /// The "snapshot" frame of the latest snapshot asked for, built once.
    std::shared_ptr<const WsFrame> snapshot_frame;
  };

  std::string cache_key(const WsTopic& topic) const;
  void on_publish(const std::shared_ptr<const dashboard::Snapshot>& snapshot);
  void update_subscriber_gauge(WsDashboard dashboard, std::size_t count);
  /// Moves `socket` onto one of the shards; its index, or -1 when the socket
  /// stays on its own executor (not an io_context's).
  int rehome(boost::asio::ip::tcp::socket& socket);

  // For WsSession.
  void add(const std::shared_ptr<WsSession>& session);
  /// Forgets a session and its subscriptions (`topics`). Idempotent.
  void remove(WsSession& session, const std::vector<WsTopic>& topics);
  /// Adds a subscriber; returns the "snapshot" frame of the topic's current
  /// snapshot, nullptr when none has been published yet.
  std::shared_ptr<const WsFrame> subscribe(const std::shared_ptr<WsSession>& session, const WsTopic& topic);
  void unsubscribe(WsSession& session, const WsTopic& topic);
  /// The "snapshot" frame of `snapshot` (built once per snapshot).
  std::shared_ptr<const WsFrame> snapshot_frame(const std::shared_ptr<const dashboard::Snapshot>& snapshot,
                                                const WsTopic& topic);
  void count_sent(const WsFrame& frame);
  void count_conflated();
  void count_dropped(std::size_t frames);
  /// Whether shutdown() was called.
  bool shutting_down() const;

  void watch(const WsTopic& topic);
  void unwatch(const WsTopic& topic);

  dashboard::SnapshotCache& cache_;
  metrics::DaemonMetrics& metrics_;
  WsHubOptions options_;
  std::optional<dashboard::SnapshotCache::Token> cache_token_;

  mutable std::mutex mutex_; ///< guards the members below
  std::unordered_map<WsSession*, std::weak_ptr<WsSession>> sessions_;
  std::unordered_map<std::string, Topic> topics_; ///< by cache key; erased when empty
  std::array<std::size_t, 4> subscribers_{};
  bool shutting_down_ = false;
  boost::asio::io_context* shard_context_ = nullptr;
  std::vector<Shard> shards_; ///< created with the first connection, then fixed
  std::size_t next_shard_ = 0;

  /// Held across the count and the call, so watch/unwatch reach the feed in
  /// the order of the counts. Never taken by on_publish.
  std::mutex watch_mutex_;
  std::map<std::int64_t, std::size_t> watchers_; ///< per learner
  bool detached_ = false;                         ///< guarded by watch_mutex_

  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> conflated_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

} // namespace dm::daemon
