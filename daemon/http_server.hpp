#pragma once
// The daemon's HTTP/1.1 listener and sessions (Boost.Beast). Every read has a
// deadline and a size limit; sessions live by shared_from_this.

#include "readiness.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string>

namespace dm::daemon {

struct ServerState {
  const Readiness& readiness;
  std::string version;
};

class HttpServer {
public:
  /// Binds `listen` ("host:port", "[v6]:port"); throws naming the address.
  HttpServer(boost::asio::io_context& ioc, const std::string& listen, std::shared_ptr<const ServerState> state);
  ~HttpServer();

  /// The bound endpoint (port 0 in the config picks a free one).
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void start();
  /// Stops accepting; open sessions finish their current request.
  void stop();

private:
  struct Listener;
  std::shared_ptr<Listener> listener_;
};

} // namespace dm::daemon
