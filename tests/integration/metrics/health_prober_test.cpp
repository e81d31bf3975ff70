// HealthProber against real servers on ephemeral loopback ports, started here
// with plain Asio: one answering 200, one 503, one that accepts and never
// answers, a closed port, and TLS servers with a certificate made for the test.

#include "dm/metrics/daemon_metrics.hpp"
#include "dm/metrics/health_prober.hpp"
#include "dm/util/time.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

using namespace dm::metrics;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

/// A self-signed certificate and its key, in PEM.
struct TestCertificate {
  std::string cert_pem;
  std::string key_pem;
};

std::string bio_text(BIO* bio)
{
  char* data = nullptr;
  // BIO_get_mem_data() spelled out: the macro has a C cast.
  const long n = BIO_ctrl(bio, BIO_CTRL_INFO, 0, static_cast<void*>(&data));
  return std::string(data, static_cast<std::size_t>(n));
}

/// A certificate for `san` (e.g. "DNS:localhost"), valid for an hour.
TestCertificate make_certificate(const char* common_name, const char* san)
{
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  REQUIRE(key != nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1, -1,
                             0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, san}, std::pair{NID_basic_constraints, "CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    REQUIRE(ext != nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  REQUIRE(X509_sign(x, key, EVP_sha256()) > 0);

  TestCertificate out;
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, x);
  out.cert_pem = bio_text(cert_bio);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = bio_text(key_bio);
  BIO_free(key_bio);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

/// An HTTP server on 127.0.0.1:<ephemeral>, run by a thread of its own.
/// `status` 0 accepts connections and never answers; otherwise each request
/// gets that status. With a certificate it speaks TLS.
class TestServer {
public:
  explicit TestServer(int status, const TestCertificate* cert = nullptr)
      : status_(status), acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0))
  {
    if (cert) {
      tls_.emplace(ssl::context::tls_server);
      tls_->use_certificate_chain(net::buffer(cert->cert_pem));
      tls_->use_private_key(net::buffer(cert->key_pem), ssl::context::pem);
    }
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  ~TestServer()
  {
    ioc_.stop();
    thread_.join();
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  int accepted() const { return accepted_; }
  int requests() const { return requests_; }
  std::string last_request() const
  {
    std::lock_guard lock(mutex_);
    return last_request_;
  }
  std::string last_server_name() const
  {
    std::lock_guard lock(mutex_);
    return last_server_name_;
  }

private:
  struct Connection {
    std::optional<tcp::socket> plain;
    std::optional<ssl::stream<tcp::socket>> tls;
    net::streambuf buffer;
    std::string response;
    tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }
  };

  void accept()
  {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec)
        return;
      ++accepted_;
      auto c = std::make_shared<Connection>();
      held_.push_back(c); // kept open until the server goes away
      if (tls_) {
        c->tls.emplace(std::move(socket), *tls_);
        c->tls->async_handshake(ssl::stream_base::server, [this, c](boost::system::error_code hec) {
          if (hec)
            return;
          if (const char* sni = SSL_get_servername(c->tls->native_handle(), TLSEXT_NAMETYPE_host_name)) {
            std::lock_guard lock(mutex_);
            last_server_name_ = sni;
          }
          serve(c, *c->tls);
        });
      } else {
        c->plain.emplace(std::move(socket));
        serve(c, *c->plain);
      }
      accept();
    });
  }

  template <class Stream>
  void serve(const std::shared_ptr<Connection>& c, Stream& stream)
  {
    net::async_read_until(stream, c->buffer, "\r\n\r\n", [this, c, &stream](boost::system::error_code ec, std::size_t n) {
      if (ec)
        return;
      {
        std::lock_guard lock(mutex_);
        last_request_.assign(net::buffers_begin(c->buffer.data()),
                             net::buffers_begin(c->buffer.data()) + static_cast<std::ptrdiff_t>(n));
      }
      ++requests_;
      if (status_ == 0)
        return; // accepted, read, never answered
      const char* reason = status_ == 200 ? "OK" : status_ == 503 ? "Service Unavailable" : "Other";
      c->response = "HTTP/1.1 " + std::to_string(status_) + " " + reason +
                    "\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
      net::async_write(stream, net::buffer(c->response), [c](boost::system::error_code, std::size_t) {
        boost::system::error_code ignored;
        c->socket().shutdown(tcp::socket::shutdown_both, ignored);
        c->socket().close(ignored);
      });
    });
  }

  int status_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::optional<ssl::context> tls_;
  std::vector<std::shared_ptr<Connection>> held_;
  std::thread thread_;
  std::atomic<int> accepted_{0};
  std::atomic<int> requests_{0};
  mutable std::mutex mutex_;
  std::string last_request_;
  std::string last_server_name_;
};

