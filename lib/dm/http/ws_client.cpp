#include "dm/http/ws_client.hpp"

#include "dm/metrics/probe_url.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <optional>

namespace dm::http {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

using PlainSocket = websocket::stream<beast::tcp_stream>;
using TlsSocket = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

/// `url` with a ws/wss scheme read as http/https, split by the probes' parser
/// (one reading of HOST:PORT/PATH for every client here).
metrics::ProbeUrl parse_ws_url(const std::string& url)
{
  auto starts = [&url](std::string_view prefix) {
    return url.size() >= prefix.size() && beast::iequals(std::string_view(url).substr(0, prefix.size()), prefix);
  };
  std::string as_http;
  if (starts("ws://"))
    as_http = "http://" + url.substr(5);
  else if (starts("wss://"))
    as_http = "https://" + url.substr(6);
  else if (starts("http://") || starts("https://"))
    as_http = url;
  else
    throw UsageError(fmt::format("WebSocket URL '{}': expected ws://HOST:PORT/PATH or wss://HOST:PORT/PATH",
                                 metrics::redact_url(url)));
  try {
    auto parsed = metrics::parse_probe_url(as_http);
    if (parsed.host.empty())
      throw std::invalid_argument("no host");
    return parsed;
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("WebSocket URL '{}': {}", metrics::redact_url(url), e.what()));
  }
}

/// The message of an `{"error":{"message"}}` body, else its first line.
std::string declined_message(const websocket::response_type& res)
{
  const std::string& body = res.body();
  boost::json::error_code ec;
  const auto doc = boost::json::parse(body, ec);
  if (!ec && doc.is_object())
    if (const auto* error = doc.as_object().if_contains("error"); error != nullptr && error->is_object())
      if (const auto* m = error->as_object().if_contains("message"); m != nullptr && m->is_string())
        return std::string(m->as_string());
  std::string line = body.substr(0, std::min(body.find('\n'), std::size_t{200}));
  return line.empty() ? std::string(res.reason()) : line;
}

[[noreturn]] void throw_declined(const websocket::response_type& res, const std::string& url)
{
  const int status = static_cast<int>(res.result_int());
  const std::string text = fmt::format("the server at {} declined the WebSocket upgrade with {} {}: {}", url, status,
                                       std::string(res.reason()), declined_message(res));
  switch (status) {
  case 400:
    throw UsageError(text);
  case 401:
    throw Unauthorised(text);
  case 403:
    throw Forbidden(text);
  case 404:
    throw NotFound(text);
  case 503:
    throw Unavailable(text);
  default:
    throw Unreachable(text);
  }
}

std::string close_text(const websocket::close_reason& r)
{
  std::string_view name;
  switch (r.code) {
  case websocket::close_code::normal:
    name = "normal closure";
    break;
  case websocket::close_code::going_away:
    name = "going away";
    break;
  case websocket::close_code::protocol_error:
    name = "protocol error";
    break;
  case websocket::close_code::policy_error:
    name = "policy violation";
    break;
  case websocket::close_code::too_big:
    name = "message too big";
    break;
  case websocket::close_code::internal_error:
    name = "internal error";
    break;
  case websocket::close_code::try_again_later:
    name = "try again later";
    break;
  default:
    break;
  }
  std::string out = fmt::format("code {}", static_cast<int>(r.code));
  if (!name.empty())
    out += fmt::format(" ({})", name);
  if (!r.reason.empty())
    out += fmt::format(": {}", std::string_view(r.reason.data(), r.reason.size()));
  return out;
}

} // namespace

struct WsClient::Impl {
  enum class Phase { idle, connecting, reading, waiting };

  explicit Impl(WsOptions o) : options(o), tls(ssl::context::tls_client), timer(ioc)
  {
    tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    tls.set_default_verify_paths();
    tls.set_verify_mode(ssl::verify_peer);
  }

  ~Impl()
  {
    // Streams first: their pending handlers refer to the io_context.
    resolver.reset();
    teardown();
  }

