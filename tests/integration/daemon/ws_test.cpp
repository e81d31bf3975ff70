// The WebSocket endpoints against a real daemon on an ephemeral port: the
// protocol of DESIGN 9 (snapshot at once, updates with seq, errors that keep
// the connection), roles, fan-out to slow and fast clients, limits, pings,
// token expiry, shutdown, and the statistics.

#include "running_daemon.hpp"
#include "ws_test_client.hpp"

#include "daemon/server_context.hpp"
#include "daemon/ws_hub.hpp"

#include "dm/auth/token_issuer.hpp"
#include "dm/dashboard/snapshot_cache.hpp"
#include "dm/util/time.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <atomic>
#include <set>
#include <thread>

using dm::auth::Role;
using dm::test::RunningDaemon;
using dm::test::WsClientOptions;
using dm::test::WsTestClient;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

/// Dashboards refreshed once at start and then not for an hour, so that the
/// tests' own publishes are the only ones.
void quiet_refresh(dm::daemon::DaemonOptions& o)
{
  o.config.dashboard.refresh.system_performance = 3600;
  o.config.dashboard.refresh.business_kpis = 3600;
}

WsClientOptions bearer(const std::string& token)
{
  WsClientOptions o;
  o.token = token;
  return o;
}

json::object subscribe_msg(const char* dashboard)
{
  return {{"type", "subscribe"}, {"dashboard", dashboard}};
}

/// Waits for the refresher's first snapshot of `dashboard`.
void wait_for_snapshot(RunningDaemon& d, const char* dashboard)
{
  REQUIRE(RunningDaemon::eventually([&] { return d.daemon().context().snapshots.get(dashboard) != nullptr; }));
}

std::shared_ptr<const dm::dashboard::Snapshot> publish(RunningDaemon& d, const char* dashboard, json::object data,
                                                       dm::util::Micros changed_at = 0)
{
  return d.daemon().context().snapshots.publish(dashboard, std::move(data), dm::util::now(), changed_at);
}

json::object stats(RunningDaemon& d, const std::string& token)
{
  const auto r = d.get("/websocket/stats", token);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body).as_object();
}

std::int64_t unix_now()
{
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

} // namespace

