#include "daemon/http_server.hpp"

#include "daemon/api_error.hpp"
#include "daemon/router.hpp"
#include "daemon/token_cache.hpp"
#include "daemon/worker_pool.hpp"
#include "daemon/ws_hub.hpp"

#include "dm/auth/connection_limiter.hpp"
#include "dm/auth/rate_limiter.hpp"
#include "dm/auth/token_verifier.hpp"
#include "dm/metrics/daemon_metrics.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <mutex>
#include <unordered_map>

namespace dm::daemon {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {
constexpr std::size_t header_limit = 8 * 1024;
} // namespace

class HttpSession;

struct HttpServer::Shared : std::enable_shared_from_this<HttpServer::Shared> {
  net::io_context& ioc;
  ServerContext& context;
  tcp::acceptor acceptor;
  std::atomic<bool> stopping{false};
  mutable std::mutex mutex;
  /// HTTP sessions, to close the idle ones on shutdown.
  std::unordered_map<HttpSession*, std::weak_ptr<HttpSession>> sessions;
  /// Connections holding a slot: HTTP sessions and the WebSocket sessions
  /// they were upgraded to.
  std::size_t open_connections = 0;

  Shared(net::io_context& io, ServerContext& c) : ioc(io), context(c), acceptor(net::make_strand(io)) {}

  void accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
};

class ConnectionSlot {
public:
  /// Counts one more open connection; the caller checked the limits.
  ConnectionSlot(std::shared_ptr<HttpServer::Shared> shared, std::string ip)
      : shared_(std::move(shared)), ip_(std::move(ip))
  {
    std::lock_guard lock(shared_->mutex);
    ++shared_->open_connections;
  }
  ~ConnectionSlot()
  {
    shared_->context.connection_limiter.release(ip_);
    std::lock_guard lock(shared_->mutex);
    --shared_->open_connections;
  }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

private:
  std::shared_ptr<HttpServer::Shared> shared_;
  std::string ip_;
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
public:
  HttpSession(tcp::socket socket, std::shared_ptr<HttpServer::Shared> shared, std::string ip)
      : stream_(std::move(socket)), shared_(std::move(shared)), ctx_(shared_->context), ip_(std::move(ip)),
        slot_(std::make_shared<ConnectionSlot>(shared_, ip_))
  {
  }

  ~HttpSession()
  {
    std::lock_guard lock(shared_->mutex);
    shared_->sessions.erase(this);
  }

  void start()
  {
    {
      std::lock_guard lock(shared_->mutex);
      shared_->sessions.emplace(this, weak_from_this());
    }
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&HttpSession::read, shared_from_this()));
  }

  /// From any thread: close when idle, or after the answer in flight.
  void shutdown()
  {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      if (self->idle_) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.close();
      }
    });
  }

