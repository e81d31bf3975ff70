#pragma once
// The daemon's HTTP/1.1 listener and sessions (Boost.Beast). One strand per
// connection; keep-alive; pipelined requests are answered in order, one at a
// time, with the read buffer as their bound; every read has a deadline and
// size limits (header 8 KiB → 431, body daemon.max_body → 413). Connections
// are capped globally (daemon.max_connections) and per client IP; at the
// descriptor limit the acceptor backs off instead of spinning. An upgrade
// request on a WebSocket route is authorised like any request, then the
// socket is handed to the WebSocket hub (ServerContext::ws_hub).

#include "daemon/server_context.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

namespace dm::daemon {

/// One accepted connection's share of daemon.max_connections and of its
/// client's per-address limit. Held by the HTTP session and, after an
/// upgrade, by the WebSocket session it became; released with the last holder.
class ConnectionSlot;

/// "host:port" or "[v6]:port" as an endpoint (port 0: any free port).
/// Throws UsageError naming the address.
boost::asio::ip::tcp::endpoint parse_endpoint(const std::string& listen);

class HttpServer {
public:
  /// Binds `listen` ("host:port", "[v6]:port"); throws naming the address.
  HttpServer(boost::asio::io_context& ioc, const std::string& listen, ServerContext& context);
  ~HttpServer();

  /// The bound endpoint (port 0 in the config picks a free one).
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void start();
  /// Stops accepting and closes idle connections; requests in flight get
  /// their answer (with `Connection: close`). `done` runs on an I/O thread
  /// once no connection is left or after the context's drain_timeout.
  void shutdown(std::function<void()> done);
  /// Open connections, WebSocket connections included.
  std::size_t connections() const;

  struct Shared;

private:
  std::shared_ptr<Shared> shared_;
};

} // namespace dm::daemon
