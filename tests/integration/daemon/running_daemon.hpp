#pragma once
// A daemon served in-process on an ephemeral loopback port, on a fresh test
// database, with a state folder of its own (its jwt.secret). Stopped and
// joined in the destructor.

#include "test_database.hpp"

#include "daemon/daemon.hpp"
#include "dm/auth/role.hpp"
#include "dm/http/client.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace dm::test {

class RunningDaemon {
public:
  /// `tweak` may change the options (config keys, timeouts) before start.
  explicit RunningDaemon(const std::function<void(daemon::DaemonOptions&)>& tweak = {});
  ~RunningDaemon();

  const std::string& base_url() const noexcept { return base_url_; }
  std::uint16_t port() const noexcept { return port_; }
  TestDatabase& db() noexcept { return db_; }
  daemon::Daemon& daemon() noexcept { return *daemon_; }
  const std::filesystem::path& state_dir() const noexcept { return state_dir_; }
  /// The daemon's HS256 secret (from its state folder).
  std::string secret() const;

  /// A valid token for `role`.
  std::string token(auth::Role role, const std::string& sub = "tester") const;
  /// A new client of this daemon.
  std::unique_ptr<http::HttpClient> client() const;
  /// GET/POST/DELETE with a bearer token ("" = none).
  http::HttpResponse get(const std::string& target, const std::string& token) const;
  http::HttpResponse post(const std::string& target, const std::string& token, const std::string& body,
                          const std::string& content_type = "application/json") const;
  http::HttpResponse del(const std::string& target, const std::string& token) const;

  /// Waits until `predicate` holds or `timeout` passes; returns whether it held.
  static bool eventually(const std::function<bool()>& predicate,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20));

private:
  TestDatabase db_;
  std::filesystem::path state_dir_;
  std::unique_ptr<daemon::Daemon> daemon_;
  std::thread thread_;
  std::string base_url_;
  std::uint16_t port_ = 0;
};

} // namespace dm::test