  WsOptions options;
  net::io_context ioc;
  ssl::context tls;
  net::steady_timer timer;
  std::optional<net::signal_set> signals;
  std::optional<tcp::resolver> resolver;
  std::optional<PlainSocket> plain;
  std::optional<TlsSocket> secure;
  beast::flat_buffer buffer;
  Phase phase = Phase::idle;
  bool interrupted = false;
  bool open = false;
  bool closing = false; ///< an async_close is in flight

  template <typename F> decltype(auto) with_socket(F&& f)
  {
    if (secure)
      return f(*secure);
    return f(*plain);
  }

  /// Turns the io_context until `done`, and until a close under way has
  /// finished. Beast's deadlines apply to asynchronous operations only, so
  /// every step goes through here rather than the blocking calls.
  void turn_until(const bool& done)
  {
    while (!done || closing)
      if (ioc.run_one() == 0)
        ioc.restart();
  }

  /// Turns the io_context until a close under way has finished.
  void finish_close()
  {
    const bool nothing_else = true;
    turn_until(nothing_else);
  }

  template <typename Start> beast::error_code run(Start&& start)
  {
    bool done = false;
    beast::error_code result;
    start([&done, &result](beast::error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    turn_until(done);
    return result;
  }

  void arm_signals()
  {
    signals->async_wait([this](beast::error_code ec, int) {
      if (ec)
        return;
      interrupted = true;
      on_interrupt();
      arm_signals();
    });
  }

  void on_interrupt()
  {
    switch (phase) {
    case Phase::connecting:
      if (resolver)
        resolver->cancel();
      if (plain || secure)
        with_socket([](auto& ws) { beast::get_lowest_layer(ws).close(); });
      break;
    case Phase::reading:
      start_close(websocket::close_code::normal, {});
      break;
    case Phase::waiting:
      timer.cancel();
      break;
    case Phase::idle:
      break;
    }
  }

  void start_close(websocket::close_code code, std::string_view reason)
  {
    if (!open || closing)
      return;
    closing = true;
    websocket::close_reason why(code);
    why.reason.assign(reason.data(), reason.size());
    with_socket([this, &why](auto& ws) {
      ws.async_close(why, [this](beast::error_code) {
        closing = false;
        open = false;
      });
    });
  }

  /// Drops the connection without a handshake; nothing may be in flight on it.
  void teardown()
  {
    plain.reset();
    secure.reset();
    open = false;
    closing = false;
    buffer.clear();
  }

  steady::duration left(steady::time_point deadline) const
  {
    const auto d = deadline - steady::now();
    return d > steady::duration::zero() ? d : steady::duration(std::chrono::milliseconds(1));
  }
};

WsClient::WsClient(WsOptions options) : impl_(std::make_unique<Impl>(options)) {}

WsClient::~WsClient() = default;

void WsClient::interrupt_on(std::initializer_list<int> signals)
{
  Impl& d = *impl_;
  if (!d.signals) {
    d.signals.emplace(d.ioc);
    for (const int s : signals)
      d.signals->add(s);
    d.arm_signals();
  } else {
    for (const int s : signals)
      d.signals->add(s);
  }
}

bool WsClient::interrupted() const noexcept
{
  return impl_->interrupted;
}

bool WsClient::is_open() const noexcept
{
  return impl_->open;
}

bool WsClient::connect(const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers)
{
  Impl& d = *impl_;
  close(1000, {});
  d.teardown();
  url_ = url;
  const metrics::ProbeUrl target = parse_ws_url(url);
  const std::string shown = metrics::redact_url(url);
  if (d.interrupted)
    return false;

  struct PhaseGuard {
    Impl& d;
    ~PhaseGuard() { d.phase = Impl::Phase::idle; }
  } guard{d};
  d.phase = Impl::Phase::connecting;
  const auto deadline = steady::now() + d.options.connect_timeout;
  const auto timeout_s = static_cast<double>(d.options.connect_timeout.count()) / 1000.0;

  d.resolver.emplace(d.ioc);
  tcp::resolver::results_type endpoints;
  beast::error_code ec = d.run([&](auto handler) {
    d.resolver->async_resolve(target.host, target.port,
                              [&endpoints, handler](beast::error_code e, tcp::resolver::results_type r) mutable {
                                endpoints = std::move(r);
                                handler(e);
                              });
  });
  d.resolver.reset();
  if (d.interrupted)
    return false;
  if (ec)
    throw ConnectError(fmt::format("cannot resolve {}: {}", shown, ec.message()));

  if (target.tls)
    d.secure.emplace(d.ioc, d.tls);
  else
    d.plain.emplace(d.ioc);

  ec = d.with_socket([&](auto& ws) {
    auto& lowest = beast::get_lowest_layer(ws);
    lowest.expires_after(d.left(deadline));
    return d.run([&](auto handler) { lowest.async_connect(endpoints, std::move(handler)); });
  });
  if (d.interrupted) {
    d.teardown();
    return false;
  }
  if (ec) {
    d.teardown();
    throw ConnectError(fmt::format("cannot connect to {}: {}", shown,
                                   ec == beast::error::timeout ? fmt::format("no answer within {:g} s", timeout_s)
                                                               : ec.message()));
  }

  if (d.secure) {
    auto& tls_stream = d.secure->next_layer();
    beast::error_code ignored;
    const bool is_address = (net::ip::make_address(target.host, ignored), !ignored);
    SSL* handle = tls_stream.native_handle();
    // SSL_set_tlsext_host_name() spelled out: the macro has a C cast. SNI
    // carries names only (RFC 6066); the certificate is checked either way.
    if (!is_address &&
        SSL_ctrl(handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(target.host.c_str())) != 1) {
      d.teardown();
      throw Unreachable(fmt::format("TLS with {}: cannot set the server name", shown));
    }
    const int named = is_address ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), target.host.c_str())
                                 : SSL_set1_host(handle, target.host.c_str());
    if (named != 1) {
      d.teardown();
      throw Unreachable(fmt::format("TLS with {}: cannot set the name to verify", shown));
    }
    beast::get_lowest_layer(*d.secure).expires_after(d.left(deadline));
    ec = d.run([&](auto handler) { tls_stream.async_handshake(ssl::stream_base::client, std::move(handler)); });
    if (d.interrupted) {
      d.teardown();
      return false;
    }
    if (ec) {
      std::string message = ec == beast::error::timeout ? fmt::format("no answer within {:g} s", timeout_s) : ec.message();
      if (const long verify = SSL_get_verify_result(handle); verify != X509_V_OK)
        message += fmt::format(" ({})", X509_verify_cert_error_string(verify));
      d.teardown();
      throw Unreachable(fmt::format("TLS handshake with {}: {}", shown, message));
    }
  }

