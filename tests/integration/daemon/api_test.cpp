// The daemon's REST API against a real server on an ephemeral port and a
// real database: every route's success and error paths, JWT refusals, roles,
// limits, slow clients.

#include "jwt_craft.hpp"
#include "api_json.hpp"
#include "running_daemon.hpp"

#include "dm/ingest/ingest.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <thread>

using dm::auth::Role;
using dm::test::craft_jwt;
using dm::test::RunningDaemon;
using dm::test::body_json;
namespace json = boost::json;

namespace {

std::int64_t unix_now()
{
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string error_code_of(const dm::http::HttpResponse& r)
{
  return std::string(body_json(r).at("error").at("code").as_string());
}

const char* learning_ndjson =
    R"({"ts":"2026-11-02T08:15:00Z","user_id":7,"session_id":70,"kind":"session_start"})"
    "\n"
    R"({"ts":"2026-11-02T08:15:20Z","user_id":7,"session_id":70,"kind":"question_answered","topic":"Vorfahrt","correct":true,"answer_ms":4200})"
    "\n"
    R"({"ts":"2026-11-02T08:16:20Z","user_id":7,"session_id":70,"kind":"question_answered","topic":"Überholen","correct":false,"answer_ms":5200})"
    "\n";

} // namespace

TEST_CASE("health, readiness and metrics need no token", "[daemon]")
{
  RunningDaemon d;
  auto health = d.get("/healthz", "");
  CHECK(health.status == 200);
  CHECK(body_json(health).at("status") == "ok");
  CHECK(RunningDaemon::eventually([&] { return d.get("/readyz", "").status == 200; }));
  auto metrics = d.get("/metrics", "");
  CHECK(metrics.status == 200);
  CHECK(metrics.header("Content-Type").find("text/plain") == 0);
  CHECK(metrics.body.find("http_requests_total{method=\"GET\",route=\"/healthz\",code=\"200\"} 1") != std::string::npos);
  auto page = d.get("/", "");
  CHECK(page.status == 200);
  CHECK(page.body.find("<title>dmanalytics</title>") != std::string::npos);
}

TEST_CASE("unknown paths are 404 and wrong methods 405 with Allow", "[daemon]")
{
  RunningDaemon d;
  auto missing = d.get("/nope", d.token(Role::admin));
  CHECK(missing.status == 404);
  CHECK(error_code_of(missing) == "not_found");
  auto wrong = d.post("/healthz", "", "");
  CHECK(wrong.status == 405);
  CHECK(wrong.header("Allow").find("GET") != std::string::npos);
  CHECK(d.get("/alerts/1", d.token(Role::analyst)).status == 404);
}

TEST_CASE("tokens: missing, forged, expired and foreign algorithms are refused", "[daemon][auth]")
{
  RunningDaemon d;
  const std::string secret = d.secret();
  const auto now = unix_now();
  const std::string good_payload = fmt::format(R"({{"sub":"a","role":"admin","exp":{}}})", now + 300);

  CHECK(d.get("/reports", "").status == 401);
  CHECK(d.get("/reports", "").header("WWW-Authenticate") == "Bearer");
  CHECK(d.get("/reports", craft_jwt("HS256", good_payload, secret)).status == 200);

  SECTION("alg none") { CHECK(d.get("/reports", craft_jwt("none", good_payload, secret)).status == 401); }
  SECTION("another algorithm") { CHECK(d.get("/reports", craft_jwt("HS512", good_payload, secret)).status == 401); }
  SECTION("bad signature")
  {
    CHECK(d.get("/reports", craft_jwt("HS256", good_payload, secret + "x")).status == 401);
  }
  SECTION("tampered payload")
  {
    std::string token = craft_jwt("HS256", fmt::format(R"({{"sub":"a","role":"viewer","exp":{}}})", now + 300), secret);
    const auto first = token.find('.');
    const auto second = token.find('.', first + 1);
    token = token.substr(0, first + 1) + dm::test::base64url(good_payload) + token.substr(second);
    CHECK(d.get("/reports", token).status == 401);
  }
  SECTION("missing exp")
  {
    CHECK(d.get("/reports", craft_jwt("HS256", R"({"sub":"a","role":"admin"})", secret)).status == 401);
  }
  SECTION("expired beyond the leeway")
  {
    auto r = d.get("/reports", craft_jwt("HS256", fmt::format(R"({{"sub":"a","role":"admin","exp":{}}})", now - 120), secret));
    CHECK(r.status == 401);
    CHECK(body_json(r).at("error").at("message").as_string().find("expired") != json::string::npos);
  }
  SECTION("nbf in the future")
  {
    CHECK(d.get("/reports", craft_jwt("HS256",
                                      fmt::format(R"({{"sub":"a","role":"admin","exp":{},"nbf":{}}})", now + 600, now + 300),
                                      secret))
              .status == 401);
  }
}

TEST_CASE("roles: viewer, analyst and admin routes", "[daemon][auth]")
{
  RunningDaemon d;
  const auto viewer = d.token(Role::viewer);
  const auto analyst = d.token(Role::analyst);
  const auto admin = d.token(Role::admin);
  CHECK(d.get("/reports", viewer).status == 403);
  CHECK(error_code_of(d.get("/reports", viewer)) == "forbidden");
  CHECK(d.get("/reports", analyst).status == 200);
  CHECK(d.get("/dashboard/business/kpis", analyst).status == 403);
  CHECK(RunningDaemon::eventually([&] { return d.get("/dashboard/business/kpis", admin).status == 200; }));
  CHECK(d.del("/reports/1", analyst).status == 403);
  CHECK(d.del("/reports/1", admin).status == 404);
}

TEST_CASE("reports: generate, list with a cursor, metadata, artifacts, delete", "[daemon][reports]")
{
  RunningDaemon d;
  const auto analyst = d.token(Role::analyst);
  const auto admin = d.token(Role::admin);
  {
    auto conn = std::make_unique<dm::db::PgConnection>(d.db().url());
    dm::ingest::IngestOptions o;
    o.kind = dm::ingest::Kind::learning;
    dm::ingest::ingest_buffer(*conn, "events", learning_ndjson, o);
  }
  const std::string body = R"({"type":"learning","from":"2026-11-02","to":"2026-11-03","tz":"Europe/Berlin"})";
  auto first = d.post("/reports/generate", analyst, body);
  REQUIRE(first.status == 200);
  auto meta = body_json(first).as_object();
  CHECK(meta.at("status") == "succeeded");
  CHECK(meta.at("version") == 1);
  CHECK(meta.at("kpis").at("questions_answered").to_number<double>() == 2);
  CHECK(meta.at("artifacts").as_object().size() == 3);
  const auto id = meta.at("id").as_int64();

  auto async = d.post("/reports/generate?async=1", analyst, body);
  REQUIRE(async.status == 202);
  const auto async_id = body_json(async).at("id").as_int64();
  CHECK(async.header("Location") == fmt::format("/reports/{}", async_id));
  CHECK(RunningDaemon::eventually([&] {
    return body_json(d.get(fmt::format("/reports/{}", async_id), analyst)).at("status") == "succeeded";
  }));
  CHECK(body_json(d.get(fmt::format("/reports/{}", async_id), analyst)).at("version") == 2);

  auto page1 = body_json(d.get("/reports?limit=1", analyst)).as_object();
  REQUIRE(page1.at("reports").as_array().size() == 1);
  CHECK(page1.at("reports").as_array()[0].at("id") == async_id);
  const std::string cursor(page1.at("next_cursor").as_string());
  auto page2 = body_json(d.get("/reports?limit=1&cursor=" + cursor, analyst)).as_object();
  REQUIRE(page2.at("reports").as_array().size() == 1);
  CHECK(page2.at("reports").as_array()[0].at("id") == id);
  CHECK(page2.at("next_cursor").is_null());
  CHECK(body_json(d.get("/reports?type=business", analyst)).at("reports").as_array().empty());

  auto csv = d.get(fmt::format("/reports/{}/artifact?format=csv", id), analyst);
  CHECK(csv.status == 200);
  CHECK(csv.header("Content-Type").find("text/csv") == 0);
  CHECK(csv.header("Content-Disposition") == fmt::format("attachment; filename=\"dmanalytics-learning-{}-v1.csv\"", id));
  CHECK(csv.body.find("Überholen") != std::string::npos);
  auto pdf = d.get(fmt::format("/reports/{}/artifact?format=pdf", id), analyst);
  CHECK(pdf.header("Content-Type") == "application/pdf");
  CHECK(pdf.body.rfind("%PDF-", 0) == 0);
  CHECK(d.get(fmt::format("/reports/{}/artifact?format=xml", id), analyst).status == 400);
  auto kpis = d.get(fmt::format("/reports/{}/artifact?format=csv&section=kpis", id), analyst);
  CHECK(kpis.status == 200);
  CHECK(kpis.body.rfind("name,value", 0) == 0);
  CHECK(kpis.body.find("questions_answered,2") != std::string::npos);
  auto bad_section = d.get(fmt::format("/reports/{}/artifact?format=csv&section=weather", id), analyst);
  CHECK(bad_section.status == 400);
  CHECK(body_json(bad_section).at("error").at("field") == "section");

  CHECK(d.del(fmt::format("/reports/{}", id), admin).status == 200);
  CHECK(d.get(fmt::format("/reports/{}", id), analyst).status == 404);
  CHECK(d.get("/reports/abc", analyst).status == 400);
}

TEST_CASE("reports: bad requests name the field", "[daemon][reports]")
{
  RunningDaemon d;
  const auto analyst = d.token(Role::analyst);
  auto field_of = [&](const std::string& body) {
    auto r = d.post("/reports/generate", analyst, body);
    CHECK(r.status == 400);
    auto e = body_json(r).at("error").as_object();
    return e.contains("field") ? std::string(e.at("field").as_string()) : std::string();
  };
  CHECK(field_of(R"({"type":"weather"})") == "type");
  CHECK(field_of(R"({})") == "type");
  CHECK(field_of(R"({"type":"learning","tz":"Mars/Base"})") == "tz");
  CHECK(field_of(R"({"type":"learning","period":"fortnight"})") == "period");
  CHECK(field_of(R"({"type":"learning","from":"2026-11-03","to":"2026-11-02"})") == "to");
  CHECK(field_of(R"({"type":"learning","colour":"red"})") == "colour");
  CHECK(field_of(R"({"type":"learning","formats":["xml"]})") == "formats");
  CHECK(field_of("not json") == "body");
  CHECK(body_json(d.get("/reports?limit=0", analyst)).at("error").at("field") == "limit");
}

TEST_CASE("events: all or nothing per request, errors name the line", "[daemon][ingest]")
{
  RunningDaemon d;
  const auto analyst = d.token(Role::analyst);
  auto ok = d.post("/events/learning", analyst, learning_ndjson, "application/x-ndjson");
  REQUIRE(ok.status == 200);
  CHECK(body_json(ok).at("rows") == 3);
  CHECK(d.db().scalar("SELECT count(*) FROM dm.learning_events") == "3");

  auto array = d.post("/events/requests", analyst,
                      R"([{"ts":"2026-11-02T08:00:00Z","service":"api","endpoint":"/q","status":200,"duration_ms":12.5},
                          {"ts":"2026-11-02T08:00:01Z","service":"api","endpoint":"/q","status":503,"duration_ms":40}])");
  REQUIRE(array.status == 200);
  CHECK(d.db().scalar("SELECT count(*) FROM dm.request_metrics") == "2");

