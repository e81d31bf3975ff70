#include "http_server.hpp"

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace dm::daemon {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr auto read_timeout = std::chrono::seconds(30);
constexpr std::size_t header_limit = 8 * 1024;
constexpr std::size_t body_limit = 64 * 1024;

http::response<http::string_body> json_response(http::status status, const boost::json::value& body,
                                                unsigned version, bool keep_alive)
{
  http::response<http::string_body> res{status, version};
  res.set(http::field::server, "dmanalyticsd");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(keep_alive);
  res.body() = boost::json::serialize(body);
  res.prepare_payload();
  return res;
}

http::response<http::string_body> error_response(http::status status, std::string_view code,
                                                 std::string_view message, unsigned version, bool keep_alive)
{
  return json_response(status, {{"error", {{"code", code}, {"message", message}}}}, version, keep_alive);
}

/// Routes of this daemon so far: health and readiness.
http::response<http::string_body> handle(const ServerState& state, const http::request<http::string_body>& req)
{
  const bool keep = req.keep_alive();
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/healthz" || path == "/readyz") {
    if (req.method() != http::verb::get && req.method() != http::verb::head)
      return error_response(http::status::method_not_allowed, "method_not_allowed",
                            fmt::format("{} does not accept {}", path, std::string_view(req.method_string())),
                            req.version(), keep);
    if (path == "/healthz")
      return json_response(http::status::ok, {{"status", "ok"}, {"version", state.version}}, req.version(), keep);
    if (state.readiness.ready())
      return json_response(http::status::ok, {{"status", "ready"}}, req.version(), keep);
    return json_response(http::status::service_unavailable,
                         {{"status", "not_ready"}, {"reason", state.readiness.reason()}}, req.version(), keep);
  }
  return error_response(http::status::not_found, "not_found", fmt::format("no route for {}", path), req.version(),
                        keep);
}

class Session : public std::enable_shared_from_this<Session> {
public:
  Session(tcp::socket socket, std::shared_ptr<const ServerState> state)
      : stream_(std::move(socket)), state_(std::move(state))
  {
  }

  void start()
  {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::read, shared_from_this()));
  }

private:
  void read()
  {
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(body_limit);
    stream_.expires_after(read_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t)
  {
    if (ec == http::error::end_of_stream)
      return close();
    if (ec == http::error::header_limit)
      return reply_and_close(http::status::request_header_fields_too_large, "header_too_large",
                             "request header exceeds 8 KiB");
    if (ec == http::error::body_limit)
      return reply_and_close(http::status::payload_too_large, "body_too_large", "request body too large");
    if (ec)
      return close();
    auto res = std::make_shared<http::response<http::string_body>>(handle(*state_, parser_->get()));
    if (parser_->get().method() == http::verb::head) {
      const auto length = res->body().size();
      res->body().clear();
      res->content_length(length);
    }
    write(std::move(res));
  }

  void reply_and_close(http::status status, std::string_view code, std::string_view message)
  {
    write(std::make_shared<http::response<http::string_body>>(error_response(status, code, message, 11, false)));
  }

  void write(std::shared_ptr<http::response<http::string_body>> res)
  {
    stream_.expires_after(read_timeout);
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec || !res->keep_alive())
        return self->close();
      self->read();
    });
  }

  void close()
  {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<const ServerState> state_;
};

tcp::endpoint parse_listen(const std::string& listen)
{
  std::string host;
  std::string port;
  if (!listen.empty() && listen.front() == '[') {
    const auto close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':')
      throw std::invalid_argument(fmt::format("daemon.listen '{}': expected [v6-address]:port", listen));
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos)
      throw std::invalid_argument(fmt::format("daemon.listen '{}': expected host:port", listen));
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  if (host == "localhost")
    host = "127.0.0.1";
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec)
    throw std::invalid_argument(fmt::format("daemon.listen '{}': '{}' is not an IP address", listen, host));
  return {address, static_cast<unsigned short>(std::stoul(port))};
}

} // namespace

struct HttpServer::Listener : std::enable_shared_from_this<Listener> {
  net::io_context& ioc;
  tcp::acceptor acceptor;
  std::shared_ptr<const ServerState> state;

  Listener(net::io_context& io, std::shared_ptr<const ServerState> s) : ioc(io), acceptor(net::make_strand(io)), state(std::move(s)) {}

  void accept()
  {
    acceptor.async_accept(net::make_strand(ioc), beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket)
  {
    if (ec == net::error::operation_aborted || !acceptor.is_open())
      return;
    if (ec) {
      // Out of descriptors or a transient error: back off instead of spinning.
      spdlog::warn("accept: {}", ec.message());
      auto timer = std::make_shared<net::steady_timer>(acceptor.get_executor(), std::chrono::milliseconds(100));
      timer->async_wait([self = shared_from_this(), timer](beast::error_code) { self->accept(); });
      return;
    }
    std::make_shared<Session>(std::move(socket), state)->start();
    accept();
  }
};

HttpServer::HttpServer(net::io_context& ioc, const std::string& listen, std::shared_ptr<const ServerState> state)
    : listener_(std::make_shared<Listener>(ioc, std::move(state)))
{
  const tcp::endpoint endpoint = parse_listen(listen);
  auto& acc = listener_->acceptor;
  try {
    acc.open(endpoint.protocol());
    acc.set_option(net::socket_base::reuse_address(true));
    acc.bind(endpoint);
    acc.listen(net::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(fmt::format("cannot listen on {}: {}", listen, e.code().message()));
  }
}

HttpServer::~HttpServer() = default;

tcp::endpoint HttpServer::local_endpoint() const
{
  return listener_->acceptor.local_endpoint();
}

void HttpServer::start()
{
  net::dispatch(listener_->acceptor.get_executor(), [l = listener_] { l->accept(); });
}

void HttpServer::stop()
{
  net::dispatch(listener_->acceptor.get_executor(), [l = listener_] {
    beast::error_code ec;
    l->acceptor.close(ec);
  });
}

} // namespace dm::daemon