  websocket::response_type response;
  ec = d.with_socket([&](auto& ws) {
    // The stream's own deadlines from here on (Beast wants the TCP one off).
    beast::get_lowest_layer(ws).expires_never();
    websocket::stream_base::timeout handshake_timeouts;
    handshake_timeouts.handshake_timeout = d.left(deadline);
    handshake_timeouts.idle_timeout = websocket::stream_base::none();
    handshake_timeouts.keep_alive_pings = false;
    ws.set_option(handshake_timeouts);
    ws.set_option(websocket::stream_base::decorator(
        [headers, basic = target.authorization](websocket::request_type& req) {
          req.set(beast::http::field::user_agent, std::string("dmanalytics/") + DM_VERSION);
          if (!basic.empty())
            req.set(beast::http::field::authorization, basic);
          for (const auto& [name, value] : headers)
            req.set(name, value);
        }));
    ws.read_message_max(d.options.max_message);
    ws.auto_fragment(false);
    return d.run([&](auto handler) {
      ws.async_handshake(response, target.host_header, target.target, std::move(handler));
    });
  });
  if (d.interrupted) {
    d.teardown();
    return false;
  }
  if (ec) {
    d.teardown();
    if (ec == websocket::error::upgrade_declined)
      throw_declined(response, shown);
    if (ec == beast::error::timeout)
      throw Unreachable(fmt::format("{} did not complete the WebSocket upgrade within {:g} s", shown, timeout_s));
    throw Unreachable(fmt::format("WebSocket upgrade with {} failed: {}", shown, ec.message()));
  }
  d.with_socket([&](auto& ws) {
    websocket::stream_base::timeout open_timeouts;
    open_timeouts.handshake_timeout = d.options.close_timeout;
    open_timeouts.idle_timeout = d.options.idle_timeout;
    open_timeouts.keep_alive_pings = true;
    ws.set_option(open_timeouts);
  });
  d.open = true;
  return true;
}

