#include "dm/metrics/health_prober.hpp"

#include "dm/metrics/daemon_metrics.hpp"
#include "dm/metrics/probe_url.hpp"
#include "dm/util/time.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <optional>

namespace dm::metrics {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds max_default_timeout{5000};
constexpr std::uint32_t header_limit = 16 * 1024;

struct ProbeResult {
  bool up = false;
  int status_code = 0;
  double latency_ms = 0;
  std::string error;
};

/// One GET of one URL, on the prober's strand. `done` is called exactly once,
/// on the strand, unless the run is destroyed without its handlers running
/// (the io_context went away).
class ProbeRun : public std::enable_shared_from_this<ProbeRun> {
public:
  using Done = std::function<void(ProbeResult)>;

  ProbeRun(const net::any_io_executor& strand, ssl::context& tls, ProbeUrl url, milliseconds timeout, Done done)
      : url_(std::move(url)), timeout_(timeout), done_(std::move(done)), resolver_(strand), deadline_(strand)
  {
    if (url_.tls)
      tls_.emplace(tcp::socket(strand), tls);
    else
      plain_.emplace(strand);
  }

  void start()
  {
    started_ = Clock::now();
    stage_ = "name resolution";
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](beast::error_code ec) { self->on_deadline(ec); });
    resolver_.async_resolve(url_.host, url_.port, tcp::resolver::numeric_service,
                            [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
                              self->on_resolve(ec, std::move(results));
                            });
  }

  /// Ends the run with "cancelled" (stop()); its handlers then see
  /// operation_aborted and do nothing.
  void cancel() { finish({false, 0, elapsed_ms(), "cancelled"}); }

private:
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }

  double elapsed_ms() const
  {
    return std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
  }

  void fail(std::string_view what, beast::error_code ec)
  {
    finish({false, 0, elapsed_ms(), fmt::format("{}: {}", what, ec.message())});
  }

  void on_deadline(beast::error_code ec)
  {
    if (ec || finished_)
      return;
    finish({false, 0, elapsed_ms(), fmt::format("timed out after {} ms during {}", timeout_.count(), stage_)});
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results)
  {
    if (finished_)
      return;
    if (ec)
      return fail(fmt::format("resolve {}", url_.host), ec);
    stage_ = "connect";
    net::async_connect(socket(), results,
                       [self = shared_from_this()](beast::error_code ec2, const tcp::endpoint&) {
                         self->on_connect(ec2);
                       });
  }

  void on_connect(beast::error_code ec)
  {
    if (finished_)
      return;
    if (ec)
      return fail(fmt::format("connect {}:{}", url_.host, url_.port), ec);
    if (!tls_)
      return write();
    stage_ = "TLS handshake";
    beast::error_code ignored;
    const bool is_address = (net::ip::make_address(url_.host, ignored), !ignored);
    // SNI carries names only (RFC 6066); the certificate is checked against
    // the name or address either way.
    // SSL_set_tlsext_host_name() spelled out: the macro has a C cast.
    if (!is_address && SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                                const_cast<char*>(url_.host.c_str())) != 1)
      return finish({false, 0, elapsed_ms(), "TLS: cannot set the server name"});
    // OpenSSL's own name check (rather than a verify callback) reports a
    // mismatch as "hostname mismatch" / "IP address mismatch".
    SSL* ssl_handle = tls_->native_handle();
    const int named = is_address ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), url_.host.c_str())
                                 : SSL_set1_host(ssl_handle, url_.host.c_str());
    if (named != 1)
      return finish({false, 0, elapsed_ms(), "TLS: cannot set the name to verify"});
    tls_->set_verify_mode(ssl::verify_peer);
    tls_->async_handshake(ssl::stream_base::client,
                          [self = shared_from_this()](beast::error_code ec2) { self->on_handshake(ec2); });
  }

  void on_handshake(beast::error_code ec)
  {
    if (finished_)
      return;
    if (ec) {
      std::string message = ec.message();
      const long verify = SSL_get_verify_result(tls_->native_handle());
      if (verify != X509_V_OK)
        message += fmt::format(" ({})", X509_verify_cert_error_string(verify));
      return finish({false, 0, elapsed_ms(), "TLS handshake: " + message});
    }
    write();
  }

  void write()
  {
    stage_ = "request";
    request_.method(http::verb::get);
    request_.target(url_.target);
    request_.version(11);
    request_.set(http::field::host, url_.host_header);
    request_.set(http::field::user_agent, "dmanalyticsd-health/" DM_VERSION);
    request_.set(http::field::accept, "*/*");
    request_.set(http::field::connection, "close");
    if (!url_.authorization.empty())
      request_.set(http::field::authorization, url_.authorization);
    auto handler = [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); };
    if (tls_)
      http::async_write(*tls_, request_, std::move(handler));
    else
      http::async_write(*plain_, request_, std::move(handler));
  }

  void on_write(beast::error_code ec)
  {
    if (finished_)
      return;
    if (ec)
      return fail("send request", ec);
    stage_ = "response";
    parser_.header_limit(header_limit);
    auto handler = [self = shared_from_this()](beast::error_code ec2, std::size_t) { self->on_read(ec2); };
    if (tls_)
      http::async_read_header(*tls_, buffer_, parser_, std::move(handler));
    else
      http::async_read_header(*plain_, buffer_, parser_, std::move(handler));
  }

  void on_read(beast::error_code ec)
  {
    if (finished_)
      return;
    if (ec)
      return fail("read response", ec);
    const auto& res = parser_.get();
    const int code = static_cast<int>(res.result_int());
    const bool up = code >= 200 && code < 300;
    finish({up, code, elapsed_ms(),
            up ? std::string() : fmt::format("HTTP {} {}", code, std::string_view(res.reason()))});
  }

  /// Records the result once and releases every resource: the other
  /// handlers in flight complete with operation_aborted.
  void finish(ProbeResult result)
  {
    if (finished_)
      return;
    finished_ = true;
    beast::error_code ignored;
    deadline_.cancel();
    resolver_.cancel();
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
    Done done = std::move(done_);
    done_ = nullptr;
    if (done)
      done(std::move(result));
  }

  ProbeUrl url_;
  milliseconds timeout_;
  Done done_;
  tcp::resolver resolver_;
  net::steady_timer deadline_;
  std::optional<tcp::socket> plain_;
  std::optional<ssl::stream<tcp::socket>> tls_;
  http::request<http::empty_body> request_;
  beast::flat_buffer buffer_;
  http::response_parser<http::empty_body> parser_;
  Clock::time_point started_;
  std::string stage_;
  bool finished_ = false;
};

