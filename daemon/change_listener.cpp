#include "daemon/change_listener.hpp"

#include "dm/util/error.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <system_error>

#include <poll.h>
#include <unistd.h>

namespace dm::daemon {

namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

bool ChangeSignal::touches(ingest::Kind kind) const noexcept
{
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

ChangeSignal ChangeSignal::everything()
{
  ChangeSignal s;
  for (std::size_t i = 0; i < ingest::kind_names.size(); ++i)
    s.kinds.push_back(static_cast<ingest::Kind>(i));
  s.all_users = true;
  return s;
}

namespace {

std::string_view view(const boost::json::string& s) noexcept
{
  return {s.data(), s.size()};
}

} // namespace

std::optional<ChangeSignal> parse_change_signal(std::string_view payload, std::string& error)
{
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(payload, ec);
  if (ec) {
    error = fmt::format("not JSON: {}", ec.message());
    return std::nullopt;
  }
  const boost::json::object* o = doc.if_object();
  if (o == nullptr) {
    error = "not a JSON object";
    return std::nullopt;
  }
  ChangeSignal signal;
  const boost::json::value* kind = o->if_contains("kind");
  if (kind == nullptr || !kind->is_string()) {
    error = R"(no "kind" string)";
    return std::nullopt;
  }
  const auto parsed_kind = ingest::kind_from_name(view(kind->get_string()));
  if (!parsed_kind) {
    error = fmt::format("unknown kind '{}'", view(kind->get_string()));
    return std::nullopt;
  }
  signal.kinds.push_back(*parsed_kind);

  const boost::json::value* users = o->if_contains("users");
  if (users == nullptr || (users->is_string() && view(users->get_string()) == "*")) {
    signal.all_users = true;
  } else if (const boost::json::array* ids = users->if_array()) {
    signal.users.reserve(ids->size());
    for (const boost::json::value& id : *ids) {
      if (!id.is_int64()) {
        error = fmt::format(R"("users" holds {}, not a user id)", boost::json::serialize(id));
        return std::nullopt;
      }
      signal.users.push_back(id.get_int64());
    }
    std::sort(signal.users.begin(), signal.users.end());
    signal.users.erase(std::unique(signal.users.begin(), signal.users.end()), signal.users.end());
  } else {
    error = R"("users" is neither an array of ids nor "*")";
    return std::nullopt;
  }

  if (const boost::json::value* at = o->if_contains("at")) {
    if (!at->is_int64() || at->get_int64() < 0) {
      error = fmt::format(R"("at" is {}, not microseconds since the epoch)", boost::json::serialize(*at));
      return std::nullopt;
    }
    signal.committed_at = at->get_int64();
  }
  return signal;
}

namespace {

/// Collects the payloads of one channel while get_notifs() runs.
class PayloadReceiver final : public pqxx::notification_receiver {
public:
  PayloadReceiver(pqxx::connection_base& conn, const std::string& channel, std::vector<std::string>& out)
      : pqxx::notification_receiver(conn, channel), out_(out)
  {
  }
  void operator()(const std::string& payload, int) override { out_.push_back(payload); }

private:
  std::vector<std::string>& out_;
};

/// Server notices on the listening connection (such as the FATAL message of a
/// terminated backend) go to the debug log, not to stderr.
class NoticeLogger final : public pqxx::errorhandler {
public:
  explicit NoticeLogger(pqxx::connection_base& conn) : pqxx::errorhandler(conn) {}
  bool operator()(const char msg[]) noexcept override
  {
    try {
      spdlog::debug("change signals: server notice: {}", std::string_view(msg));
    } catch (...) {
    }
    return false;
  }
};

/// One listening connection. Destroyed without a round trip: disconnecting
/// first makes the receiver skip its UNLISTEN.
struct Listening {
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<NoticeLogger> notices;
  std::unique_ptr<PayloadReceiver> receiver;

  Listening() = default;
  Listening(Listening&&) = default;
  Listening& operator=(Listening&& other) noexcept
  {
    close();
    conn = std::move(other.conn);
    notices = std::move(other.notices);
    receiver = std::move(other.receiver);
    return *this;
  }
  ~Listening() { close(); }

  void close() noexcept
  {
    if (conn)
      conn->disconnect();
    receiver.reset();
    notices.reset();
    conn.reset();
  }
};

} // namespace

struct ChangeListener::State : std::enable_shared_from_this<State> {
  State(net::any_io_executor ex, const db::Database& db, Handler h, ChangeListenerOptions o)
      : executor(std::move(ex)), database(db), handler(std::move(h)), options(std::move(o))
  {
    options.initial_backoff = std::max(options.initial_backoff, std::chrono::milliseconds(1));
    options.max_backoff = std::max(options.max_backoff, options.initial_backoff);
    backoff = options.initial_backoff;
  }

  const net::any_io_executor executor;
  const db::Database& database;
  const Handler handler;
  ChangeListenerOptions options;

  mutable std::mutex mutex; ///< guards the members below; held while the handler runs
  std::condition_variable wake;
  bool started = false;
  bool stopping = false;
  /// The connector should (re)connect once connect_at has come.
  bool connect_wanted = true;
  Clock::time_point connect_at{};
  std::chrono::milliseconds backoff;
  bool in_outage = false;
  std::uint64_t failed_attempts = 0; ///< of the current outage
  std::uint64_t lost = 0;
  /// Deliver everything() before the next payloads (the connection came back).
  bool announce = false;

  Listening listening;
  std::optional<net::posix::stream_descriptor> socket; ///< a dup() of the connection's
  int pid = 0;
  bool waiting = false; ///< an async_wait is armed on socket
  /// Bumped per connection, so that completions for a closed one are ignored.
  std::uint64_t generation = 0;
  std::vector<std::string> payloads; ///< filled by the receiver inside get_notifs()

  /// The helper thread: makes connections, never touches them after handing over.
  void run_connector();
  /// Connects and LISTENs; throws on failure.
  Listening open_listening();
  /// Takes a new connection into service. Caller holds mutex.
  void install(Listening fresh);
  /// Drops the connection and asks the connector for another. Caller holds mutex.
  void lose(const std::string& error);
  /// Closes the socket and the connection. Caller holds mutex.
  void close_connection();
  /// Arms the readiness wait, and looks once for input that arrived before it
  /// (epoll reports an edge that came while no wait was armed only once).
  void arm();
  void on_readable(std::uint64_t gen, boost::system::error_code ec, bool from_wait);
  void deliver(const ChangeSignal& signal);
};

void ChangeListener::State::run_connector()
{
  std::unique_lock lock(mutex);
  while (!stopping) {
    if (!connect_wanted) {
      wake.wait(lock, [this] { return stopping || connect_wanted; });
      continue;
    }
    if (Clock::now() < connect_at) {
      wake.wait_until(lock, connect_at, [this] { return stopping; });
      continue;
    }
    lock.unlock();
    Listening fresh;
    std::string error;
    try {
      fresh = open_listening();
    } catch (const std::exception& e) {
      error = full_message(e);
    }
    lock.lock();
    if (stopping)
      break;
    if (!fresh.conn) {
      ++failed_attempts;
      if (!in_outage) {
        in_outage = true;
        spdlog::warn("change signals: cannot listen on {}, dashboards of this daemon miss changes made elsewhere "
                     "until it can; retrying: {}",
                     options.channel, error);
      } else {
        spdlog::debug("change signals: still cannot listen on {} (attempt {}): {}", options.channel, failed_attempts,
                      error);
      }
      connect_at = Clock::now() + backoff;
      backoff = std::min(backoff * 2, options.max_backoff);
      continue;
    }
    try {
      install(std::move(fresh));
    } catch (const std::exception& e) {
      lose(fmt::format("watching the connection's socket failed: {}", e.what()));
    }
  }
}

Listening ChangeListener::State::open_listening()
{
  Listening l;
  l.conn = database.connect();
  l.notices = std::make_unique<NoticeLogger>(*l.conn);
  // The receiver writes into `payloads` only inside get_notifs(), which runs
  // under the mutex on the I/O side.
  l.receiver = std::make_unique<PayloadReceiver>(*l.conn, options.channel, payloads);
  // add_receiver() swallows a broken connection during LISTEN.
  if (!l.conn->is_open())
    throw pqxx::broken_connection(fmt::format("the connection broke during LISTEN {}", options.channel));
  return l;
}

void ChangeListener::State::install(Listening fresh)
{
  const int fd = ::dup(fresh.conn->sock());
  if (fd < 0)
    throw std::system_error(errno, std::generic_category(), "dup() of the connection's socket");
  try {
    socket.emplace(executor, fd); // owns the dup: closing it leaves libpq's descriptor alone
  } catch (...) {
    ::close(fd);
    throw;
  }
  listening = std::move(fresh);
  ++generation;
  pid = listening.conn->backendpid();
  waiting = false;
  connect_wanted = false;
  backoff = options.initial_backoff;
  if (in_outage || lost > 0) {
    spdlog::info("change signals: listening on {} again after {} failed attempts; refreshing everything",
                 options.channel, failed_attempts);
    announce = true;
  }
  in_outage = false;
  failed_attempts = 0;
  // Notifications may have arrived with LISTEN's answer: drain once at once.
  net::post(executor, [self = shared_from_this(), gen = generation] { self->on_readable(gen, {}, false); });
}

void ChangeListener::State::close_connection()
{
  if (socket) {
    boost::system::error_code ignored;
    socket->close(ignored);
    socket.reset();
  }
  listening.close();
  pid = 0;
  waiting = false;
  ++generation;
}

void ChangeListener::State::lose(const std::string& error)
{
  close_connection();
  ++lost;
  if (!in_outage) {
    in_outage = true;
    spdlog::warn("change signals: lost the connection listening on {}, reconnecting: {}", options.channel, error);
  }
  connect_wanted = true;
  connect_at = Clock::now() + backoff;
  backoff = std::min(backoff * 2, options.max_backoff);
  wake.notify_all();
}

void ChangeListener::State::arm()
{
  if (waiting || !socket)
    return;
  waiting = true;
  const std::uint64_t gen = generation;
  socket->async_wait(net::posix::stream_descriptor::wait_read,
                     [self = shared_from_this(), gen](boost::system::error_code ec) { self->on_readable(gen, ec, true); });
  pollfd p{socket->native_handle(), POLLIN, 0};
  if (::poll(&p, 1, 0) > 0)
    net::post(executor, [self = shared_from_this(), gen] { self->on_readable(gen, {}, false); });
}

void ChangeListener::State::on_readable(std::uint64_t gen, boost::system::error_code ec, bool from_wait)
{
  const std::lock_guard lock(mutex);
  if (stopping || gen != generation || !listening.conn)
    return;
  if (from_wait)
    waiting = false;
  if (ec == net::error::operation_aborted)
    return;
  if (ec) {
    lose(fmt::format("waiting on the connection's socket failed: {}", ec.message()));
    return;
  }
  payloads.clear();
  try {
    listening.conn->get_notifs();
    if (!listening.conn->is_open())
      throw pqxx::broken_connection("the connection is closed");
  } catch (const std::exception& e) {
    lose(full_message(e));
    // What arrived before the loss still counts; everything() follows anyway.
  }
  std::vector<std::string> received;
  received.swap(payloads);

  if (announce && listening.conn) {
    announce = false;
    deliver(ChangeSignal::everything());
  }
  for (const std::string& payload : received) {
    if (!options.parse_payloads) {
      deliver(ChangeSignal{});
      continue;
    }
    std::string error;
    if (auto signal = parse_change_signal(payload, error)) {
      deliver(*signal);
    } else {
      spdlog::warn("change signals: malformed payload on {} ({}), refreshing everything: {:.200}", options.channel,
                   error, payload);
      deliver(ChangeSignal::everything());
    }
  }
  if (listening.conn)
    arm();
}

void ChangeListener::State::deliver(const ChangeSignal& signal)
{
  try {
    handler(signal);
  } catch (const std::exception& e) {
    spdlog::error("change signals: the handler failed: {}", e.what());
  }
}

ChangeListener::ChangeListener(net::any_io_executor executor, const db::Database& database, Handler handler,
                               ChangeListenerOptions options)
    : state_(std::make_shared<State>(std::move(executor), database, std::move(handler), std::move(options)))
{
}

ChangeListener::~ChangeListener()
{
  stop();
}

void ChangeListener::start()
{
  const std::lock_guard lock(state_->mutex);
  if (state_->started || state_->stopping)
    return;
  state_->started = true;
  connector_ = std::thread([state = state_] { state->run_connector(); });
}

void ChangeListener::stop()
{
  {
    const std::lock_guard lock(state_->mutex);
    state_->stopping = true;
    state_->close_connection();
  }
  state_->wake.notify_all();
  const std::lock_guard joining(join_mutex_);
  if (connector_.joinable())
    connector_.join();
}

bool ChangeListener::listening() const
{
  const std::lock_guard lock(state_->mutex);
  return state_->listening.conn != nullptr;
}

int ChangeListener::backend_pid() const
{
  const std::lock_guard lock(state_->mutex);
  return state_->pid;
}

std::uint64_t ChangeListener::reconnects() const
{
  const std::lock_guard lock(state_->mutex);
  return state_->lost;
}

} // namespace dm::daemon