TEST_CASE("ws: a subscriber gets the current snapshot at once, then each publish as an update", "[daemon][ws]")
{
  RunningDaemon d(quiet_refresh);
  wait_for_snapshot(d, "alerts");
  const auto first = publish(d, "alerts", {{"marker", "first"}});

  WsClientOptions options = bearer(d.token(Role::viewer));
  options.token_in_query = true; // as browsers do
  WsTestClient c(d.port(), "/ws/dashboard", options);
  REQUIRE(c.upgraded());
  c.send_json(subscribe_msg("alerts"));
  auto snap = c.next_json();
  CHECK(snap.at("type") == "snapshot");
  CHECK(snap.at("dashboard") == "alerts");
  CHECK(snap.at("seq").as_int64() == static_cast<std::int64_t>(first->seq));
  CHECK(std::string(snap.at("ts").as_string()) == dm::util::format_rfc3339_utc(first->ts));
  CHECK(snap.at("data").at("marker") == "first");

  // An ingest commit 50 ms ago: its frame, once written, is observed as latency.
  const auto second = publish(d, "alerts", {{"marker", "second"}}, dm::util::now() - 50'000);
  auto update = c.next_json();
  CHECK(update.at("type") == "update");
  CHECK(update.at("seq").as_int64() == static_cast<std::int64_t>(first->seq + 1));
  CHECK(update.at("seq").as_int64() == static_cast<std::int64_t>(second->seq));
  CHECK(update.at("data").at("marker") == "second");

  // The REST view of the same dashboard agrees on seq and data.
  auto rest = json::parse(d.get("/dashboard/alerts", d.token(Role::viewer)).body).as_object();
  CHECK(rest.at("seq") == update.at("seq"));
  CHECK(rest.at("data") == update.at("data"));

  CHECK(RunningDaemon::eventually([&] {
    return d.get("/metrics", "").body.find("\ndashboard_update_latency_seconds_count 1\n") != std::string::npos;
  }, 5s));

  // Unsubscribed: later publishes no longer arrive; subscribing again
  // resends the current snapshot as a complete one.
  c.send_json({{"type", "unsubscribe"}, {"dashboard", "alerts"}});
  CHECK(RunningDaemon::eventually([&] { return stats(d, d.token(Role::viewer)).at("subscribers").at("alerts") == 0; }, 5s));
  publish(d, "alerts", {{"marker", "unseen"}});
  CHECK(c.next(300ms).kind == WsTestClient::Event::Kind::timeout);
  c.send_json(subscribe_msg("alerts"));
  auto again = c.next_json();
  CHECK(again.at("type") == "snapshot");
  CHECK(again.at("data").at("marker") == "unseen");
}

TEST_CASE("ws: protocol errors answer an error frame and keep the connection", "[daemon][ws]")
{
  RunningDaemon d(quiet_refresh);
  wait_for_snapshot(d, "system_performance");
  WsTestClient c(d.port(), "/ws/dashboard", bearer(d.token(Role::viewer)));
  REQUIRE(c.upgraded());

  const auto error_for = [&](const std::string& text, bool binary = false) {
    c.send(text, binary);
    auto e = c.next_json();
    INFO(json::serialize(e));
    CHECK(e.at("type") == "error");
    CHECK(!e.at("message").as_string().empty());
    return std::string(e.at("code").as_string());
  };
  CHECK(error_for("{not json") == "bad_json");
  CHECK(error_for("[1,2]") == "bad_message");
  CHECK(error_for(R"({"type":"shout","dashboard":"alerts"})") == "unknown_type");
  CHECK(error_for(R"({"type":"subscribe","dashboard":"weather"})") == "unknown_dashboard");
  CHECK(error_for(R"({"type":"subscribe"})") == "bad_message");
  CHECK(error_for(R"({"type":"subscribe","dashboard":"user_progress","user_id":-3})") == "bad_user_id");
  // The viewer's sub ("tester") is no user id.
  CHECK(error_for(R"({"type":"subscribe","dashboard":"user_progress"})") == "bad_user_id");
  CHECK(error_for(R"({"type":"subscribe","dashboard":"business_kpis"})") == "forbidden");
  CHECK(error_for(R"({"type":"subscribe","dashboard":"alerts"})", true) == "bad_message");

  // Still open and serving.
  c.send_json(subscribe_msg("system_performance"));
  auto snap = c.next_json();
  CHECK(snap.at("type") == "snapshot");
  CHECK(snap.at("dashboard") == "system_performance");
  CHECK(snap.at("data").is_object());
}

TEST_CASE("ws: roles, a learner's own progress, refusals before the upgrade", "[daemon][ws][auth]")
{
  RunningDaemon d(quiet_refresh);
  wait_for_snapshot(d, "business_kpis");

  // Refused as HTTP answers, never upgraded.
  CHECK(WsTestClient(d.port(), "/ws/dashboard").status() == 401);
  CHECK(WsTestClient(d.port(), "/ws/dashboard", bearer("not.a.jwt")).status() == 401);
  const auto learner = d.token(Role::user, "42");
  {
    WsTestClient other(d.port(), "/ws/user/43/progress", bearer(learner));
    CHECK_FALSE(other.upgraded());
    CHECK(other.status() == 403);
    CHECK(other.response().body().find("forbidden") != std::string::npos);
  }
  CHECK(WsTestClient(d.port(), "/ws/user/abc/progress", bearer(d.token(Role::viewer))).status() == 400);
  // A plain GET of a WebSocket endpoint.
  const auto plain = d.get("/ws/dashboard", d.token(Role::viewer));
  CHECK(plain.status == 426);
  CHECK(plain.header("Upgrade") == "websocket");

  // A learner follows its own progress, subscribed on connect.
  WsTestClient own(d.port(), "/ws/user/42/progress", bearer(learner));
  REQUIRE(own.upgraded());
  auto progress = own.next_json();
  CHECK(progress.at("type") == "snapshot");
  CHECK(progress.at("dashboard") == "user_progress");
  CHECK(progress.at("user_id") == 42);
  CHECK(progress.at("data").at("user_id") == 42);
  CHECK(progress.at("seq").as_int64() >= 1);
  // ... and nothing else.
  own.send_json(subscribe_msg("alerts"));
  CHECK(own.next_json().at("code") == "forbidden");
  own.send_json({{"type", "subscribe"}, {"dashboard", "user_progress"}, {"user_id", 43}});
  CHECK(own.next_json().at("code") == "forbidden");

  // On /ws/dashboard a learner's user_progress defaults to its own sub.
  WsTestClient dash(d.port(), "/ws/dashboard", bearer(learner));
  REQUIRE(dash.upgraded());
  dash.send_json(subscribe_msg("user_progress"));
  auto mine = dash.next_json();
  CHECK(mine.at("type") == "snapshot");
  CHECK(mine.at("user_id") == 42);
  dash.send_json(subscribe_msg("system_performance"));
  CHECK(dash.next_json().at("code") == "forbidden");

  // Viewers may follow any learner; business KPIs need an admin.
  WsTestClient viewer(d.port(), "/ws/dashboard", bearer(d.token(Role::viewer)));
  viewer.send_json({{"type", "subscribe"}, {"dashboard", "user_progress"}, {"user_id", 42}});
  CHECK(viewer.next_json().at("user_id") == 42);
  WsTestClient admin(d.port(), "/ws/dashboard", bearer(d.token(Role::admin)));
  admin.send_json(subscribe_msg("business_kpis"));
  auto kpis = admin.next_json();
  CHECK(kpis.at("type") == "snapshot");
  CHECK(kpis.at("dashboard") == "business_kpis");

  // The stats need a viewer.
  CHECK(d.get("/websocket/stats", learner).status == 403);
}

TEST_CASE("ws: a client that stops reading is dropped with 1008 while another gets every update",
          "[daemon][ws][slow]")
{
  RunningDaemon d([](dm::daemon::DaemonOptions& o) {
    quiet_refresh(o);
    o.ws_write_timeout = 300ms;
  });
  wait_for_snapshot(d, "alerts");
  const auto viewer = d.token(Role::viewer);

  WsClientOptions slow_options = bearer(viewer);
  slow_options.receive_buffer = 4096; // the server's writes really block
  WsTestClient slow(d.port(), "/ws/dashboard", slow_options);
  WsTestClient fast(d.port(), "/ws/dashboard", bearer(viewer));
  REQUIRE(slow.upgraded());
  REQUIRE(fast.upgraded());
  slow.send_json(subscribe_msg("alerts"));
  fast.send_json(subscribe_msg("alerts"));
  const auto first_seq = fast.next_json().at("seq").as_int64();
  REQUIRE(RunningDaemon::eventually([&] { return stats(d, viewer).at("subscribers").at("alerts") == 2; }, 5s));

  // 60 snapshots of 256 KiB, one every 15 ms: far more than the slow
  // client's socket buffers hold.
  constexpr int publishes = 60;
  const std::string pad(256 * 1024, 'x');
  std::atomic<std::int64_t> last_seq{0};
  std::thread publisher([&] {
    for (int i = 0; i < publishes; ++i) {
      last_seq = static_cast<std::int64_t>(publish(d, "alerts", {{"i", i}, {"pad", pad}})->seq);
      std::this_thread::sleep_for(15ms);
    }
  });

  // The fast client sees every seq, in order, each within a short time.
  std::vector<std::int64_t> seen;
  std::string failure;
  try {
    for (int i = 0; i < publishes; ++i) {
      auto msg = fast.next_json(2s);
      seen.push_back(msg.at("seq").as_int64());
      if (msg.at("type") != "update" || msg.at("data").at("i") != i)
        failure = "unexpected frame " + json::serialize(msg).substr(0, 80);
    }
  } catch (const std::exception& e) {
    failure = e.what();
  }
  publisher.join();
  CHECK(failure.empty());
  INFO(failure);
  REQUIRE(seen.size() == publishes);
  for (std::size_t i = 0; i < seen.size(); ++i)
    CHECK(seen[i] == first_seq + 1 + static_cast<std::int64_t>(i));

  // The slow one was dropped (its write outlived ws_write_timeout) and its
  // waiting snapshots were conflated meanwhile.
  REQUIRE(RunningDaemon::eventually([&] { return stats(d, viewer).at("messages").at("dropped").to_number<std::int64_t>() >= 1; },
                                    5s));
  auto s = stats(d, viewer);
  CHECK(s.at("messages").at("conflated").to_number<std::int64_t>() >= 1);
  CHECK(s.at("messages").at("sent").to_number<std::int64_t>() >= publishes);
  // Reading now lets the stuck write finish, and the close frame follows it.
  const auto closed = slow.until_closed(5s);
  REQUIRE(closed.is_closed());
  CHECK(closed.close_code == 1008);
  CHECK(closed.close_reason.find("ws_write_timeout") != std::string::npos);

  const auto metrics = d.get("/metrics", "").body;
  CHECK(metrics.find("\nwebsocket_messages_dropped_total 0\n") == std::string::npos);
  CHECK(metrics.find("\nwebsocket_messages_conflated_total 0\n") == std::string::npos);
  CHECK(RunningDaemon::eventually([&] { return stats(d, viewer).at("connections") == 1; }, 5s));
}

TEST_CASE("ws: a queue over daemon.ws_queue_max closes with 1008, a client that never reads is torn down",
          "[daemon][ws][slow]")
{
  RunningDaemon d([](dm::daemon::DaemonOptions& o) {
    quiet_refresh(o);
    o.config.daemon.ws_queue_max = 2;
    o.ws_close_timeout = 500ms;
  });
  wait_for_snapshot(d, "business_kpis");
  const auto admin = d.token(Role::admin);
  WsClientOptions options = bearer(admin);
  options.receive_buffer = 4096;
  WsTestClient c(d.port(), "/ws/dashboard", options);
  for (const char* dashboard : {"alerts", "system_performance", "business_kpis"})
    c.send_json(subscribe_msg(dashboard));
  REQUIRE(RunningDaemon::eventually([&] { return stats(d, admin).at("messages").at("sent").to_number<std::int64_t>() >= 3; }, 5s));

  // Big alerts snapshots until the client's write is stuck, then one of each
  // other dashboard: four frames waiting, over the bound of two.
  const std::string pad(512 * 1024, 'y');
  for (int i = 0; i < 16; ++i)
    publish(d, "alerts", {{"pad", pad}});
  std::this_thread::sleep_for(200ms);
  publish(d, "system_performance", {{"n", 1}});
  publish(d, "business_kpis", {{"n", 1}});
  REQUIRE(RunningDaemon::eventually([&] { return stats(d, admin).at("messages").at("dropped").to_number<std::int64_t>() >= 1; },
                                    5s));
  // The close frame cannot get past the stuck write: after the close timeout
  // the socket is torn down and the connection's slot is free again.
  CHECK(RunningDaemon::eventually([&] { return stats(d, admin).at("connections") == 0; }, 5s));
  const auto end = c.until_closed(5s);
  CHECK(end.is_closed());
  CHECK(end.close_code != 1000);
}

TEST_CASE("ws: limits: 64 KiB messages (1009), control-frame floods (1008), connection slots", "[daemon][ws][limits]")
{
  RunningDaemon d([](dm::daemon::DaemonOptions& o) {
    quiet_refresh(o);
    o.config.daemon.max_connections = 8; // at most 4 per client address
  });
  const auto viewer = d.token(Role::viewer);

  SECTION("a message over 64 KiB closes with 1009")
  {
    WsTestClient c(d.port(), "/ws/dashboard", bearer(viewer));
    REQUIRE(c.upgraded());
    c.send(std::string(64 * 1024, ' ') + R"({"type":"subscribe","dashboard":"alerts"})");
    const auto e = c.until_closed(5s);
    REQUIRE(e.is_closed());
    CHECK(e.close_code == 1009);
  }

  SECTION("one just under the limit is read")
  {
    WsTestClient c(d.port(), "/ws/dashboard", bearer(viewer));
    c.send(std::string(60 * 1024, ' ') + R"({"type":"shout","dashboard":"alerts"})");
    CHECK(c.next_json().at("code") == "unknown_type");
  }

  SECTION("a flood of pings closes with 1008")
  {
    WsTestClient c(d.port(), "/ws/dashboard", bearer(viewer));
    REQUIRE(c.upgraded());
    for (int i = 0; i < 200; ++i)
      c.ping();
    const auto e = c.until_closed(5s);
    REQUIRE(e.is_closed());
    CHECK(e.close_code == 1008);
    CHECK(e.close_reason.find("control frames") != std::string::npos);
  }

  SECTION("a WebSocket keeps its connection slot until it ends")
  {
    std::vector<std::unique_ptr<WsTestClient>> open;
    for (int i = 0; i < 4; ++i) {
      open.push_back(std::make_unique<WsTestClient>(d.port(), "/ws/dashboard", bearer(viewer)));
      REQUIRE(open.back()->upgraded());
    }
    REQUIRE(d.daemon().context().ws_hub.stats().connections == 4);
    // The address's four slots are taken by the WebSockets.
    CHECK_FALSE(WsTestClient(d.port(), "/ws/dashboard", bearer(viewer)).upgraded());
    open.pop_back();
    REQUIRE(RunningDaemon::eventually([&] { return d.daemon().context().ws_hub.stats().connections == 3; }, 5s));
    WsTestClient again(d.port(), "/ws/dashboard", bearer(viewer));
    CHECK(again.upgraded());
  }
}

TEST_CASE("ws: pings every heartbeat, no pong within connection_timeout closes", "[daemon][ws][heartbeat]")
{
  RunningDaemon d([](dm::daemon::DaemonOptions& o) {
    quiet_refresh(o);
    o.heartbeat_interval = 100ms;
    o.connection_timeout = 500ms;
  });
  const auto viewer = d.token(Role::viewer);
  WsTestClient silent(d.port(), "/ws/dashboard", bearer(viewer)); // never reads, so never pongs
  WsTestClient alive(d.port(), "/ws/dashboard", bearer(viewer));
  REQUIRE(silent.upgraded());
  REQUIRE(alive.upgraded());

  // Reading (and so answering pings) for well over the timeout.
  CHECK(alive.next(1200ms).kind == WsTestClient::Event::Kind::timeout);
  const auto e = silent.until_closed(3s);
  REQUIRE(e.is_closed());
  CHECK(e.close_code == 1008);
  CHECK(e.close_reason.find("pong") != std::string::npos);
  // The reader is still open and served.
  alive.send_json(subscribe_msg("alerts"));
  CHECK(alive.next_json().at("dashboard") == "alerts");
}

TEST_CASE("ws: a stream is closed when its token expires", "[daemon][ws][auth]")
{
  RunningDaemon d([](dm::daemon::DaemonOptions& o) {
    quiet_refresh(o);
    o.config.auth.leeway = 0;
  });
  const auto now = unix_now();
  const auto short_lived = dm::auth::issue_token(d.secret(), Role::viewer, "tester", 2s, "", "", now);
  WsTestClient c(d.port(), "/ws/dashboard", bearer(short_lived));
  REQUIRE(c.upgraded());
  c.send_json(subscribe_msg("alerts"));
  CHECK(c.next_json().at("type") == "snapshot");
  const auto e = c.until_closed(5s);
  REQUIRE(e.is_closed());
  CHECK(e.close_code == 1008);
  CHECK(e.close_reason == "token expired");
  CHECK(unix_now() >= now + 2);
}

TEST_CASE("ws: Daemon::stop closes every WebSocket with 1001", "[daemon][ws]")
{
  auto d = std::make_unique<RunningDaemon>(quiet_refresh);
  const auto viewer = d->token(Role::viewer);
  WsTestClient a(d->port(), "/ws/dashboard", bearer(viewer));
  WsTestClient b(d->port(), "/ws/user/7/progress", bearer(viewer));
  REQUIRE(a.upgraded());
  REQUIRE(b.upgraded());
  a.send_json(subscribe_msg("alerts"));
  CHECK(a.next_json().at("type") == "snapshot");
  CHECK(b.next_json().at("user_id") == 7);

  const auto started = std::chrono::steady_clock::now();
  d->daemon().stop();
  for (WsTestClient* c : {&a, &b}) {
    const auto e = c->until_closed(5s);
    REQUIRE(e.is_closed());
    CHECK(e.close_code == 1001);
  }
  d.reset(); // joins run(): the drain ended once both had answered the close
  CHECK(std::chrono::steady_clock::now() - started < 5s);
}

TEST_CASE("ws: /websocket/stats and the metrics follow connections and subscriptions", "[daemon][ws][metrics]")
{
  RunningDaemon d(quiet_refresh);
  wait_for_snapshot(d, "system_performance");
  const auto viewer = d.token(Role::viewer);
  auto s0 = stats(d, viewer);
  CHECK(s0.at("connections") == 0);
  CHECK(s0.at("uptime_seconds").as_int64() >= 0);

  WsTestClient one(d.port(), "/ws/dashboard", bearer(viewer));
  auto two = std::make_unique<WsTestClient>(d.port(), "/ws/dashboard", bearer(viewer));
  one.send_json(subscribe_msg("alerts"));
  one.send_json(subscribe_msg("system_performance"));
  two->send_json(subscribe_msg("alerts"));
  two->send_json({{"type", "subscribe"}, {"dashboard", "user_progress"}, {"user_id", 7}});
  for (int i = 0; i < 2; ++i) {
    CHECK(one.next_json().at("type") == "snapshot");
    CHECK(two->next_json().at("type") == "snapshot");
  }

  // A frame counts as sent when its write completes, which may be just after
  // the client has read it.
  CHECK(RunningDaemon::eventually([&] { return stats(d, viewer).at("messages").at("sent") == 4; }, 5s));
  auto s = stats(d, viewer);
  CHECK(s.at("connections") == 2);
  CHECK(s.at("subscribers").at("alerts") == 2);
  CHECK(s.at("subscribers").at("system_performance") == 1);
  CHECK(s.at("subscribers").at("user_progress") == 1);
  CHECK(s.at("subscribers").at("business_kpis") == 0);
  CHECK(s.at("messages").at("sent") == 4);
  CHECK(s.at("messages").at("dropped") == 0);
  auto metrics = d.get("/metrics", "").body;
  CHECK(metrics.find("\nwebsocket_connections 2\n") != std::string::npos);
  CHECK(metrics.find("\ndashboard_active_subscribers{dashboard=\"alerts\"} 2\n") != std::string::npos);
  CHECK(metrics.find("\ndashboard_active_subscribers{dashboard=\"user_progress\"} 1\n") != std::string::npos);

  // One update to both alerts subscribers: two frames sent.
  publish(d, "alerts", {{"n", 1}});
  CHECK(one.next_json().at("type") == "update");
  CHECK(two->next_json().at("type") == "update");
  CHECK(RunningDaemon::eventually([&] { return stats(d, viewer).at("messages").at("sent") == 6; }, 5s));

  one.send_json({{"type", "unsubscribe"}, {"dashboard", "alerts"}});
  CHECK(RunningDaemon::eventually([&] { return stats(d, viewer).at("subscribers").at("alerts") == 1; }, 5s));

  // A client that goes away takes its subscriptions with it.
  two.reset();
  REQUIRE(RunningDaemon::eventually([&] { return stats(d, viewer).at("connections") == 1; }, 5s));
  s = stats(d, viewer);
  CHECK(s.at("subscribers").at("alerts") == 0);
  CHECK(s.at("subscribers").at("user_progress") == 0);
  CHECK(s.at("subscribers").at("system_performance") == 1);
  metrics = d.get("/metrics", "").body;
  CHECK(metrics.find("\nwebsocket_connections 1\n") != std::string::npos);
  CHECK(metrics.find("\ndashboard_active_subscribers{dashboard=\"user_progress\"} 0\n") != std::string::npos);
}