ssl::context make_tls_context(const std::string& extra_ca_pem)
{
  ssl::context tls(ssl::context::tls_client);
  tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  tls.set_default_verify_paths();
  tls.set_verify_mode(ssl::verify_peer);
  if (!extra_ca_pem.empty())
    tls.add_certificate_authority(net::buffer(extra_ca_pem));
  return tls;
}

} // namespace

class HealthProber::Impl : public std::enable_shared_from_this<Impl> {
public:
  Impl(net::any_io_executor executor, std::vector<config::HealthProbe> probes, DaemonMetrics* metrics,
       HealthProberOptions options)
      : strand_(net::make_strand(std::move(executor))), tls_(make_tls_context(options.extra_ca_pem)),
        metrics_(metrics)
  {
    probes_.reserve(probes.size());
    status_.reserve(probes.size());
    for (auto& config : probes) {
      auto p = std::make_unique<Probe>(strand_);
      p->interval = std::chrono::seconds(std::max(config.interval, 1));
      p->timeout = options.timeout.count() > 0
                       ? options.timeout
                       : std::min<milliseconds>(std::chrono::duration_cast<milliseconds>(p->interval),
                                                max_default_timeout);
      try {
        p->url = parse_probe_url(config.url);
      } catch (const std::invalid_argument& e) {
        p->url_error = fmt::format("bad URL: {}", e.what());
      }
      if (metrics_) {
        p->up_gauge = &metrics_->health_probe_up.labels({config.name});
        p->latency_gauge = &metrics_->health_probe_latency.labels({config.name});
        p->status_code_gauge = &metrics_->health_probe_status_code.labels({config.name});
      }
      ProbeStatus s;
      s.name = config.name;
      s.url = redact_url(config.url);
      status_.push_back(std::move(s));
      p->config = std::move(config);
      probes_.push_back(std::move(p));
    }
  }