  const std::string bad = std::string(learning_ndjson) +
                          R"({"ts":"2026-11-02T08:17:00Z","user_id":"seven","kind":"session_end"})" + "\n";
  auto rejected = d.post("/events/learning", analyst, bad, "application/x-ndjson");
  CHECK(rejected.status == 400);
  CHECK(body_json(rejected).at("error").at("message").as_string().find("body:4") != json::string::npos);
  CHECK(d.db().scalar("SELECT count(*) FROM dm.learning_events") == "3");

  // A large NDJSON body: tens of thousands of lines in one request.
  std::string many;
  for (int i = 0; i < 40000; ++i)
    many += fmt::format(R"({{"ts":"2026-11-02T09:{:02}:{:02}Z","service":"api","endpoint":"/q{}","status":{},"duration_ms":{}}})",
                        i / 60 % 60, i % 60, i % 7, i % 50 == 0 ? 503 : 200, 10 + i % 90) +
            "\n";
  auto large = d.post("/events/requests", analyst, many, "application/x-ndjson");
  REQUIRE(large.status == 200);
  CHECK(body_json(large).at("rows") == 40000);
  CHECK(d.db().scalar("SELECT count(*) FROM dm.request_metrics") == "40002");

  CHECK(body_json(d.post("/events/weather", analyst, "{}")).at("error").at("field") == "kind");
  CHECK(body_json(d.post("/events/learning", analyst, "")).at("error").at("field") == "body");
  CHECK(d.post("/events/learning", d.token(Role::viewer), learning_ndjson).status == 403);