/// A port nothing listens on: bound, read, closed.
unsigned short closed_port()
{
  net::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  const unsigned short port = a.local_endpoint().port();
  a.close();
  return port;
}

/// The io_context the prober runs on, on a thread of its own.
struct IoThread {
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard{ioc.get_executor()};
  std::thread thread{[this] { ioc.run(); }};

  /// Lets run() return once no work is left; false if it did not within `limit`.
  bool finish_within(std::chrono::milliseconds limit)
  {
    guard.reset();
    const auto until = Clock::now() + limit;
    while (!ioc.stopped() && Clock::now() < until)
      std::this_thread::sleep_for(5ms);
    const bool done = ioc.stopped();
    if (!done)
      ioc.stop();
    thread.join();
    return done;
  }
  ~IoThread()
  {
    if (thread.joinable()) {
      ioc.stop();
      thread.join();
    }
  }
};

std::string url(const char* scheme, const char* host, unsigned short port, const char* path = "/healthz")
{
  return std::string(scheme) + "://" + host + ":" + std::to_string(port) + path;
}

/// Waits until every probe has a result.
std::vector<ProbeStatus> wait_checked(const HealthProber& prober, std::chrono::milliseconds limit)
{
  const auto until = Clock::now() + limit;
  for (;;) {
    auto s = prober.status();
    const bool all = std::all_of(s.begin(), s.end(), [](const ProbeStatus& p) { return p.checked; });
    if (all || Clock::now() > until)
      return s;
    std::this_thread::sleep_for(10ms);
  }
}

