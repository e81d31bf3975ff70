#include "running_daemon.hpp"

#include "dm/auth/secret_file.hpp"
#include "dm/auth/token_issuer.hpp"

#include <fmt/format.h>

#include <unistd.h>

namespace dm::test {

RunningDaemon::RunningDaemon(const std::function<void(daemon::DaemonOptions&)>& tweak)
{
  static int counter = 0;
  state_dir_ = std::filesystem::temp_directory_path() /
               fmt::format("dm-daemon-test-{}-{}", getpid(), counter++);
  std::filesystem::create_directories(state_dir_);
  daemon::DaemonOptions options;
  options.config.database.url = db_.url();
  options.config.daemon.threads = 2;
  options.config.database.pool_size = 4;
  // No default schedules: a test that wants them sets [reporting_schedule].
  options.config.reporting_schedule = config::ReportingSchedule{.hourly = "", .daily = "", .weekly = "", .monthly = ""};
  // No alert evaluation (the host's own CPU would raise alerts on a busy
  // machine): a test that wants it turns it on.
  options.run_alert_evaluator = false;
  options.state_dir = state_dir_;
  options.listen = "127.0.0.1:0";
  if (tweak)
    tweak(options);
  daemon_ = std::make_unique<daemon::Daemon>(std::move(options));
  port_ = daemon_->endpoint().port();
  base_url_ = fmt::format("http://127.0.0.1:{}", port_);
  thread_ = std::thread([this] { daemon_->run(); });
}

RunningDaemon::~RunningDaemon()
{
  daemon_->stop();
  thread_.join();
  daemon_.reset();
  std::error_code ec;
  std::filesystem::remove_all(state_dir_, ec);
}

std::string RunningDaemon::secret() const
{
  return auth::load_secret(state_dir_ / "jwt.secret");
}

std::string RunningDaemon::token(auth::Role role, const std::string& sub) const
{
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return auth::issue_token(secret(), role, sub, std::chrono::seconds(300), "", "", now);
}

std::unique_ptr<http::HttpClient> RunningDaemon::client() const
{
  return std::make_unique<http::HttpClient>(base_url_, std::chrono::seconds(60));
}

namespace {
std::vector<std::pair<std::string, std::string>> auth_headers(const std::string& token)
{
  if (token.empty())
    return {};
  return {{"Authorization", "Bearer " + token}};
}
} // namespace

http::HttpResponse RunningDaemon::get(const std::string& target, const std::string& token) const
{
  return client()->request("GET", target, "", auth_headers(token));
}

http::HttpResponse RunningDaemon::post(const std::string& target, const std::string& token, const std::string& body,
                                       const std::string& content_type) const
{
  auto headers = auth_headers(token);
  headers.emplace_back("Content-Type", content_type);
  return client()->request("POST", target, body, headers);
}

http::HttpResponse RunningDaemon::del(const std::string& target, const std::string& token) const
{
  return client()->request("DELETE", target, "", auth_headers(token));
}

bool RunningDaemon::eventually(const std::function<bool()>& predicate, std::chrono::milliseconds timeout)
{
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return predicate();
}

} // namespace dm::test
