#include "daemon/ws_session.hpp"

#include "daemon/ws_hub.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/websocket.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>

#include <sys/socket.h>
#include <sys/uio.h>

namespace dm::daemon {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;

namespace {

/// A token's `sub` as a learner id, when it is one.
std::optional<std::int64_t> user_id_of(std::string_view sub)
{
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(sub.data(), sub.data() + sub.size(), id);
  if (ec != std::errc{} || end != sub.data() + sub.size() || id <= 0)
    return std::nullopt;
  return id;
}

/// A close reason fits a control frame (125 bytes with the code).
std::string close_reason_text(std::string reason)
{
  if (reason.size() > 120)
    reason.resize(120);
  return reason;
}

} // namespace

WsSession::WsSession(WsHub& hub, tcp::socket socket, auth::Claims claims, std::optional<std::int64_t> progress_user,
                     std::shared_ptr<ConnectionSlot> slot, int shard)
    : hub_(hub), shard_(shard), ws_(std::move(socket)), claims_(std::move(claims)), progress_user_(progress_user),
      slot_(std::move(slot)), housekeeping_timer_(ws_.get_executor()), write_timer_(ws_.get_executor()),
      close_timer_(ws_.get_executor())
{
}

WsSession::~WsSession()
{
  std::vector<WsTopic> topics;
  for (const auto& s : subscriptions_)
    topics.push_back(s.topic);
  hub_.remove(*this, topics);
}

void WsSession::run(Request upgrade)
{
  const WsHubOptions& options = hub_.options();
  // Beast's own timer bounds the 101 answer and the close handshake; pings
  // and silence are the housekeeping timer's.
  ws_.set_option(websocket::stream_base::timeout{options.close_timeout, websocket::stream_base::none(), false});
  ws_.read_message_max(options.read_message_max);
  // One frame per message: a fragmented write costs a system call per 4 KiB.
  ws_.auto_fragment(false);
  ws_.text(true);
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) { on_control(kind); });
  ws_.async_accept(upgrade, beast::bind_front_handler(&WsSession::on_accept, shared_from_this()));
}

void WsSession::on_accept(beast::error_code ec)
{
  if (ec) {
    spdlog::debug("WebSocket upgrade failed: {}", ec.message());
    return finish();
  }
  open_ = true;
  const auto now = clock::now();
  last_heard_ = now;
  next_ping_ = now + hub_.options().heartbeat_interval;
  control_window_ = now;
  // The token stops being honoured at exp + leeway (as the verifier decides).
  const auto expiry = std::chrono::system_clock::time_point(
      std::chrono::seconds(claims_.exp + hub_.options().token_leeway_s));
  const auto left = std::clamp<std::chrono::system_clock::duration>(expiry - std::chrono::system_clock::now(),
                                                                    std::chrono::system_clock::duration::zero(),
                                                                    std::chrono::hours(24 * 365));
  token_expiry_ = now + std::chrono::duration_cast<clock::duration>(left);

  read();
  if (close_after_accept_) {
    auto [code, reason] = std::move(*close_after_accept_);
    close_after_accept_.reset();
    return close_now(code, std::move(reason));
  }
  if (hub_.shutting_down())
    return close_now(close_code::going_away, "server shutting down");
  if (progress_user_)
    subscribe(WsTopic{WsDashboard::user_progress, *progress_user_});
  schedule_housekeeping();
}

void WsSession::read()
{
  ws_.async_read(buffer_, beast::bind_front_handler(&WsSession::on_read, shared_from_this()));
}

void WsSession::on_read(beast::error_code ec, std::size_t)
{
  if (ec) {
    if (ec == websocket::error::message_too_big)
      spdlog::debug("WebSocket client sent more than {} bytes in one message; closed with 1009",
                    hub_.options().read_message_max);
    return finish();
  }
  last_heard_ = clock::now();
  if (!closing_) {
    if (!ws_.got_text())
      send_error("bad_message", "binary frames are not part of the protocol; send JSON text frames");
    else
      handle_message(std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size()));
  }
  // Clients write rarely: an idle connection keeps no read buffer.
  buffer_.consume(buffer_.size());
  buffer_.shrink_to_fit();
  read();
}