void WsClient::send_text(std::string_view text)
{
  Impl& d = *impl_;
  if (!d.open)
    throw Unreachable(fmt::format("cannot send to {}: the connection is closed", metrics::redact_url(url_)));
  const beast::error_code ec = d.with_socket([&](auto& ws) {
    ws.text(true);
    return d.run([&](auto handler) { ws.async_write(net::buffer(text.data(), text.size()), std::move(handler)); });
  });
  if (ec) {
    d.teardown();
    throw Unreachable(fmt::format("lost the connection to {}: {}", metrics::redact_url(url_), ec.message()));
  }
}

std::optional<std::string> WsClient::read()
{
  Impl& d = *impl_;
  const std::string shown = metrics::redact_url(url_);
  for (;;) {
    if (d.interrupted) {
      close(1000, {});
      return std::nullopt;
    }
    if (!d.open)
      throw Unreachable(fmt::format("cannot read from {}: the connection is closed", shown));
    d.phase = Impl::Phase::reading;
    const beast::error_code ec =
        d.with_socket([&](auto& ws) { return d.run([&](auto handler) { ws.async_read(d.buffer, std::move(handler)); }); });
    d.phase = Impl::Phase::idle;
    if (d.interrupted) {
      if (!ec)
        close(1000, {});
      d.teardown();
      return std::nullopt;
    }
    if (ec) {
      const websocket::close_reason reason = d.with_socket([](auto& ws) { return ws.reason(); });
      d.teardown();
      if (ec == websocket::error::closed)
        throw WsClosed(static_cast<int>(reason.code), std::string(reason.reason.data(), reason.reason.size()),
                       fmt::format("{} closed the connection with {}", shown, close_text(reason)));
      if (ec == beast::error::timeout)
        throw Unreachable(fmt::format("{} went silent for {:g} s", shown,
                                      static_cast<double>(d.options.idle_timeout.count()) / 1000.0));
      throw Unreachable(fmt::format("lost the connection to {}: {}", shown, ec.message()));
    }
    const bool text = d.with_socket([](auto& ws) { return ws.got_text(); });
    std::string message = beast::buffers_to_string(d.buffer.data());
    d.buffer.consume(d.buffer.size());
    if (text)
      return message;
  }
}

void WsClient::close(int code, std::string_view reason) noexcept
{
  Impl& d = *impl_;
  try {
    if (d.open) {
      d.start_close(static_cast<websocket::close_code>(code), reason);
      d.finish_close();
    }
  } catch (...) {
  }
  d.teardown();
}

bool WsClient::wait_for(std::chrono::milliseconds duration)
{
  Impl& d = *impl_;
  if (d.interrupted)
    return false;
  d.timer.expires_after(duration);
  d.phase = Impl::Phase::waiting;
  d.run([&](auto handler) { d.timer.async_wait(std::move(handler)); });
  d.phase = Impl::Phase::idle;
  return !d.interrupted;
}

std::string websocket_url(const std::string& base_url, std::string_view path)
{
  metrics::ProbeUrl parsed;
  try {
    parsed = metrics::parse_probe_url(base_url);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("daemon URL '{}': {}; expected http://HOST:PORT", metrics::redact_url(base_url),
                                 e.what()));
  }
  if (parsed.host.empty())
    throw UsageError(fmt::format("daemon URL '{}': expected http://HOST:PORT", metrics::redact_url(base_url)));
  std::string prefix = parsed.target.substr(0, parsed.target.find('?'));
  while (!prefix.empty() && prefix.back() == '/')
    prefix.pop_back();
  return fmt::format("{}://{}{}{}", parsed.tls ? "wss" : "ws", parsed.host_header, prefix, path);
}

} // namespace dm::http