private:
  void read()
  {
    if (closing_)
      return close();
    idle_ = true;
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(static_cast<std::uint64_t>(ctx_.config.daemon.max_body));
    // One deadline for the whole request: a client trickling bytes cannot
    // extend it (slowloris).
    stream_.expires_after(ctx_.read_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t)
  {
    idle_ = false;
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted)
      return close();
    if (ec == beast::error::timeout) {
      spdlog::debug("{}: read deadline passed; closing", ip_);
      return close();
    }
    if (ec == http::error::header_limit)
      return reply_and_close(http::status::request_header_fields_too_large, "header_too_large",
                             fmt::format("request header exceeds {} bytes", header_limit));
    if (ec == http::error::body_limit)
      return reply_and_close(http::status::payload_too_large, "body_too_large",
                             fmt::format("request body exceeds daemon.max_body ({} bytes)", ctx_.config.daemon.max_body));
    if (ec) {
      if (ec != net::error::eof && ec != net::error::connection_reset)
        return reply_and_close(http::status::bad_request, "bad_request", ec.message());
      return close();
    }
    request_ = parser_->release();
    started_ = std::chrono::steady_clock::now();
    handle();
  }

  void handle()
  {
    const std::string_view target(request_.target().data(), request_.target().size());
    const auto q = target.find('?');
    const std::string_view path = target.substr(0, q);
    match_ = match_route(routes(), request_.method(), path);
    route_name_ = match_.route != nullptr ? std::string(match_.route->pattern) : std::string("unmatched");
    if (match_.route == nullptr) {
      if (!match_.allow.empty()) {
        auto res = error_response(request_, http::status::method_not_allowed, "method_not_allowed",
                                  fmt::format("{} does not accept {}", path, std::string_view(request_.method_string())));
        res.set(http::field::allow, match_.allow);
        return finish(std::move(res));
      }
      return finish(error_response(request_, http::status::not_found, "not_found", fmt::format("no route for {}", path)));
    }
    auto rc = std::make_shared<RequestContext>(RequestContext{request_, ctx_, std::string(path), std::move(match_.params),
                                                              {}, std::nullopt, ip_, nullptr});
    try {
      if (q != std::string_view::npos)
        rc->query_params = parse_query(target.substr(q + 1));
      authorise(*rc, *match_.route);
    } catch (...) {
      return finish(error_response(request_, std::current_exception()));
    }
    if (match_.route->access != Access::open) {
      const std::string key = rc->claims ? "sub:" + rc->claims->sub : "ip:" + ip_;
      const auto decision = ctx_.rate_limiter.take(key, std::chrono::steady_clock::now());
      if (!decision.allowed) {
        auto res = error_response(request_, http::status::too_many_requests, "rate_limited",
                                  fmt::format("rate limit of {} requests/s exceeded", ctx_.config.rate_limit.rps));
        res.set(http::field::retry_after,
                std::to_string(std::max<long>(1, std::lround(std::ceil(decision.retry_after_s)))));
        return finish(std::move(res));
      }
    }
    const Handler handler = match_.route->handler;
    if (match_.route->runs == Runs::websocket && websocket::is_upgrade(request_))
      return upgrade(*rc);
    if (match_.route->runs == Runs::io || match_.route->runs == Runs::websocket) {
      Response res;
      try {
        res = handler(*rc);
      } catch (...) {
        res = error_response(request_, std::current_exception());
      }
      return finish(std::move(res));
    }
    const bool queued = ctx_.workers.submit([self = shared_from_this(), rc, handler](WorkerContext& worker) {
      rc->worker = &worker;
      Response res;
      try {
        res = handler(*rc);
      } catch (const std::exception& e) {
        if (is_connection_error(e))
          worker.connection_failed(full_message(e));
        res = error_response(rc->request, std::current_exception());
      } catch (...) {
        res = error_response(rc->request, std::current_exception());
      }
      net::post(self->stream_.get_executor(),
                [self, res = std::make_shared<Response>(std::move(res))]() mutable { self->finish(std::move(*res)); });
    });
    if (!queued)
      finish(error_response(request_, http::status::service_unavailable, "busy",
                            "the daemon is at its limit of queued work; retry shortly"));
  }

  /// Checks the token and the route's access rule; fills rc.claims.
  void authorise(RequestContext& rc, const Route& route)
  {
    if (route.access == Access::open)
      return;
    const auto header = request_[http::field::authorization];
    std::string token;
    if (header.size() > 7 && beast::iequals(header.substr(0, 7), "Bearer "))
      token = std::string(header.substr(7));
    else if (auto q = rc.query("access_token"))
      token = *q;
    if (token.empty())
      throw Unauthorised("missing bearer token (Authorization: Bearer <JWT>)");
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    if (auto cached = ctx_.token_cache.find(token, now)) {
      rc.claims = std::move(cached);
    } else {
      rc.claims = ctx_.verifier.verify(token, now);
      ctx_.token_cache.insert(token, *rc.claims);
    }
    const auth::Role role = rc.claims->role;
    switch (route.access) {
    case Access::open:
    case Access::authenticated:
      return;
    case Access::viewer:
      if (auth::role_allows(role, auth::Role::viewer))
        return;
      throw Forbidden(fmt::format("a user token may only read its own progress (GET /dashboard/user/{}/progress)",
                                  rc.claims->sub));
    case Access::user_self:
      if (rc.claims->sub == rc.param("userId") || auth::role_allows(role, auth::Role::viewer))
        return;
      throw Forbidden("this token may only read its own user's progress");
    case Access::analyst:
      if (auth::role_allows(role, auth::Role::analyst))
        return;
      throw Forbidden(fmt::format("role {} may not call {} {}; analyst or admin required", auth::to_string(role),
                                  std::string_view(request_.method_string()), route.pattern));
    case Access::admin:
      if (auth::role_allows(role, auth::Role::admin))
        return;
      throw Forbidden(fmt::format("role {} may not call {} {}; admin required", auth::to_string(role),
                                  std::string_view(request_.method_string()), route.pattern));
    }
  }

  /// Hands the connection to the WebSocket hub; this session ends when its
  /// last handler returns, the connection's slot goes with the socket.
  void upgrade(RequestContext& rc)
  {
    std::optional<std::int64_t> progress_user;
    if (!rc.param("userId").empty()) {
      try {
        progress_user = rc.id_param("userId");
      } catch (...) {
        return finish(error_response(request_, std::current_exception()));
      }
    }
    if (shared_->stopping.load())
      return finish(error_response(request_, http::status::service_unavailable, "shutting_down",
                                   "the daemon is shutting down"));
    request_counter(request_.method(), static_cast<unsigned>(http::status::switching_protocols)).inc();
    request_histogram().observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    // The hub's sessions have deadlines of their own.
    stream_.expires_never();
    ctx_.ws_hub.accept(stream_.release_socket(), std::move(request_), std::move(*rc.claims), progress_user,
                       std::move(slot_));
  }

  void finish(Response res)
  {
    const auto code = static_cast<unsigned>(res.result_int());
    if (res.result() == http::status::unauthorized)
      res.set(http::field::www_authenticate, "Bearer");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    request_counter(request_.method(), code).inc();
    request_histogram().observe(seconds);
    if (closing_ || shared_->stopping.load())
      res.keep_alive(false);
    if (request_.method() == http::verb::head) {
      const auto length = res.body().size();
      res.body().clear();
      res.content_length(length);
    }
    write(std::make_shared<Response>(std::move(res)));
  }

  /// The counter child of this route, method and status. The registry's
  /// lookup takes a lock and builds label strings; a keep-alive client mostly
  /// repeats one request, so the session remembers the last child it used.
  metrics::Counter& request_counter(http::verb method, unsigned code)
  {
    if (counter_ == nullptr || counter_route_ != match_.route || counter_method_ != method || counter_code_ != code) {
      counter_ = &ctx_.metrics.http_requests.labels(
          {std::string(http::to_string(method)), route_name_, std::to_string(code)});
      counter_route_ = match_.route;
      counter_method_ = method;
      counter_code_ = code;
    }
    return *counter_;
  }

  metrics::Histogram& request_histogram()
  {
    if (histogram_ == nullptr || histogram_route_ != match_.route) {
      histogram_ = &ctx_.metrics.http_request_duration.labels({route_name_});
      histogram_route_ = match_.route;
    }
    return *histogram_;
  }

  void reply_and_close(http::status status, std::string_view code, std::string_view message)
  {
    Request bare{http::verb::get, "/", 11};
    bare.keep_alive(false);
    auto res = error_response(bare, status, code, message);
    res.keep_alive(false);
    write(std::make_shared<Response>(std::move(res)));
  }

  void write(std::shared_ptr<Response> res)
  {
    stream_.expires_after(ctx_.read_timeout);
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
    stream_.close();
  }

  beast::tcp_stream stream_;
  std::shared_ptr<HttpServer::Shared> shared_;
  ServerContext& ctx_;
  std::string ip_;
  std::shared_ptr<ConnectionSlot> slot_;
  beast::flat_buffer buffer_{header_limit * 2};
  std::optional<http::request_parser<http::string_body>> parser_;
  Request request_;
  RouteMatch match_;
  metrics::Counter* counter_ = nullptr;
  const Route* counter_route_ = nullptr;
  http::verb counter_method_ = http::verb::unknown;
  unsigned counter_code_ = 0;
  metrics::Histogram* histogram_ = nullptr;
  const Route* histogram_route_ = nullptr;
  std::string route_name_;
  std::chrono::steady_clock::time_point started_;
  bool idle_ = false;
  bool closing_ = false;
};