void WsSession::on_control(websocket::frame_type kind)
{
  last_heard_ = clock::now();
  if (kind != websocket::frame_type::pong) {
    // Beast answers from inside this read: from now on it may write.
    beast_writes_ = true;
    // Its answer would land in the middle of the frame being written
    // directly; the connection cannot continue.
    if (direct_writing_)
      tear_down();
  }
  if (kind == websocket::frame_type::close)
    return;
  if (last_heard_ - control_window_ >= std::chrono::seconds(1)) {
    control_window_ = last_heard_;
    control_frames_ = 0;
  }
  const unsigned max = hub_.options().max_control_frames_per_second;
  // Closing from inside Beast's read is not allowed: post it, once.
  if (++control_frames_ == max + 1)
    net::post(ws_.get_executor(), [self = shared_from_this(), max] {
      self->close_now(close_code::policy_error, fmt::format("more than {} control frames per second", max));
    });
}

void WsSession::handle_message(std::string_view text)
{
  auto parsed = parse_client_message(text);
  if (const auto* error = std::get_if<WsProtocolError>(&parsed))
    return send_error(error->code, error->message);
  const auto& msg = std::get<WsClientMessage>(parsed);

  WsTopic topic{msg.dashboard, 0};
  if (msg.dashboard == WsDashboard::user_progress) {
    if (msg.user_id)
      topic.user_id = *msg.user_id;
    else if (progress_user_)
      topic.user_id = *progress_user_;
    else if (const auto own = user_id_of(claims_.sub))
      topic.user_id = *own;
    else
      return send_error("bad_user_id", fmt::format("user_progress needs \"user_id\": the token's sub '{}' is not a "
                                                   "user id",
                                                   claims_.sub.substr(0, 40)));
  }
  if (msg.type == WsClientMessage::Type::unsubscribe)
    return unsubscribe(topic);
  if (auto why = WsHub::refusal(claims_, topic); !why.empty())
    return send_error("forbidden", why);
  subscribe(topic);
}

void WsSession::subscribe(WsTopic topic)
{
  if (find(topic) == nullptr) {
    const std::size_t max = hub_.options().max_subscriptions;
    if (subscriptions_.size() >= max)
      return send_error("too_many_subscriptions",
                        fmt::format("a connection may follow at most {} dashboards at once; unsubscribe first", max));
    subscriptions_.push_back(Subscription{topic});
  }
  // Subscribing again resends the current snapshot: a client that saw a gap
  // in seq may ask for a complete one.
  if (auto current = hub_.subscribe(shared_from_this(), topic))
    enqueue_data(std::move(current), true);
}

void WsSession::unsubscribe(WsTopic topic)
{
  const auto it = std::find_if(subscriptions_.begin(), subscriptions_.end(),
                               [&](const Subscription& s) { return s.topic == topic; });
  if (it == subscriptions_.end())
    return;
  subscriptions_.erase(it);
  hub_.unsubscribe(*this, topic);
  const auto first = queue_.begin() + (writing_ ? 1 : 0);
  queue_.erase(std::remove_if(first, queue_.end(),
                              [&](const auto& frame) { return frame->is_data() && frame->topic == topic; }),
               queue_.end());
}

WsSession::Subscription* WsSession::find(const WsTopic& topic)
{
  for (auto& s : subscriptions_)
    if (s.topic == topic)
      return &s;
  return nullptr;
}

void WsSession::send_error(std::string_view code, std::string_view message)
{
  if (closing_)
    return;
  push(make_error_frame(code, message));
}

void WsSession::deliver(std::shared_ptr<const WsFrame> frame)
{
  net::post(ws_.get_executor(), [self = shared_from_this(), frame = std::move(frame)]() mutable {
    self->enqueue_data(std::move(frame), false);
  });
}

void WsSession::close(close_code code, std::string reason)
{
  net::post(ws_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
    self->close_now(code, std::move(reason));
  });
}