  auto metrics = d.get("/metrics", "");
  CHECK(metrics.body.find("ingest_rows_total{kind=\"learning\"} 3") != std::string::npos);
}

TEST_CASE("dashboards come from the snapshot cache; user progress by role or own sub", "[daemon][dashboard]")
{
  RunningDaemon d;
  const auto viewer = d.token(Role::viewer);
  REQUIRE(d.post("/events/learning", d.token(Role::analyst), learning_ndjson, "application/x-ndjson").status == 200);
  REQUIRE(RunningDaemon::eventually([&] { return d.get("/dashboard/system/performance", viewer).status == 200; }));
  auto perf = body_json(d.get("/dashboard/system/performance", viewer)).as_object();
  CHECK(perf.at("dashboard") == "system_performance");
  CHECK(perf.at("seq").as_int64() >= 1);
  CHECK(perf.at("data").is_object());
  auto alerts = body_json(d.get("/dashboard/alerts", viewer));
  CHECK(alerts.at("data").at("alerts").as_array().empty());

  auto progress = d.get("/dashboard/user/7/progress", viewer);
  REQUIRE(progress.status == 200);
  auto data = body_json(progress).at("data").as_object();
  CHECK(data.at("user_id") == 7);
  CHECK(d.get("/dashboard/user/987654/progress", viewer).status == 404);
  CHECK(d.get("/dashboard/user/x/progress", viewer).status == 400);

  // A learner's token reads its own progress and nothing else.
  const auto learner = d.token(Role::user, "7");
  CHECK(d.get("/dashboard/user/7/progress", learner).status == 200);
  CHECK(d.get("/dashboard/user/8/progress", learner).status == 403);
  CHECK(d.get("/dashboard/system/performance", learner).status == 403);
  CHECK(d.get("/dashboard/alerts", learner).status == 403);
  CHECK(d.get("/reports", learner).status == 403);
}

