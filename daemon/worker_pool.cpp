#include "daemon/worker_pool.hpp"

#include <spdlog/spdlog.h>

namespace dm::daemon {

pqxx::connection& WorkerContext::db()
{
  if (conn_ && !conn_->is_open())
    conn_.reset();
  if (!conn_)
    conn_ = gate_.connect();
  return *conn_;
}

db::PgConnection& WorkerContext::raw_db()
{
  if (!raw_)
    raw_ = gate_.connect_raw();
  return *raw_;
}

void WorkerContext::connection_failed(const std::string& error)
{
  conn_.reset();
  raw_.reset();
  gate_.report_broken(error);
}

WorkerPool::WorkerPool(DbGate& gate, int threads, std::size_t queue_max) : gate_(gate), queue_max_(queue_max)
{
  for (int i = 0; i < std::max(1, threads); ++i)
    threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool()
{
  stop();
}

bool WorkerPool::submit(Job job)
{
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= queue_max_)
      return false;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void WorkerPool::stop()
{
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty())
      return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
  threads_.clear();
}

std::size_t WorkerPool::queued() const
{
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void WorkerPool::run()
{
  WorkerContext context(gate_);
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    ++busy_;
    try {
      job(context);
    } catch (const std::exception& e) {
      spdlog::error("worker job failed: {}", e.what());
    } catch (...) {
      spdlog::error("worker job failed");
    }
    --busy_;
  }
}

} // namespace dm::daemon
