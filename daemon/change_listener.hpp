#pragma once
// Change signals from every ingest in the cluster (DESIGN 1 and 10): a
// connection of its own LISTENs on `dm_events`, its socket watched by Asio, so
// that an ingest through any daemon or the CLI refreshes this daemon's
// dashboards. A lost connection is made anew with back-off, and once it
// listens again an "everything changed" signal covers what the outage hid.

#include "dm/db/database.hpp"
#include "dm/ingest/records.hpp"
#include "dm/util/time.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace dm::daemon {

using util::Micros;

/// What one committed ingest (or an outage of the listener) changed.
struct ChangeSignal {
  /// The kinds whose tables changed (ascending, no repeats).
  std::vector<ingest::Kind> kinds;
  /// The users named by the changed rows, ascending; ignore when all_users.
  std::vector<std::int64_t> users;
  /// Any user may have changed (too many to name, or unknown).
  bool all_users = false;
  /// The commit instant (µs since the epoch); 0 when unknown.
  Micros committed_at = 0;

  bool touches(ingest::Kind kind) const noexcept;
  /// Every kind and every user, commit instant unknown.
  static ChangeSignal everything();
};

/// Parses a `dm_events` payload as written by ingest::notify_loaded(). A
/// payload without `users` stands for every user and one without `at` for an
/// unknown instant (senders of an older version). Returns nullopt and sets
/// `error` when it is not a JSON object with a known `kind`.
std::optional<ChangeSignal> parse_change_signal(std::string_view payload, std::string& error);

struct ChangeListenerOptions {
  std::string channel = "dm_events";
  /// false: payloads are not read as dm_events signals; each notification
  /// calls the handler with an empty ChangeSignal (a channel such as
  /// dm_alerts, where arrival is the message).
  bool parse_payloads = true;
  /// Wait before the first attempt to reconnect, doubled after each failed
  /// one up to max_backoff.
  std::chrono::milliseconds initial_backoff = std::chrono::milliseconds(500);
  std::chrono::milliseconds max_backoff = std::chrono::seconds(30);
};

/// Threading: start() and stop() may be called from any thread but the
/// handler's. The handler runs on a thread of the executor, one call at a
/// time, and must not throw nor call stop(). Connecting runs on a helper
/// thread of the listener; the I/O threads only ever read what has arrived.
///
/// Failures: a lost connection (PostgreSQL restarts, the backend is
/// terminated) logs one warning per outage; the listener reconnects after
/// 0.5 s, 1 s, 2 s ... at most 30 s, LISTENs again and then calls the handler
/// with ChangeSignal::everything(). A malformed payload logs a warning and is
/// handled as everything().
class ChangeListener {
public:
  using Handler = std::function<void(const ChangeSignal&)>;

  /// `database` must outlive the listener; `executor` runs the socket's
  /// waits and the handler, and must outlive it too.
  ChangeListener(boost::asio::any_io_executor executor, const db::Database& database, Handler handler,
                 ChangeListenerOptions options = {});
  /// Calls stop().
  ~ChangeListener();
  ChangeListener(const ChangeListener&) = delete;
  ChangeListener& operator=(const ChangeListener&) = delete;

  /// Connects and LISTENs in the background; returns at once. Calling it
  /// again does nothing.
  void start();
  /// Closes the connection and joins the helper thread (a connection attempt
  /// under way finishes first). No handler call starts after it returns.
  /// Idempotent.
  void stop();

  /// Whether the connection is up and LISTENing.
  bool listening() const;
  /// The PostgreSQL backend pid of the listening connection; 0 when none.
  int backend_pid() const;
  /// Connections lost since start().
  std::uint64_t reconnects() const;

private:
  struct State;
  std::shared_ptr<State> state_;
  std::mutex join_mutex_; ///< serialises stop()'s join
  std::thread connector_;
};

} // namespace dm::daemon