void WsSession::enqueue_data(std::shared_ptr<const WsFrame> frame, bool resend)
{
  if (closing_)
    return;
  Subscription* sub = find(frame->topic);
  if (sub == nullptr)
    return; // unsubscribed since the publish
  const std::uint64_t seq = frame->snapshot->seq;
  // A publish racing with the subscription may arrive after the snapshot it
  // is already part of.
  if (!resend && seq <= sub->last_seq)
    return;
  // A subscriber's first frame of a topic is always a complete "snapshot".
  if (!sub->sent_first && !frame->is_snapshot)
    frame = hub_.snapshot_frame(frame->snapshot, frame->topic);
  sub->sent_first = true;
  sub->last_seq = std::max(sub->last_seq, seq);

  // Latest value wins: a newer snapshot replaces one of its topic still waiting.
  for (std::size_t i = writing_ ? 1 : 0; i < queue_.size(); ++i) {
    auto& waiting = queue_[i];
    if (!waiting->is_data() || waiting->topic != frame->topic)
      continue;
    if (waiting->is_snapshot && !frame->is_snapshot)
      frame = hub_.snapshot_frame(frame->snapshot, frame->topic);
    if (waiting->snapshot->seq < seq)
      hub_.count_conflated();
    waiting = std::move(frame);
    return;
  }
  push(std::move(frame));
}

void WsSession::push(std::shared_ptr<const WsFrame> frame)
{
  queue_.push_back(std::move(frame));
  const std::size_t max = hub_.options().queue_max;
  if (queue_.size() > max)
    return drop(fmt::format("more than {} frames waiting (daemon.ws_queue_max)", max));
  write_next();
}

bool WsSession::direct_write_allowed() const
{
  return !beast_writes_ && !ping_pending_ && ws_.is_open();
}

void WsSession::write_next()
{
  while (!writing_ && !closing_ && !queue_.empty()) {
    if (!direct_write_allowed())
      return write_through_beast();
    const WsFrame& frame = *queue_.front();
    // Header and payload in one system call, without an asynchronous
    // operation when the socket takes the whole frame (the usual case).
    std::array<iovec, 2> parts{iovec{const_cast<char*>(frame.header.data()), frame.header.size()},
                               iovec{const_cast<char*>(frame.text.data()), frame.text.size()}};
    msghdr message{};
    message.msg_iov = parts.data();
    message.msg_iovlen = parts.size();
    const std::size_t total = frame.header.size() + frame.text.size();
    const ssize_t sent = ::sendmsg(ws_.next_layer().native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR)
      continue;
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      return finish();
    if (sent < 0 || sent == 0)
      return write_through_beast(); // nothing written: Beast waits for the socket
    const auto done = static_cast<std::size_t>(sent);
    if (done == total) {
      const auto written = std::move(queue_.front());
      queue_.pop_front();
      hub_.count_sent(*written);
      continue;
    }
    writing_ = true;
    direct_writing_ = true;
    write_started_ = clock::now();
    if (!write_timer_armed_) {
      write_timer_armed_ = true;
      write_timer_.expires_at(write_started_ + hub_.options().write_timeout);
      write_timer_.async_wait(beast::bind_front_handler(&WsSession::on_write_deadline, shared_from_this()));
    }
    std::array<net::const_buffer, 2> rest{net::buffer(frame.header), net::buffer(frame.text)};
    if (done < frame.header.size())
      rest[0] += done;
    else {
      rest[0] = net::const_buffer();
      rest[1] += done - frame.header.size();
    }
    net::async_write(ws_.next_layer(), rest,
                     beast::bind_front_handler(&WsSession::on_direct_write, shared_from_this()));
    return;
  }
}

void WsSession::write_through_beast()
{
  writing_ = true;
  write_started_ = clock::now();
  // One timer for many writes: armed when idle, it checks the write in
  // flight when it fires and re-arms for that write's deadline.
  if (!write_timer_armed_) {
    write_timer_armed_ = true;
    write_timer_.expires_at(write_started_ + hub_.options().write_timeout);
    write_timer_.async_wait(beast::bind_front_handler(&WsSession::on_write_deadline, shared_from_this()));
  }
  ws_.async_write(net::buffer(queue_.front()->text),
                  beast::bind_front_handler(&WsSession::on_write, shared_from_this()));
}

void WsSession::on_direct_write(beast::error_code ec, std::size_t)
{
  writing_ = false;
  direct_writing_ = false;
  if (ec)
    return finish();
  const auto written = std::move(queue_.front());
  queue_.pop_front();
  hub_.count_sent(*written);
  if (close_after_write_)
    return start_close();
  if (ping_due_) {
    ping_due_ = false;
    send_ping();
  }
  write_next();
}

