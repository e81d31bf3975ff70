// Change signals end to end: the NOTIFY an ingest sends (users, commit
// instant, nothing on rollback), its parsing, and the ChangeListener on a real
// server: delivery from another connection, reconnection after the backend is
// terminated or the database refuses connections, malformed payloads.

#include "temp_file.hpp"
#include "test_database.hpp"

#include "daemon/change_listener.hpp"
#include "dm/ingest/ingest.hpp"
#include "dm/ingest/loader.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

using dm::daemon::ChangeListener;
using dm::daemon::ChangeListenerOptions;
using dm::daemon::ChangeSignal;
using dm::daemon::parse_change_signal;
using dm::ingest::Kind;
using dm::test::TestDatabase;
using dm::util::Micros;
using namespace std::chrono_literals;

namespace {

/// Collects the payloads of `dm_events` on a connection of its own.
class NotifyCapture {
public:
  explicit NotifyCapture(TestDatabase& db) : conn_(db.connect()), receiver_(*conn_, payloads_) {}

  /// The payloads that arrive within `limit`; returns as soon as any has.
  std::vector<std::string> next(std::chrono::milliseconds limit)
  {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    conn_->get_notifs();
    while (payloads_.empty() && std::chrono::steady_clock::now() < deadline)
      conn_->await_notification(0, 20000);
    return std::exchange(payloads_, {});
  }

private:
  struct Receiver final : pqxx::notification_receiver {
    Receiver(pqxx::connection& c, std::vector<std::string>& out) : pqxx::notification_receiver(c, "dm_events"), out_(out)
    {
    }
    void operator()(const std::string& payload, int) override { out_.push_back(payload); }
    std::vector<std::string>& out_;
  };

  std::unique_ptr<pqxx::connection> conn_;
  std::vector<std::string> payloads_;
  Receiver receiver_;
};

dm::ingest::IngestResult ingest(TestDatabase& db, Kind kind, std::string text)
{
  dm::db::PgConnection raw(db.url());
  dm::ingest::IngestOptions o;
  o.kind = kind;
  return dm::ingest::ingest_buffer(raw, "test", std::move(text), o);
}

/// Learning rows for `users` (one answer each).
std::string learning_csv(const std::vector<std::int64_t>& users)
{
  std::string out = "ts,user_id,session_id,kind,topic,correct,answer_ms,score\n";
  for (const std::int64_t u : users)
    out += fmt::format("2026-11-02T08:15:00Z,{},{},question_answered,Vorfahrt,true,4000,\n", u, u);
  return out;
}

void notify(TestDatabase& db, const std::string& payload)
{
  auto conn = db.connect();
  pqxx::nontransaction txn{*conn};
  txn.exec_params("SELECT pg_notify('dm_events', $1)", payload);
}

dm::db::Database::Options url_options(const TestDatabase& db)
{
  dm::db::Database::Options o;
  o.url = db.url();
  return o;
}

/// An io_context run by one thread for the test's life.
class IoThread {
public:
  IoThread() : work_(ioc_.get_executor()), thread_([this] { ioc_.run(); }) {}
  ~IoThread()
  {
    work_.reset();
    ioc_.stop();
    thread_.join();
  }
  boost::asio::any_io_executor executor() { return ioc_.get_executor(); }

private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

/// The signals a listener handed over, with the instant each arrived.
class SignalLog {
public:
  ChangeListener::Handler handler()
  {
    return [this](const ChangeSignal& s) {
      {
        const std::lock_guard lock(mutex_);
        signals_.push_back({s, std::chrono::steady_clock::now()});
      }
      cv_.notify_all();
    };
  }
  /// The next signal, waiting up to `limit`; nullopt when none came.
  std::optional<std::pair<ChangeSignal, std::chrono::steady_clock::time_point>> next(std::chrono::milliseconds limit)
  {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, limit, [this] { return !signals_.empty(); }))
      return std::nullopt;
    auto s = std::move(signals_.front());
    signals_.pop_front();
    return s;
  }

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::pair<ChangeSignal, std::chrono::steady_clock::time_point>> signals_;
};

