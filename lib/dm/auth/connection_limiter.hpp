#pragma once
// Per-client-address limits on new connections (DESIGN 8): how many may be
// open at once, and how fast new ones may be opened.

#include "dm/auth/token_bucket.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

namespace dm::auth {

/// Admission of connections by client IP: at most `max_per_ip` open at once
/// (0 = no cap), and a token bucket of `new_per_second` (<= 0 = no rate
/// limit) up to `new_burst` for opening them. Every successful
/// try_acquire() must be matched by one release().
///
/// Thread-safe: addresses are spread over mutex-guarded shards (one shard
/// below 1024 addresses).
///
/// Memory is bounded by `max_keys` addresses. An address with open
/// connections is always kept (its count is needed for release()); idle ones
/// are dropped to make room: those whose bucket has refilled to full first
/// (lossless), else the one nearest to full (without a rate limit: the one
/// idle longest). When every kept address has open connections, a new
/// address is refused until one closes; with `max_keys` above
/// `daemon.max_connections` that never happens.
class ConnectionLimiter {
public:
  using Clock = std::chrono::steady_clock;

  /// Throws dm::UsageError when rate-limited with new_burst < 1, or max_keys is 0.
  ConnectionLimiter(std::size_t max_per_ip, double new_per_second, double new_burst, std::size_t max_keys);
  ~ConnectionLimiter();

  ConnectionLimiter(const ConnectionLimiter&) = delete;
  ConnectionLimiter& operator=(const ConnectionLimiter&) = delete;

  /// True, and the connection is counted, when `ip` is below its cap and has
  /// a token for a new connection. A refusal by the cap takes no token.
  bool try_acquire(std::string_view ip, Clock::time_point now);

  /// Ends one connection counted by try_acquire(). An address with nothing
  /// open is left alone.
  void release(std::string_view ip);

  /// Connections of `ip` now open.
  std::size_t open(std::string_view ip) const;

  /// Addresses currently kept.
  std::size_t size() const;

private:
  struct Shard;
  Shard& shard_for(std::string_view ip) const noexcept;

  std::size_t max_per_ip_;
  double rate_;
  double burst_;
  std::size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

} // namespace dm::auth