void WsSession::on_write(beast::error_code ec, std::size_t)
{
  writing_ = false;
  if (ec)
    return finish();
  const auto written = std::move(queue_.front());
  queue_.pop_front();
  hub_.count_sent(*written);
  write_next();
}

void WsSession::on_write_deadline(beast::error_code ec)
{
  write_timer_armed_ = false;
  if (ec || closing_ || !writing_)
    return;
  const auto timeout = hub_.options().write_timeout;
  if (clock::now() - write_started_ >= timeout)
    return drop(fmt::format("a write took longer than {} ms (daemon.ws_write_timeout)", timeout.count()));
  write_timer_armed_ = true;
  write_timer_.expires_at(write_started_ + timeout);
  write_timer_.async_wait(beast::bind_front_handler(&WsSession::on_write_deadline, shared_from_this()));
}

void WsSession::schedule_housekeeping()
{
  if (closing_)
    return;
  const WsHubOptions& options = hub_.options();
  housekeeping_timer_.expires_at(std::min({next_ping_, last_heard_ + options.connection_timeout, token_expiry_}));
  housekeeping_timer_.async_wait(beast::bind_front_handler(&WsSession::on_housekeeping, shared_from_this()));
}

void WsSession::on_housekeeping(beast::error_code ec)
{
  if (ec || closing_)
    return;
  const WsHubOptions& options = hub_.options();
  const auto now = clock::now();
  if (now >= token_expiry_)
    return close_now(close_code::policy_error, "token expired");
  if (now - last_heard_ >= options.connection_timeout)
    return close_now(close_code::policy_error, "no pong within daemon.connection_timeout");
  if (now >= next_ping_) {
    next_ping_ = now + options.heartbeat_interval;
    // A ping still waiting behind a stuck write is not repeated.
    if (direct_writing_)
      ping_due_ = true;
    else if (!ping_pending_)
      send_ping();
  }
  schedule_housekeeping();
}

void WsSession::send_ping()
{
  ping_pending_ = true;
  ws_.async_ping({}, [self = shared_from_this()](beast::error_code) {
    self->ping_pending_ = false;
    self->write_next();
  });
}

void WsSession::drop(std::string reason)
{
  const std::size_t frames = std::max<std::size_t>(1, queue_.size());
  spdlog::debug("WebSocket subscriber {} dropped ({} frame(s) unsent): {}", claims_.sub, frames, reason);
  hub_.count_dropped(frames);
  close_now(close_code::policy_error, std::move(reason));
}

void WsSession::close_now(close_code code, std::string reason)
{
  if (closing_ || finished_)
    return;
  if (!open_) {
    close_after_accept_.emplace(code, std::move(reason));
    return;
  }
  closing_ = true;
  // The frame being written stays (Beast still reads it); the rest never goes.
  queue_.erase(queue_.begin() + (writing_ ? 1 : 0), queue_.end());
  housekeeping_timer_.cancel();
  // A client that stopped reading blocks the close frame behind its write:
  // then the socket goes after the close timeout.
  close_timer_.expires_after(hub_.options().close_timeout);
  close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec)
      self->tear_down();
  });
  close_after_write_.emplace(code, std::move(reason));
  // Beast writes the close frame once the frame going to the socket directly is out.
  if (!direct_writing_)
    start_close();
}

void WsSession::start_close()
{
  auto [code, reason] = std::move(*close_after_write_);
  close_after_write_.reset();
  ws_.async_close(websocket::close_reason(code, close_reason_text(std::move(reason))),
                  [self = shared_from_this()](beast::error_code) {});
}

void WsSession::tear_down()
{
  beast::error_code ignored;
  ws_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
  ws_.next_layer().close(ignored);
}

void WsSession::finish()
{
  if (finished_)
    return;
  finished_ = true;
  closing_ = true;
  housekeeping_timer_.cancel();
  write_timer_.cancel();
  close_timer_.cancel();
  tear_down();
  std::vector<WsTopic> topics;
  for (const auto& s : subscriptions_)
    topics.push_back(s.topic);
  subscriptions_.clear();
  hub_.remove(*this, topics);
}

} // namespace dm::daemon
