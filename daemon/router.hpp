#pragma once
// The REST API as one table: method, path pattern, who may call it, where it
// runs and its handler (DESIGN 8). Patterns are literal segments and
// `:name` parameters; the first row that matches method and path wins.

#include "daemon/http_types.hpp"

#include "dm/auth/token_verifier.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dm::daemon {

struct ServerContext;
class WorkerContext;

/// Who may call a route.
enum class Access {
  open,          ///< no token (health, metrics, the page)
  authenticated, ///< any valid token, a learner's (role user) too; the handler decides what it may see
  viewer,        ///< viewer or better
  analyst,       ///< analyst or admin
  admin,         ///< admin only
  user_self,     ///< a viewer or better, or a token whose sub is the :userId
};

/// Where the handler runs: inline on the I/O thread (cheap, never blocks)
/// or on the worker pool (anything touching the database or rendering). A
/// `websocket` route hands an authorised upgrade request to the WebSocket
/// hub; its handler (on the I/O thread) answers a plain request.
enum class Runs { io, worker, websocket };

struct RequestContext {
  const Request& request;
  ServerContext& server;
  std::string path;
  std::vector<std::pair<std::string, std::string>> path_params;
  std::vector<std::pair<std::string, std::string>> query_params; ///< decoded
  std::optional<auth::Claims> claims;
  std::string client_ip;
  WorkerContext* worker = nullptr; ///< set when running on the pool

  /// A path parameter (":id"); "" when absent.
  std::string_view param(std::string_view name) const;
  /// A query parameter, decoded.
  std::optional<std::string> query(std::string_view name) const;
  /// A path parameter as a positive integer; throws FieldError naming it.
  std::int64_t id_param(std::string_view name) const;
};

using Handler = Response (*)(RequestContext&);

struct Route {
  http::verb method;
  std::string_view pattern;
  Access access;
  Runs runs;
  Handler handler;
};

/// Every route of the daemon.
std::span<const Route> routes();

struct RouteMatch {
  const Route* route = nullptr;                               ///< nullptr: no route for method + path
  std::vector<std::pair<std::string, std::string>> params;    ///< path parameters
  std::string allow;                                          ///< methods the path accepts (for 405); "" = 404
};

/// Finds the route of `method` and `path` in `table`. HEAD matches GET routes.
RouteMatch match_route(std::span<const Route> table, http::verb method, std::string_view path);

/// Splits and percent-decodes a query string ("a=1&b=x%20y").
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

} // namespace dm::daemon
