#pragma once
// The CLI's side of dmanalyticsd's REST API (DESIGN 8 and 11): the daemon's
// URL, a bearer token (given, or minted from the local secret on first need),
// and the one place that turns the daemon's answers into the CLI's typed
// errors, and so into exit codes:
//   400 -> UsageError (2) with the message and the field,
//   401 -> Unauthorised, 403 -> Forbidden (4), 404 -> NotFound (5),
//   409 -> Conflict, 503 -> Unavailable, 429 and other statuses -> a failure
//   (1) with the server's message, no answer -> Unreachable (3) saying how to
//   start the daemon.
// Not thread-safe.

#include "dm/http/client.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dm::cli {

/// The daemon's address when neither --url nor DMANALYTICS_URL gives one.
inline constexpr std::string_view default_daemon_url = "http://127.0.0.1:8470";

/// A bearer token and where it came from, for the message when it is refused.
struct Credentials {
  std::string token;
  std::string origin; ///< "--token / DMANALYTICS_TOKEN", "a token minted from FILE"
};

class DaemonClient {
public:
  /// Called once, on the first request that needs a token.
  using CredentialSource = std::function<Credentials()>;

  /// `offers_local`: the command has --local, which the unreachable message
  /// then suggests. Throws UsageError for a URL that is not http://HOST:PORT.
  DaemonClient(const std::string& base_url, CredentialSource credentials, bool offers_local,
               std::chrono::milliseconds timeout = std::chrono::seconds(300));

  /// The body of a 2xx answer to GET `target` with the token; any other
  /// answer throws as described above.
  std::string get(const std::string& target);
  /// get() parsed as JSON; a body that is not JSON is a failure.
  boost::json::value get_json(const std::string& target);
  /// POST of a JSON body; the JSON answer.
  boost::json::value post_json(const std::string& target, const boost::json::value& body);
  /// DELETE; the JSON answer.
  boost::json::value delete_json(const std::string& target);
  /// GET without a token (/healthz, /readyz): the answer whatever its status.
  /// Throws Unreachable only.
  http::HttpResponse get_open(const std::string& target);

  const std::string& url() const noexcept { return url_; }

private:
  http::HttpResponse send(std::string_view method, const std::string& target, const std::string& body,
                          bool authenticated);
  [[noreturn]] void throw_for(const http::HttpResponse& response, std::string_view method,
                              const std::string& target) const;

  std::string url_;
  std::unique_ptr<http::HttpClient> http_;
  CredentialSource credential_source_;
  std::optional<Credentials> credentials_;
  bool offers_local_;
};

/// `?name=value&...` of the pairs whose value is not empty, percent-encoded;
/// "" when every value is empty.
std::string query_string(const std::vector<std::pair<std::string_view, std::string>>& params);

} // namespace dm::cli
