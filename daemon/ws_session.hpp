#pragma once
// One WebSocket connection of the dashboard protocol (DESIGN 9), handed over
// by the HTTP session after its upgrade request was authorised.
//
// Per connection: one read in flight (text messages of at most 64 KiB, 1009
// beyond), one write in flight, and a bounded queue of shared frames in which
// a newer snapshot of a topic replaces one still waiting (conflation). A
// subscriber whose queue exceeds daemon.ws_queue_max, or whose write has not
// completed within daemon.ws_write_timeout, is closed with 1008 and counted
// as dropped; when even the close frame cannot be written the socket is torn
// down after the close timeout. A ping goes out every heartbeat interval, and
// a connection silent (no pong, no message) for connection_timeout is closed;
// so is one sending control frames faster than the hub allows, and one whose
// token expires (exp + leeway).
//
// Frames go to the TCP socket directly (header and payload in one system
// call, no asynchronous operation when the socket takes them at once) while
// Beast has no write of its own to make; through Beast otherwise.
//
// Threading: everything runs on the connection's strand (its shard's, shared
// with other connections, when the hub moved it there); deliver() and
// close() may be called from any thread. The session lives while one of its
// operations is pending (shared_from_this); the hub holds weak pointers.

#include "daemon/http_types.hpp"
#include "daemon/ws_protocol.hpp"

#include "dm/auth/claims.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dm::daemon {

class ConnectionSlot;
class WsHub;

class WsSession : public std::enable_shared_from_this<WsSession> {
public:
  using tcp = boost::asio::ip::tcp;
  using close_code = boost::beast::websocket::close_code;

  /// `progress_user`: the learner of `/ws/user/:userId/progress`, subscribed
  /// at once; nullopt on `/ws/dashboard`. `slot` is the connection's share
  /// of daemon.max_connections, held until the session is destroyed.
  WsSession(WsHub& hub, tcp::socket socket, auth::Claims claims, std::optional<std::int64_t> progress_user,
            std::shared_ptr<ConnectionSlot> slot, int shard = -1);
  ~WsSession();
  WsSession(const WsSession&) = delete;
  WsSession& operator=(const WsSession&) = delete;

  /// Answers the upgrade (101) and starts reading. On the socket's strand.
  void run(Request upgrade);

  /// The strand everything of this session runs on.
  boost::asio::any_io_executor executor() { return ws_.get_executor(); }

  /// Queues a data frame of a topic this session subscribed to (ignored
  /// when it has unsubscribed since). From any thread; never waits.
  void deliver(std::shared_ptr<const WsFrame> frame);

  /// Sends a close frame with `code` after the write in flight; queued
  /// frames are discarded. From any thread.
  void close(close_code code, std::string reason);

private:
  friend class WsHub;
  using clock = std::chrono::steady_clock;

  struct Subscription {
    WsTopic topic;
    std::uint64_t last_seq = 0; ///< highest seq queued; older frames are stale
    bool sent_first = false;    ///< a frame was queued (the first goes out as "snapshot")
  };

  void on_accept(boost::beast::error_code ec);
  void read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void on_control(boost::beast::websocket::frame_type kind);
  void handle_message(std::string_view text);
  void subscribe(WsTopic topic);
  void unsubscribe(WsTopic topic);
  /// Sends an error frame (the connection stays open).
  void send_error(std::string_view code, std::string_view message);

  /// Queues a data frame, replacing a queued one of the same topic; frames
  /// not newer than the last one queued are skipped unless `resend`.
  void enqueue_data(std::shared_ptr<const WsFrame> frame, bool resend);
  /// Queues a frame at the end; drops the subscriber when over the bound.
  void push(std::shared_ptr<const WsFrame> frame);
  void write_next();
  /// Whether the next frame may go straight to the TCP socket: the stream
  /// is open and Beast has no write of its own pending or to come (no ping
  /// of ours in flight, no ping or close of the client answered by Beast).
  bool direct_write_allowed() const;
  /// Writes the front frame through Beast.
  void write_through_beast();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  /// The rest of a frame the socket took only part of.
  void on_direct_write(boost::beast::error_code ec, std::size_t bytes);
  void start_close();
  void send_ping();
  void on_write_deadline(boost::beast::error_code ec);

  void schedule_housekeeping();
  void on_housekeeping(boost::beast::error_code ec);

  /// Closes with 1008 and counts the frames never written as dropped.
  void drop(std::string reason);
  void close_now(close_code code, std::string reason);
  /// Closes the socket: every pending operation completes with an error.
  void tear_down();
  /// The connection is over: timers stop, subscriptions end.
  void finish();

  Subscription* find(const WsTopic& topic);

  WsHub& hub_;
  /// The hub's shard whose strand the socket is on; -1: a strand of its own.
  const int shard_;
  boost::beast::websocket::stream<tcp::socket, false> ws_;
  auth::Claims claims_;
  std::optional<std::int64_t> progress_user_;
  std::shared_ptr<ConnectionSlot> slot_;

  boost::beast::flat_buffer buffer_;
  std::deque<std::shared_ptr<const WsFrame>> queue_; ///< front: the frame being written
  std::vector<Subscription> subscriptions_;

  boost::asio::steady_timer housekeeping_timer_; ///< pings, silence, token expiry
  boost::asio::steady_timer write_timer_;        ///< checks the write in flight against its deadline
  boost::asio::steady_timer close_timer_;        ///< tears down a close that cannot complete

  clock::time_point last_heard_;   ///< the latest frame of the client (message, ping, pong)
  clock::time_point next_ping_;
  clock::time_point token_expiry_;
  clock::time_point control_window_;
  unsigned control_frames_ = 0;     ///< in the current one-second window
  clock::time_point write_started_; ///< of the write in flight

  bool open_ = false;          ///< the handshake completed
  bool writing_ = false;
  bool write_timer_armed_ = false;
  bool ping_pending_ = false;
  bool ping_due_ = false;      ///< a ping waits for the end of a direct write
  bool direct_writing_ = false; ///< the rest of a frame goes to the socket directly
  bool beast_writes_ = false;  ///< the client sent a ping or close (Beast answers it)
  std::optional<std::pair<close_code, std::string>> close_after_write_; ///< waits for the direct write
  bool closing_ = false;       ///< a close frame is on its way (or the socket is gone)
  bool finished_ = false;
  std::optional<std::pair<close_code, std::string>> close_after_accept_;
};

} // namespace dm::daemon