TEST_CASE("limits: header 431, body 413, rate limit 429 with Retry-After", "[daemon][limits]")
{
  RunningDaemon d([](dm::daemon::DaemonOptions& o) {
    o.config.daemon.max_body = 1024;
    o.config.rate_limit.rps = 0.5;
    o.config.rate_limit.burst = 3;
  });
  auto client = d.client();
  auto big_header = client->request("GET", "/healthz", "", {{"X-Padding", std::string(9000, 'a')}});
  CHECK(big_header.status == 431);
  auto big_body = d.post("/events/learning", d.token(Role::analyst), std::string(2000, ' '));
  CHECK(big_body.status == 413);
  CHECK(error_code_of(big_body) == "body_too_large");

  const auto token = d.token(Role::viewer, "limited");
  int ok = 0;
  dm::http::HttpResponse last;
  for (int i = 0; i < 5; ++i) {
    last = d.get("/dashboard/alerts", token);
    if (last.status != 429)
      ++ok;
  }
  CHECK(ok <= 3);
  CHECK(last.status == 429);
  CHECK(std::stoi(last.header("Retry-After")) >= 1);
  // Another subject has a bucket of its own; health checks are never limited.
  CHECK(d.get("/dashboard/alerts", d.token(Role::viewer, "other")).status != 429);
  CHECK(d.get("/healthz", "").status == 200);
}

TEST_CASE("a slowloris client is closed at its read deadline while others are served", "[daemon][limits]")
{
  RunningDaemon d([](dm::daemon::DaemonOptions& o) { o.read_timeout = std::chrono::milliseconds(800); });
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket slow(ioc);
  slow.connect({boost::asio::ip::make_address("127.0.0.1"), d.port()});
  const auto started = std::chrono::steady_clock::now();
  std::atomic<bool> closed{false};
  std::atomic<long> closed_after_ms{0};
  // The server's close ends this blocking read (EOF or reset).
  std::thread reader([&] {
    char buf[512];
    boost::system::error_code ec;
    while (!ec)
      slow.read_some(boost::asio::buffer(buf), ec);
    closed_after_ms = static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
    closed = true;
  });
  const std::string header = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  boost::system::error_code ec;
  for (std::size_t i = 0; i < header.size() + 100 && !closed && !ec; ++i) {
    const char c = i < header.size() ? header[i] : 'a';
    boost::asio::write(slow, boost::asio::buffer(&c, 1), ec);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (i == 3)
      CHECK(d.get("/healthz", "").status == 200); // others are served meanwhile
  }
  if (!closed) {
    slow.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    slow.close(ec);
  }
  reader.join();
  INFO("closed after " << closed_after_ms.load() << " ms");
  CHECK(closed_after_ms.load() >= 700);
  CHECK(closed_after_ms.load() < 3000);
}

TEST_CASE("one client address cannot take every connection slot", "[daemon][limits]")
{
  // max_connections 8: one address may hold half of them.
  RunningDaemon d([](dm::daemon::DaemonOptions& o) { o.config.daemon.max_connections = 8; });
  boost::asio::io_context ioc;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<boost::asio::ip::tcp::socket>(ioc));
    held.back()->connect({boost::asio::ip::make_address("127.0.0.1"), d.port()});
  }
  // Let the daemon accept them all.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  boost::asio::ip::tcp::socket extra(ioc);
  extra.connect({boost::asio::ip::make_address("127.0.0.1"), d.port()});
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  boost::system::error_code ec;
  boost::asio::write(extra, boost::asio::buffer(request), ec);
  char buf[256];
  std::size_t n = 0;
  if (!ec)
    n = extra.read_some(boost::asio::buffer(buf), ec);
  CHECK(n == 0); // closed without an answer
  CHECK(ec);
  // A slot freed is usable again.
  held.pop_back();
  CHECK(RunningDaemon::eventually([&] {
    try {
      return d.get("/healthz", "").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  }));
}