  void start()
  {
    {
      std::lock_guard lock(mutex_);
      if (started_ || stopped_)
        return;
      started_ = true;
    }
    net::post(strand_, [self = shared_from_this()] {
      for (std::size_t i = 0; i < self->probes_.size(); ++i)
        self->poll(i);
    });
  }

  void stop()
  {
    {
      std::lock_guard lock(mutex_);
      if (stopped_)
        return;
      stopped_ = true;
    }
    net::post(strand_, [self = shared_from_this()] {
      for (auto& p : self->probes_) {
        p->timer.cancel();
        if (auto run = std::move(p->run))
          run->cancel();
      }
    });
  }

  std::vector<ProbeStatus> status() const
  {
    std::lock_guard lock(mutex_);
    return status_;
  }

private:
  struct Probe {
    explicit Probe(const net::any_io_executor& strand) : timer(strand) {}
    config::HealthProbe config;
    std::optional<ProbeUrl> url;
    std::string url_error;
    std::chrono::seconds interval{30};
    milliseconds timeout{0};
    net::steady_timer timer;
    Clock::time_point next_at;
    std::shared_ptr<ProbeRun> run;
    Gauge* up_gauge = nullptr;
    Gauge* latency_gauge = nullptr;
    Gauge* status_code_gauge = nullptr;
  };

  bool stopped() const
  {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

  /// On the strand.
  void poll(std::size_t i)
  {
    if (stopped())
      return;
    Probe& p = *probes_[i];
    p.next_at = Clock::now() + p.interval;
    if (!p.url) {
      on_result(i, {false, 0, 0, p.url_error});
      return;
    }
    p.run = std::make_shared<ProbeRun>(strand_, tls_, *p.url, p.timeout,
                                       [self = shared_from_this(), i](ProbeResult r) { self->on_result(i, std::move(r)); });
    p.run->start();
  }

  /// On the strand.
  void on_result(std::size_t i, ProbeResult r)
  {
    Probe& p = *probes_[i];
    p.run.reset();
    {
      std::lock_guard lock(mutex_);
      if (stopped_)
        return;
      ProbeStatus& s = status_[i];
      if (s.checked && s.up != r.up) {
        if (r.up)
          spdlog::info("health probe {}: up again ({} ms)", s.name, r.latency_ms);
        else
          spdlog::warn("health probe {}: down: {}", s.name, r.error);
      } else if (!s.checked && !r.up) {
        spdlog::warn("health probe {}: down: {}", s.name, r.error);
      }
      s.up = r.up;
      s.status_code = r.status_code;
      s.latency_ms = r.latency_ms;
      s.checked_at_us = util::now();
      s.error = std::move(r.error);
      s.checked = true;
      // Under the lock, so that stop() returning means no further update.
      if (p.up_gauge) {
        p.up_gauge->set(r.up ? 1.0 : 0.0);
        p.latency_gauge->set(s.latency_ms / 1000.0);
        p.status_code_gauge->set(s.status_code);
      }
    }
    p.timer.expires_at(std::max(p.next_at, Clock::now()));
    p.timer.async_wait([self = shared_from_this(), i](beast::error_code ec) {
      if (!ec)
        self->poll(i);
    });
  }

  net::any_io_executor strand_;
  ssl::context tls_;
  DaemonMetrics* metrics_;
  std::vector<std::unique_ptr<Probe>> probes_;
  mutable std::mutex mutex_;
  std::vector<ProbeStatus> status_;
  bool started_ = false;
  bool stopped_ = false;
};

HealthProber::HealthProber(net::any_io_executor executor, std::vector<config::HealthProbe> probes,
                           DaemonMetrics* metrics, HealthProberOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(probes), metrics, std::move(options)))
{
}

HealthProber::~HealthProber()
{
  impl_->stop();
}

void HealthProber::start()
{
  impl_->start();
}

void HealthProber::stop()
{
  impl_->stop();
}

std::vector<ProbeStatus> HealthProber::status() const
{
  return impl_->status();
}

} // namespace dm::metrics
