#include "dm/http/ws_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>

#include <csignal>
#include <functional>
#include <string>
#include <thread>
#include <unistd.h>

namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

/// A one-connection server on a thread of its own: `serve` gets the
/// accepted socket and the upgrade request.
class OneShotServer {
public:
  using Serve = std::function<void(tcp::socket&, bhttp::request<bhttp::string_body>&)>;

  explicit OneShotServer(Serve serve)
  {
    thread_ = std::thread([this, serve = std::move(serve)] {
      tcp::socket socket(ioc_);
      acceptor_.accept(socket);
      beast::flat_buffer buffer;
      bhttp::request<bhttp::string_body> req;
      bhttp::read(socket, buffer, req);
      serve(socket, req);
    });
  }
  ~OneShotServer() { thread_.join(); }

  std::string url(std::string_view path = "/ws/dashboard") const
  {
    return "ws://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + std::string(path);
  }

private:
  net::io_context ioc_;
  tcp::acceptor acceptor_{ioc_, {net::ip::make_address("127.0.0.1"), 0}};
  std::thread thread_;
};

void decline(tcp::socket& socket, const bhttp::request<bhttp::string_body>& req, bhttp::status status)
{
  bhttp::response<bhttp::string_body> res{status, req.version()};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = R"({"error":{"code":"x","message":"the token has expired"}})";
  res.prepare_payload();
  bhttp::write(socket, res);
}

} // namespace

TEST_CASE("websocket_url maps the daemon URL to its WebSocket URL")
{
  CHECK(dm::http::websocket_url("http://127.0.0.1:8470", "/ws/dashboard") == "ws://127.0.0.1:8470/ws/dashboard");
  CHECK(dm::http::websocket_url("https://dm.example:443/api/", "/ws/dashboard") == "wss://dm.example/api/ws/dashboard");
  CHECK(dm::http::websocket_url("http://[::1]:9000", "/ws/x") == "ws://[::1]:9000/ws/x");
  CHECK_THROWS_AS(dm::http::websocket_url("ftp://host", "/ws"), dm::UsageError);
}

TEST_CASE("WsClient refuses URLs it cannot speak to")
{
  dm::http::WsClient ws;
  CHECK_THROWS_AS(ws.connect("gopher://127.0.0.1:1/"), dm::UsageError);
}

TEST_CASE("WsClient: nothing listening is a ConnectError")
{
  std::string url;
  {
    net::io_context ioc;
    tcp::acceptor a(ioc, {net::ip::make_address("127.0.0.1"), 0});
    url = "ws://127.0.0.1:" + std::to_string(a.local_endpoint().port()) + "/ws";
  }
  dm::http::WsClient ws;
  CHECK_THROWS_AS(ws.connect(url), dm::http::ConnectError);
  CHECK_FALSE(ws.is_open());
}

TEST_CASE("WsClient maps a declined upgrade to the error of its status")
{
  SECTION("401")
  {
    OneShotServer server([](tcp::socket& s, auto& req) { decline(s, req, bhttp::status::unauthorized); });
    dm::http::WsClient ws;
    try {
      ws.connect(server.url());
      FAIL("no exception");
    } catch (const dm::Unauthorised& e) {
      CHECK_THAT(e.what(), Catch::Contains("401") && Catch::Contains("the token has expired"));
    }
  }
  SECTION("403")
  {
    OneShotServer server([](tcp::socket& s, auto& req) { decline(s, req, bhttp::status::forbidden); });
    dm::http::WsClient ws;
    CHECK_THROWS_AS(ws.connect(server.url()), dm::Forbidden);
  }
  SECTION("404")
  {
    OneShotServer server([](tcp::socket& s, auto& req) { decline(s, req, bhttp::status::not_found); });
    dm::http::WsClient ws;
    CHECK_THROWS_AS(ws.connect(server.url()), dm::NotFound);
  }
}

TEST_CASE("WsClient sends headers, reads text, reports the server's close")
{
  std::string authorization;
  std::string received;
  OneShotServer server([&](tcp::socket& s, auto& req) {
    authorization = std::string(req[bhttp::field::authorization]);
    websocket::stream<tcp::socket&> ws(s);
    ws.accept(req);
    beast::flat_buffer b;
    ws.read(b);
    received = beast::buffers_to_string(b.data());
    ws.binary(true);
    ws.write(net::buffer(std::string("skipped")));
    ws.text(true);
    ws.write(net::buffer(std::string(R"({"type":"snapshot","seq":1})")));
    ws.close(websocket::close_reason(websocket::close_code::policy_error, "token expired"));
    beast::error_code ec;
    while (!ec)
      ws.read(b, ec);
  });
  dm::http::WsClient ws;
  REQUIRE(ws.connect(server.url(), {{"Authorization", "Bearer abc"}}));
  CHECK(ws.is_open());
  ws.send_text(R"({"type":"subscribe"})");
  const auto message = ws.read();
  REQUIRE(message);
  CHECK(*message == R"({"type":"snapshot","seq":1})");
  try {
    (void)ws.read();
    FAIL("no exception");
  } catch (const dm::http::WsClosed& e) {
    CHECK(e.code() == 1008);
    CHECK(e.reason() == "token expired");
    CHECK_THAT(e.what(), Catch::Contains("1008") && Catch::Contains("policy violation"));
  }
  CHECK_FALSE(ws.is_open());
  CHECK(authorization == "Bearer abc");
  CHECK(received == R"({"type":"subscribe"})");
}

TEST_CASE("WsClient: a signal interrupts a read and closes with 1000")
{
  int close_code = 0;
  {
    OneShotServer server([&](tcp::socket& s, auto& req) {
      websocket::stream<tcp::socket&> ws(s);
      ws.accept(req);
      beast::flat_buffer b;
      beast::error_code ec;
      ws.read(b, ec); // until the client closes
      close_code = ws.reason().code;
    });
    dm::http::WsClient ws;
    ws.interrupt_on({SIGUSR1});
    REQUIRE(ws.connect(server.url()));
    std::thread signaller([] {
      std::this_thread::sleep_for(100ms);
      ::kill(::getpid(), SIGUSR1);
    });
    const auto message = ws.read();
    signaller.join();
    CHECK_FALSE(message);
    CHECK(ws.interrupted());
    CHECK_FALSE(ws.is_open());
    CHECK_FALSE(ws.wait_for(10s)); // at once, once interrupted
  }
  CHECK(close_code == 1000);
}

TEST_CASE("WsClient::wait_for waits")
{
  dm::http::WsClient ws;
  const auto start = std::chrono::steady_clock::now();
  CHECK(ws.wait_for(50ms));
  CHECK(std::chrono::steady_clock::now() - start >= 50ms);
}
