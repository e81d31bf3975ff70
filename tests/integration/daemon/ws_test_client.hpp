#pragma once
// A WebSocket client for the daemon's tests (Beast), with a deadline on
// every wait so that a missing frame fails a test instead of hanging it. A
// read left unfinished at its deadline stays pending and is picked up by the
// next call. Beast answers the server's pings only while a read is running:
// a client that is never asked for a message never pongs.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace dm::test {

namespace ws_client_detail {
namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
} // namespace ws_client_detail

struct WsClientOptions {
  /// Sent as `Authorization: Bearer`, or as `?access_token=` when token_in_query.
  std::string token;
  bool token_in_query = false;
  /// SO_RCVBUF set before connecting (a client that reads slowly).
  std::optional<int> receive_buffer;
  std::chrono::milliseconds timeout = std::chrono::seconds(10);
};

class WsTestClient {
public:
  struct Event {
    enum class Kind { message, timeout, closed };
    Kind kind = Kind::timeout;
    std::string text;
    /// For closed: the close frame's code (0 when the socket just ended) and reason.
    unsigned close_code = 0;
    std::string close_reason;
    boost::system::error_code error;

    bool is_message() const { return kind == Kind::message; }
    bool is_closed() const { return kind == Kind::closed; }
    boost::json::object json() const { return boost::json::parse(text).as_object(); }
  };

  /// Connects and upgrades; status() tells the HTTP answer (101 when upgraded).
  WsTestClient(std::uint16_t port, const std::string& target, const WsClientOptions& options = {})
      : ws_(ioc_)
  {
    using namespace ws_client_detail;
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    auto& socket = ws_.next_layer();
    socket.open(endpoint.protocol());
    if (options.receive_buffer)
      socket.set_option(net::socket_base::receive_buffer_size(*options.receive_buffer));
    socket.connect(endpoint);
    std::string path = target;
    if (!options.token.empty() && options.token_in_query)
      path += (path.find('?') == std::string::npos ? "?access_token=" : "&access_token=") + options.token;
    else if (!options.token.empty())
      ws_.set_option(websocket::stream_base::decorator([token = options.token](websocket::request_type& req) {
        req.set(beast::http::field::authorization, "Bearer " + token);
      }));
    bool done = false;
    ws_.async_handshake(response_, "127.0.0.1", path, [&](beast::error_code ec) {
      error_ = ec;
      done = true;
    });
    run_until([&] { return done; }, options.timeout);
    if (!done)
      throw std::runtime_error("WebSocket handshake to " + target + " did not finish in time");
    upgraded_ = !error_;
  }

  ~WsTestClient()
  {
    boost::system::error_code ignored;
    ws_.next_layer().close(ignored);
    ioc_.restart();
    ioc_.poll(ignored);
  }

  WsTestClient(const WsTestClient&) = delete;
  WsTestClient& operator=(const WsTestClient&) = delete;

  bool upgraded() const { return upgraded_; }
  /// The HTTP status of the answer to the upgrade (101, 401, 403, ...); 0
  /// when the connection ended before one.
  unsigned status() const { return response_.result_int(); }
  const ws_client_detail::beast::http::response<ws_client_detail::beast::http::string_body>& response() const
  {
    return response_;
  }

  /// Sends one text (or binary) message.
  void send(const std::string& text, bool binary = false)
  {
    using namespace ws_client_detail;
    ws_.binary(binary);
    ws_.write(net::buffer(text));
  }
  void send_json(const boost::json::value& v) { send(boost::json::serialize(v)); }
  /// Sends a ping frame (Beast pings are synchronous writes).
  void ping() { ws_.ping({}); }

  /// The next message, or the close, within `timeout`.
  Event next(std::chrono::milliseconds timeout = std::chrono::seconds(10))
  {
    using namespace ws_client_detail;
    if (closed_)
      return closed_event();
    if (!reading_) {
      reading_ = true;
      read_done_ = false;
      ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
        read_error_ = ec;
        read_done_ = true;
      });
    }
    run_until([this] { return read_done_; }, timeout);
    if (!read_done_)
      return Event{};
    reading_ = false;
    if (read_error_) {
      closed_ = true;
      closed_error_ = read_error_;
      return closed_event();
    }
    Event e;
    e.kind = Event::Kind::message;
    e.text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return e;
  }

  /// The next message as JSON; throws naming what came instead.
  boost::json::object next_json(std::chrono::milliseconds timeout = std::chrono::seconds(10))
  {
    const Event e = next(timeout);
    if (e.is_message())
      return e.json();
    if (e.is_closed())
      throw std::runtime_error("connection closed (" + std::to_string(e.close_code) + " " + e.close_reason +
                               ", " + e.error.message() + ") while waiting for a message");
    throw std::runtime_error("no message within " + std::to_string(timeout.count()) + " ms");
  }

  /// Messages until one satisfies `match`; throws when the time is up first.
  template <class Match>
  boost::json::object next_json_where(Match match, std::chrono::milliseconds timeout = std::chrono::seconds(10))
  {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      auto msg = next_json(std::max(left, std::chrono::milliseconds(1)));
      if (match(msg))
        return msg;
    }
  }

  /// Reads (and discards messages) until the connection ends; the close event.
  Event until_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10))
  {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return Event{};
      Event e = next(left);
      if (!e.is_message())
        return e;
    }
  }

private:
  template <class Done>
  void run_until(Done done, std::chrono::milliseconds timeout)
  {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      if (ioc_.stopped())
        ioc_.restart();
      ioc_.run_one_until(deadline);
    }
  }

  Event closed_event() const
  {
    Event e;
    e.kind = Event::Kind::closed;
    e.error = closed_error_;
    e.close_code = ws_.reason().code;
    e.close_reason = std::string(ws_.reason().reason.data(), ws_.reason().reason.size());
    return e;
  }

  boost::asio::io_context ioc_;
  ws_client_detail::websocket::stream<ws_client_detail::tcp::socket> ws_;
  ws_client_detail::beast::http::response<ws_client_detail::beast::http::string_body> response_;
  ws_client_detail::beast::flat_buffer buffer_;
  boost::system::error_code error_;
  bool upgraded_ = false;
  bool reading_ = false;
  bool read_done_ = false;
  boost::system::error_code read_error_;
  bool closed_ = false;
  boost::system::error_code closed_error_;
};

} // namespace dm::test
