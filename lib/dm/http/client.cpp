#include "dm/http/client.hpp"

#include "dm/metrics/probe_url.hpp"
#include "dm/util/error.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <optional>

namespace dm::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string HttpResponse::header(std::string_view name) const
{
  for (const auto& [k, v] : headers)
    if (beast::iequals(k, name))
      return v;
  return {};
}

struct HttpClient::Impl {
  net::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  std::string host;
  std::string port;
  std::string host_header;
  std::string prefix;
  std::chrono::milliseconds timeout;

  /// Runs one asynchronous operation to completion on this thread. Beast's
  /// stream deadlines (expires_after) apply to asynchronous operations only,
  /// so every exchange goes through here rather than the blocking calls.
  template <typename Start> beast::error_code run(Start start)
  {
    beast::error_code result = net::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  void connect(const std::string& url)
  {
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    const auto endpoints = resolver.resolve(host, port, ec);
    if (ec)
      throw ConnectError(fmt::format("cannot resolve {}: {}", url, ec.message()));
    stream.emplace(ioc);
    stream->expires_after(std::chrono::seconds(5));
    ec = run([&](auto handler) { stream->async_connect(endpoints, std::move(handler)); });
    if (ec) {
      stream.reset();
      throw ConnectError(fmt::format("cannot connect to the daemon at {}: {}", url,
                                     ec == beast::error::timeout ? "no answer within 5 s" : ec.message()));
    }
  }
};

HttpClient::HttpClient(const std::string& base_url, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()), base_url_(base_url)
{
  // The probes' URL parser: one reading of http://HOST:PORT/PREFIX for both.
  metrics::ProbeUrl parsed;
  try {
    parsed = metrics::parse_probe_url(base_url);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("daemon URL '{}': {}; expected http://HOST:PORT", base_url, e.what()));
  }
  if (parsed.tls || parsed.host.empty() || !parsed.authorization.empty())
    throw UsageError(fmt::format("daemon URL '{}': expected http://HOST:PORT", base_url));
  impl_->host = std::move(parsed.host);
  impl_->port = std::move(parsed.port);
  impl_->host_header = std::move(parsed.host_header);
  impl_->prefix = parsed.target.substr(0, parsed.target.find('?'));
  while (!impl_->prefix.empty() && impl_->prefix.back() == '/')
    impl_->prefix.pop_back();
  impl_->timeout = timeout;
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::request(std::string_view method, const std::string& target, const std::string& body,
                                 std::vector<std::pair<std::string, std::string>> headers)
{
  Impl& d = *impl_;
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), d.prefix + target, 11};
  req.set(bhttp::field::host, d.host_header);
  req.set(bhttp::field::user_agent, std::string("dmanalytics/") + DM_VERSION);
  for (auto& [k, v] : headers)
    req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  req.keep_alive(true);

  for (int attempt = 0;; ++attempt) {
    const bool fresh = !d.stream;
    if (fresh)
      d.connect(base_url_);
    // One deadline for the whole exchange, request and answer.
    d.stream->expires_after(d.timeout);
    beast::error_code ec = d.run([&](auto handler) { bhttp::async_write(*d.stream, req, std::move(handler)); });
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (!ec)
      ec = d.run([&](auto handler) { bhttp::async_read(*d.stream, buffer, parser, std::move(handler)); });
    if (ec) {
      d.stream.reset();
      // A kept-alive connection the server had closed: try once more.
      if (!fresh && attempt == 0 && (ec == bhttp::error::end_of_stream || ec == net::error::connection_reset ||
                                     ec == net::error::broken_pipe || ec == net::error::eof))
        continue;
      if (ec == beast::error::timeout)
        throw Unreachable(fmt::format("the daemon at {} did not answer {} {} within {} s", base_url_, method, target,
                                      d.timeout.count() / 1000));
      throw Unreachable(fmt::format("lost the connection to the daemon at {}: {}", base_url_, ec.message()));
    }
    auto res = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res)
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    out.body = std::move(res.body());
    if (!res.keep_alive())
      d.stream.reset();
    return out;
  }
}

} // namespace dm::http