tcp::endpoint parse_endpoint(const std::string& listen)
{
  std::string host;
  std::string port;
  if (!listen.empty() && listen.front() == '[') {
    const auto close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':')
      throw UsageError(fmt::format("listen address '{}': expected [v6-address]:port", listen));
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos)
      throw UsageError(fmt::format("listen address '{}': expected host:port", listen));
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  if (host == "localhost")
    host = "127.0.0.1";
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec)
    throw UsageError(fmt::format("listen address '{}': '{}' is not an IP address", listen, host));
  unsigned long number = 0;
  try {
    std::size_t used = 0;
    number = std::stoul(port, &used);
    if (used != port.size() || number > 65535)
      throw std::out_of_range(port);
  } catch (const std::exception&) {
    throw UsageError(fmt::format("listen address '{}': bad port '{}'", listen, port));
  }
  return {address, static_cast<unsigned short>(number)};
}

void HttpServer::Shared::accept()
{
  acceptor.async_accept(net::make_strand(ioc), beast::bind_front_handler(&Shared::on_accept, shared_from_this()));
}

void HttpServer::Shared::on_accept(beast::error_code ec, tcp::socket socket)
{
  if (ec == net::error::operation_aborted || !acceptor.is_open() || stopping.load())
    return;
  if (ec) {
    // Out of descriptors or a transient error: back off instead of spinning.
    spdlog::warn("accept: {}; pausing 100 ms", ec.message());
    auto timer = std::make_shared<net::steady_timer>(acceptor.get_executor(), std::chrono::milliseconds(100));
    timer->async_wait([self = shared_from_this(), timer](beast::error_code) { self->accept(); });
    return;
  }
  beast::error_code ignored;
  const auto remote = socket.remote_endpoint(ignored);
  std::string ip = ignored ? std::string("unknown") : remote.address().to_string();
  std::size_t open = 0;
  {
    std::lock_guard lock(mutex);
    open = open_connections;
  }
  if (open >= static_cast<std::size_t>(context.config.daemon.max_connections)) {
    spdlog::debug("{}: refused, {} connections open (daemon.max_connections)", ip, open);
    socket.close(ignored);
  } else if (!context.connection_limiter.try_acquire(ip, std::chrono::steady_clock::now())) {
    spdlog::debug("{}: refused by the per-client connection limit", ip);
    socket.close(ignored);
  } else {
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<HttpSession>(std::move(socket), shared_from_this(), std::move(ip))->start();
  }
  accept();
}