bool is_everything(const ChangeSignal& s)
{
  return s.all_users && s.kinds.size() == dm::ingest::kind_names.size() && s.committed_at == 0;
}

/// Makes the default logger a ring buffer for the test's life.
class LogCapture {
public:
  LogCapture() : previous_(spdlog::default_logger())
  {
    auto logger = std::make_shared<spdlog::logger>("change-signal-test", sink_);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  int count(spdlog::level::level_enum level, std::string_view part) const
  {
    int n = 0;
    for (const auto& m : sink_->last_raw())
      if (m.level == level && std::string_view(m.payload.data(), m.payload.size()).find(part) != std::string_view::npos)
        ++n;
    return n;
  }

private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
  std::shared_ptr<spdlog::logger> previous_;
};

template <typename F>
bool wait_for(F done, std::chrono::milliseconds limit = 10s)
{
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

void admin(const std::string& sql)
{
  pqxx::connection conn{TestDatabase::cluster().cluster()->connection_string("postgres")};
  pqxx::nontransaction txn{conn};
  txn.exec(sql);
}

} // namespace

TEST_CASE("change signals: an ingest's NOTIFY names its users and its commit instant", "[daemon][notify]")
{
  TestDatabase db;
  NotifyCapture capture(db);

  const Micros before = dm::util::now();
  ingest(db, Kind::learning, learning_csv({7, 2, 7, 9, 2}));
  const Micros after = dm::util::now();
  auto payloads = capture.next(5s);
  REQUIRE(payloads.size() == 1);
  INFO(payloads[0]);
  const auto doc = boost::json::parse(payloads[0]).as_object();
  CHECK(doc.at("kind") == "learning");
  CHECK(doc.at("rows") == 5);
  CHECK(doc.at("from") == "2026-11-02T08:15:00Z");
  CHECK(doc.at("to") == "2026-11-02T08:15:00Z");
  CHECK(doc.at("users") == boost::json::array{2, 7, 9});
  const Micros at = doc.at("at").as_int64();
  // Same machine, same clock; the slack covers rounding only.
  CHECK(at >= before - 1000);
  CHECK(at <= after + 1000);

  std::string error;
  const auto signal = parse_change_signal(payloads[0], error);
  REQUIRE(signal);
  CHECK(signal->kinds == std::vector<Kind>{Kind::learning});
  CHECK(signal->users == std::vector<std::int64_t>{2, 7, 9});
  CHECK_FALSE(signal->all_users);
  CHECK(signal->committed_at == at);

  // Kinds without users name none.
  ingest(db, Kind::requests, "ts,service,endpoint,status,duration_ms\n2026-11-02T09:10:00Z,api,/a,200,12\n");
  payloads = capture.next(5s);
  REQUIRE(payloads.size() == 1);
  CHECK(boost::json::parse(payloads[0]).at("users") == boost::json::array{});
  CHECK(boost::json::parse(payloads[0]).at("kind") == "requests");

  ingest(db, Kind::payments,
         "ts,user_id,kind,plan,amount_cents,currency\n2026-11-02T09:10:00Z,41,subscribe,monthly,999,EUR\n");
  payloads = capture.next(5s);
  REQUIRE(payloads.size() == 1);
  CHECK(boost::json::parse(payloads[0]).at("users") == boost::json::array{41});
}

TEST_CASE("change signals: past the cap the payload says every user, and stays small", "[daemon][notify]")
{
  TestDatabase db;
  NotifyCapture capture(db);
  // The largest ids there are, so that the payload is as long as it gets.
  std::vector<std::int64_t> at_cap;
  for (std::size_t i = 0; i < dm::ingest::max_notified_users; ++i)
    at_cap.push_back(std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(i));

  ingest(db, Kind::learning, learning_csv(at_cap));
  auto payloads = capture.next(5s);
  REQUIRE(payloads.size() == 1);
  CHECK(payloads[0].size() < 6000);
  CHECK(boost::json::parse(payloads[0]).at("users").as_array().size() == dm::ingest::max_notified_users);

  at_cap.push_back(1);
  ingest(db, Kind::learning, learning_csv(at_cap));
  payloads = capture.next(5s);
  REQUIRE(payloads.size() == 1);
  CHECK(boost::json::parse(payloads[0]).at("users") == "*");
  std::string error;
  const auto signal = parse_change_signal(payloads[0], error);
  REQUIRE(signal);
  CHECK(signal->all_users);
  CHECK(signal->users.empty());
}

TEST_CASE("change signals: a rolled-back ingest signals nothing", "[daemon][notify]")
{
  TestDatabase db;
  NotifyCapture capture(db);
  CHECK_THROWS_AS(ingest(db, Kind::learning, learning_csv({1, 2}) + "not-a-time,3,3,question_answered,,,,\n"),
                  dm::ingest::IngestRejected);
  CHECK(capture.next(500ms).empty());
  CHECK(db.scalar("SELECT count(*) FROM dm.learning_events") == "0");

  // The capture works: the next good ingest is seen.
  ingest(db, Kind::learning, learning_csv({1}));
  CHECK(capture.next(5s).size() == 1);
}

TEST_CASE("change signals: payloads are parsed strictly, older senders leniently", "[daemon][notify]")
{
  std::string error;
  auto s = parse_change_signal(R"({"kind":"payments","rows":3,"from":null,"to":null,"users":[5,3,5],"at":17})", error);
  REQUIRE(s);
  CHECK(s->kinds == std::vector<Kind>{Kind::payments});
  CHECK(s->users == std::vector<std::int64_t>{3, 5});
  CHECK(s->committed_at == 17);
  CHECK(s->touches(Kind::payments));
  CHECK_FALSE(s->touches(Kind::learning));

  // Without users and at (the payload before they existed): every user, instant unknown.
  s = parse_change_signal(R"({"kind":"host","rows":1,"from":null,"to":null})", error);
  REQUIRE(s);
  CHECK(s->all_users);
  CHECK(s->committed_at == 0);

  for (const char* bad : {"", "nonsense", "[]", R"({"rows":1})", R"({"kind":"weather"})", R"({"kind":7})",
                          R"({"kind":"learning","users":["x"]})", R"({"kind":"learning","users":{}})",
                          R"({"kind":"learning","users":[1],"at":"yesterday"})",
                          R"({"kind":"learning","users":[1.5]})"}) {
    INFO(bad);
    error.clear();
    CHECK_FALSE(parse_change_signal(bad, error));
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("change listener: a NOTIFY from another connection arrives within 100 ms", "[daemon][notify]")
{
  TestDatabase db;
  const dm::db::Database database(url_options(db));
  IoThread io;
  SignalLog log;
  ChangeListener listener(io.executor(), database, log.handler());
  listener.start();
  REQUIRE(wait_for([&] { return listener.listening(); }));
  CHECK(listener.backend_pid() != 0);

  auto conn = db.connect();
  std::vector<std::chrono::microseconds> delays;
  for (int i = 0; i < 5; ++i) {
    const auto sent = std::chrono::steady_clock::now();
    {
      pqxx::nontransaction txn{*conn};
      txn.exec_params("SELECT pg_notify('dm_events', $1)",
                      fmt::format(R"({{"kind":"payments","users":[5,3],"at":{}}})", 1000 + i));
    }
    const auto got = log.next(5s);
    REQUIRE(got);
    CHECK(got->first.kinds == std::vector<Kind>{Kind::payments});
    CHECK(got->first.users == std::vector<std::int64_t>{3, 5});
    CHECK(got->first.committed_at == 1000 + i);
    delays.push_back(std::chrono::duration_cast<std::chrono::microseconds>(got->second - sent));
  }
  std::sort(delays.begin(), delays.end());
  INFO("median delay " << delays[2].count() << " us");
  CHECK(delays[2] < 100ms);

  // A real ingest arrives the same way.
  ingest(db, Kind::learning, learning_csv({11, 12}));
  const auto got = log.next(5s);
  REQUIRE(got);
  CHECK(got->first.kinds == std::vector<Kind>{Kind::learning});
  CHECK(got->first.users == std::vector<std::int64_t>{11, 12});
  CHECK(got->first.committed_at > 0);

  // After stop() nothing more is delivered.
  listener.stop();
  CHECK_FALSE(listener.listening());
  notify(db, R"({"kind":"users","users":[1],"at":1})");
  CHECK_FALSE(log.next(300ms));
}

TEST_CASE("change listener: after its backend is terminated it reconnects and signals everything", "[daemon][notify]")
{
  LogCapture logs;
  TestDatabase db;
  const dm::db::Database database(url_options(db));
  IoThread io;
  SignalLog log;
  ChangeListener listener(io.executor(), database, log.handler());
  listener.start();
  REQUIRE(wait_for([&] { return listener.listening(); }));
  const int first_pid = listener.backend_pid();

  admin(fmt::format("SELECT pg_terminate_backend({})", first_pid));
  const auto everything = log.next(10s);
  REQUIRE(everything);
  CHECK(is_everything(everything->first));
  CHECK(listener.reconnects() == 1);
  CHECK(listener.listening());
  CHECK(listener.backend_pid() != first_pid);
  CHECK(logs.count(spdlog::level::warn, "lost the connection listening on dm_events") == 1);

  // Listening again, for real.
  notify(db, R"({"kind":"host","users":[],"at":5})");
  const auto later = log.next(5s);
  REQUIRE(later);
  CHECK(later->first.kinds == std::vector<Kind>{Kind::host});
  CHECK(later->first.committed_at == 5);
  CHECK_FALSE(log.next(200ms)); // one everything() per reconnect, no more
}

TEST_CASE("change listener: an outage warns once, backs off, and ends with everything", "[daemon][notify]")
{
  LogCapture logs;
  TestDatabase db;
  const dm::db::Database database(url_options(db));
  IoThread io;
  SignalLog log;
  ChangeListenerOptions options;
  options.initial_backoff = 50ms;
  options.max_backoff = 200ms;
  ChangeListener listener(io.executor(), database, log.handler(), options);
  listener.start();
  REQUIRE(wait_for([&] { return listener.listening(); }));

  admin(fmt::format("ALTER DATABASE {} ALLOW_CONNECTIONS false", db.name()));
  admin(fmt::format("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'", db.name()));
  REQUIRE(wait_for([&] { return logs.count(spdlog::level::debug, "still cannot listen") >= 3; }));
  CHECK_FALSE(listener.listening());
  CHECK_FALSE(log.next(0ms));
  admin(fmt::format("ALTER DATABASE {} ALLOW_CONNECTIONS true", db.name()));

  const auto everything = log.next(10s);
  REQUIRE(everything);
  CHECK(is_everything(everything->first));
  CHECK(logs.count(spdlog::level::warn, "lost the connection") == 1);
  CHECK(logs.count(spdlog::level::warn, "cannot listen") == 0);
  CHECK(logs.count(spdlog::level::info, "listening on dm_events again") == 1);
}

TEST_CASE("change listener: a malformed payload is logged and counts as everything", "[daemon][notify]")
{
  LogCapture logs;
  TestDatabase db;
  const dm::db::Database database(url_options(db));
  IoThread io;
  SignalLog log;
  ChangeListener listener(io.executor(), database, log.handler());
  listener.start();
  REQUIRE(wait_for([&] { return listener.listening(); }));

  notify(db, "{not json");
  auto got = log.next(5s);
  REQUIRE(got);
  CHECK(is_everything(got->first));
  CHECK(logs.count(spdlog::level::warn, "malformed payload on dm_events") == 1);

  notify(db, R"({"kind":"users","users":[4],"at":9})");
  got = log.next(5s);
  REQUIRE(got);
  CHECK(got->first.users == std::vector<std::int64_t>{4});
  CHECK(listener.reconnects() == 0);
}