bool contains(const std::string& text, const std::string& part)
{
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("HealthProber reports up, HTTP errors, timeouts and refused connections", "[metrics][probe]")
{
  TestServer ok(200);
  TestServer unavailable(503);
  TestServer silent(0);
  const unsigned short closed = closed_port();

  DaemonMetrics metrics;
  IoThread io;
  // Interval 1 s, so the default timeout is min(1 s, 5 s) = 1 s.
  HealthProber prober(io.ioc.get_executor(),
                      {{"ok", url("http", "127.0.0.1", ok.port(), "/healthz?deep=1"), 1},
                       {"unavailable", url("http", "127.0.0.1", unavailable.port()), 1},
                       {"silent", url("http", "127.0.0.1", silent.port()), 1},
                       {"closed", url("http", "127.0.0.1", closed), 1},
                       {"bad", "ftp://127.0.0.1/", 1}},
                      &metrics);

  auto before = prober.status();
  REQUIRE(before.size() == 5);
  CHECK_FALSE(before[0].checked);
  CHECK(before[0].name == "ok");

  const auto started = Clock::now();
  const auto started_us = dm::util::now();
  prober.start();
  const auto status = wait_checked(prober, 5s);
  const double waited_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  REQUIRE(status.size() == 5);
  for (const auto& s : status) {
    INFO(s.name << ": " << s.error);
    CHECK(s.checked);
    CHECK(s.checked_at_us >= started_us);
  }

  const ProbeStatus& up = status[0];
  CHECK(up.up);
  CHECK(up.status_code == 200);
  CHECK(up.error.empty());
  CHECK(up.latency_ms > 0);
  CHECK(up.latency_ms < 1000);
  const std::string request = ok.last_request();
  CHECK(request.starts_with("GET /healthz?deep=1 HTTP/1.1\r\n"));
  CHECK(contains(request, "Host: 127.0.0.1:" + std::to_string(ok.port()) + "\r\n"));

  const ProbeStatus& http_error = status[1];
  CHECK_FALSE(http_error.up);
  CHECK(http_error.status_code == 503);
  CHECK(http_error.error == "HTTP 503 Service Unavailable");

  const ProbeStatus& timeout = status[2];
  INFO("timeout error: " << timeout.error);
  CHECK_FALSE(timeout.up);
  CHECK(timeout.status_code == 0);
  CHECK(contains(timeout.error, "timed out after 1000 ms during response"));
  CHECK(timeout.latency_ms >= 990);
  CHECK(timeout.latency_ms < 1500);
  CHECK(silent.requests() >= 1); // it did connect and send; the server stayed silent
  CHECK(waited_ms < 2500);

  const ProbeStatus& refused = status[3];
  INFO("refused error: " << refused.error);
  CHECK_FALSE(refused.up);
  CHECK(refused.status_code == 0);
  CHECK(contains(refused.error, "connect 127.0.0.1:"));
  CHECK(contains(refused.error, "refused"));
  CHECK(refused.latency_ms < 500);

  const ProbeStatus& bad = status[4];
  CHECK_FALSE(bad.up);
  CHECK(bad.error.starts_with("bad URL: "));

  // The gauges follow the statuses.
  CHECK(metrics.health_probe_up.labels({"ok"}).value() == 1);
  CHECK(metrics.health_probe_status_code.labels({"ok"}).value() == 200);
  CHECK(metrics.health_probe_latency.labels({"ok"}).value() == Approx(up.latency_ms / 1000));
  CHECK(metrics.health_probe_up.labels({"unavailable"}).value() == 0);
  CHECK(metrics.health_probe_status_code.labels({"unavailable"}).value() == 503);
  CHECK(metrics.health_probe_up.labels({"silent"}).value() == 0);
  CHECK(metrics.health_probe_up.labels({"closed"}).value() == 0);
  CHECK(contains(metrics.render(), "health_probe_up{service=\"ok\"} 1\n"));

  // Each probe polls again at its interval.
  const auto until = Clock::now() + 3s;
  while ((ok.requests() < 2 || unavailable.requests() < 2) && Clock::now() < until)
    std::this_thread::sleep_for(10ms);
  CHECK(ok.requests() >= 2);
  CHECK(unavailable.requests() >= 2);

  prober.stop();
  CHECK(io.finish_within(1000ms));
}

TEST_CASE("HealthProber::stop cancels a probe in flight and its timers", "[metrics][probe]")
{
  TestServer silent(0);
  DaemonMetrics metrics;
  IoThread io;
  // A long interval and timeout: only cancellation can end the work quickly.
  HealthProber prober(io.ioc.get_executor(), {{"silent", url("http", "127.0.0.1", silent.port()), 60}}, &metrics,
                      {std::chrono::milliseconds(30'000), {}});
  prober.start();
  const auto until = Clock::now() + 3s;
  while (silent.requests() < 1 && Clock::now() < until)
    std::this_thread::sleep_for(5ms);
  REQUIRE(silent.requests() == 1);

  const auto stopping = Clock::now();
  prober.stop();
  prober.stop(); // idempotent
  CHECK(io.finish_within(1000ms));
  CHECK(Clock::now() - stopping < 1000ms);
  const auto status = prober.status();
  REQUIRE(status.size() == 1);
  CHECK_FALSE(status[0].checked); // a cancelled probe records nothing
  CHECK(metrics.health_probe_status_code.labels({"silent"}).value() == 0);
}

TEST_CASE("HealthProber speaks TLS with SNI and verifies the peer", "[metrics][probe][tls]")
{
  const TestCertificate cert = make_certificate("localhost", "DNS:localhost");
  const TestCertificate other = make_certificate("other.example", "DNS:other.example");
  TestServer tls_ok(200, &cert);
  TestServer tls_other(200, &other);
  TestServer plain(200);

  IoThread io;
  HealthProberOptions trusting;
  trusting.timeout = 3000ms;
  trusting.extra_ca_pem = cert.cert_pem + other.cert_pem;
  HealthProber trusted(io.ioc.get_executor(),
                       {{"tls", url("https", "localhost", tls_ok.port()), 30},
                        // The certificate names localhost, not the address.
                        {"wrong-name", url("https", "127.0.0.1", tls_ok.port()), 30},
                        // TLS spoken to a plain HTTP server.
                        {"plain", url("https", "127.0.0.1", plain.port()), 30},
                        // Trusted, but made out to another name.
                        {"other-name", url("https", "localhost", tls_other.port()), 30}},
                       nullptr, trusting);
  HealthProber untrusted(io.ioc.get_executor(), {{"untrusted", url("https", "localhost", tls_ok.port()), 30}},
                         nullptr, {3000ms, {}});
  trusted.start();
  untrusted.start();

  const auto a = wait_checked(trusted, 8s);
  const auto b = wait_checked(untrusted, 8s);
  REQUIRE(a.size() == 4);
  REQUIRE(b.size() == 1);

  INFO("tls: " << a[0].error);
  CHECK(a[0].checked);
  CHECK(a[0].up);
  CHECK(a[0].status_code == 200);
  CHECK(tls_ok.last_server_name() == "localhost");
  CHECK(tls_ok.last_request().starts_with("GET /healthz HTTP/1.1\r\n"));

  INFO("wrong-name: " << a[1].error);
  CHECK(a[1].checked);
  CHECK_FALSE(a[1].up);
  CHECK(a[1].status_code == 0);
  CHECK(a[1].error.starts_with("TLS handshake: "));
  CHECK(contains(a[1].error, "IP address mismatch"));

  INFO("plain: " << a[2].error);
  CHECK(a[2].checked);
  CHECK_FALSE(a[2].up);
  CHECK(a[2].status_code == 0);
  // The plain server waits for a request that never comes, so the handshake
  // runs into the timeout.
  CHECK(contains(a[2].error, "TLS handshake"));

  INFO("other-name: " << a[3].error);
  CHECK(a[3].checked);
  CHECK_FALSE(a[3].up);
  CHECK(a[3].error.starts_with("TLS handshake: "));
  CHECK(contains(a[3].error, "hostname mismatch"));
  CHECK(tls_other.requests() == 0);

  INFO("untrusted: " << b[0].error);
  CHECK(b[0].checked);
  CHECK_FALSE(b[0].up);
  CHECK(b[0].error.starts_with("TLS handshake: "));
  CHECK(contains(b[0].error, "self-signed"));

  trusted.stop();
  untrusted.stop();
  CHECK(io.finish_within(1000ms));
}

TEST_CASE("HealthProber shows URLs without their password", "[metrics][probe]")
{
  TestServer ok(200);
  IoThread io;
  HealthProber prober(io.ioc.get_executor(),
                      {{"auth", "http://mon:s3cret@127.0.0.1:" + std::to_string(ok.port()) + "/", 30}});
  prober.start();
  const auto status = wait_checked(prober, 5s);
  REQUIRE(status.size() == 1);
  CHECK(status[0].up);
  CHECK(status[0].url == "http://mon:***@127.0.0.1:" + std::to_string(ok.port()) + "/");
  CHECK(contains(ok.last_request(), "Authorization: Basic bW9uOnMzY3JldA==\r\n")); // mon:s3cret
  prober.stop();
  CHECK(io.finish_within(1000ms));
}