HttpServer::HttpServer(net::io_context& ioc, const std::string& listen, ServerContext& context)
    : shared_(std::make_shared<Shared>(ioc, context))
{
  const tcp::endpoint endpoint = parse_endpoint(listen);
  auto& acc = shared_->acceptor;
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
  return shared_->acceptor.local_endpoint();
}

void HttpServer::start()
{
  net::dispatch(shared_->acceptor.get_executor(), [s = shared_] { s->accept(); });
}

std::size_t HttpServer::connections() const
{
  std::lock_guard lock(shared_->mutex);
  return shared_->open_connections;
}

void HttpServer::shutdown(std::function<void()> done)
{
  auto s = shared_;
  s->stopping = true;
  net::dispatch(s->acceptor.get_executor(), [s] {
    beast::error_code ec;
    s->acceptor.close(ec);
  });
  std::vector<std::shared_ptr<HttpSession>> open;
  {
    std::lock_guard lock(s->mutex);
    for (auto& [raw, weak] : s->sessions)
      if (auto session = weak.lock())
        open.push_back(std::move(session));
  }
  for (auto& session : open)
    session->shutdown();
  open.clear();
  // Poll until every connection is gone or the drain time is up.
  const auto deadline = std::chrono::steady_clock::now() + s->context.drain_timeout;
  auto timer = std::make_shared<net::steady_timer>(s->ioc);
  auto poll = std::make_shared<std::function<void()>>();
  *poll = [s, timer, deadline, done = std::move(done), poll]() mutable {
    std::size_t left = 0;
    {
      std::lock_guard lock(s->mutex);
      left = s->open_connections;
    }
    if (left == 0 || std::chrono::steady_clock::now() >= deadline) {
      if (left > 0)
        spdlog::warn("{} connection(s) still busy after the drain time; closing", left);
      auto finish = std::move(done);
      *poll = nullptr; // break the cycle
      finish();
      return;
    }
    timer->expires_after(std::chrono::milliseconds(20));
    timer->async_wait([poll](beast::error_code) {
      if (*poll)
        (*poll)();
    });
  };
  net::post(s->ioc, [poll] { (*poll)(); });
}

} // namespace dm::daemon
