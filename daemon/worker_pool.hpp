#pragma once
// The bounded pool that runs blocking work (database queries, report
// generation, PDF rendering, ingest) off the I/O threads. Each worker owns at
// most one libpqxx and one libpq connection, opened on first use through the
// DbGate and dropped when they break, so the pool is also the connection
// pool: `database.pool_size` workers, as many connections.
//
// Thread-safe: submit() may be called from any thread.

#include "daemon/db_gate.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace dm::daemon {

/// What a job gets from the worker that runs it. Not thread-safe; used by
/// the one worker thread only.
class WorkerContext {
public:
  explicit WorkerContext(DbGate& gate) : gate_(gate) {}

  /// This worker's connection, opened on first use. Throws dm::Unavailable.
  pqxx::connection& db();
  /// This worker's libpq connection for bulk loads. Throws dm::Unavailable.
  db::PgConnection& raw_db();
  /// Drops both connections after a connection error and tells the gate.
  void connection_failed(const std::string& error);

private:
  DbGate& gate_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<db::PgConnection> raw_;
};

class WorkerPool {
public:
  using Job = std::function<void(WorkerContext&)>;

  /// Starts `threads` workers; at most `queue_max` jobs wait.
  WorkerPool(DbGate& gate, int threads, std::size_t queue_max);
  ~WorkerPool();

  /// Queues a job; false when the queue is full or the pool is stopping.
  /// The job must not throw (wrap it).
  bool submit(Job job);
  /// Finishes the queued jobs and joins the workers.
  void stop();

  /// Workers running a job now.
  int busy() const noexcept { return busy_.load(); }
  std::size_t queued() const;

private:
  void run();

  DbGate& gate_;
  std::size_t queue_max_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::atomic<int> busy_{0};
  std::vector<std::thread> threads_;
};

} // namespace dm::daemon
