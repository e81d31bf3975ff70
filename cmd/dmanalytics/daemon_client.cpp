#include "daemon_client.hpp"

#include "dm/render/json_reader.hpp"
#include "dm/util/error.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace dm::cli {

namespace {

namespace json = boost::json;

/// The `{"error":{"code","message","field"?}}` of an answer; for a body of
/// another shape (a proxy's page), its first line as the message.
struct ErrorBody {
  std::string code;
  std::string message;
  std::string field;
};

ErrorBody error_body(const http::HttpResponse& response)
{
  ErrorBody out;
  json::error_code ec;
  const json::value doc = json::parse(response.body, ec);
  if (!ec && doc.is_object())
    if (const auto* error = doc.as_object().if_contains("error"); error != nullptr && error->is_object()) {
      const auto& e = error->as_object();
      auto text = [&e](std::string_view name) {
        const json::value* v = e.if_contains(name);
        return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
      };
      out.code = text("code");
      out.message = text("message");
      out.field = text("field");
    }
  if (out.message.empty()) {
    out.message = response.body.substr(0, std::min(response.body.find('\n'), std::size_t{200}));
    if (out.message.empty())
      out.message = fmt::format("HTTP status {}", response.status);
  }
  return out;
}

/// Numbers read exactly, so that values the daemon sends print as the
/// local path prints them.
json::value parse_json_answer(const std::string& body, std::string_view method, const std::string& target)
{
  try {
    return render::parse_json_exact(body);
  } catch (const render::ReportJsonError& e) {
    throw std::runtime_error(fmt::format("the daemon's answer to {} {} is not JSON: {}", method, target, e.what()));
  }
}

} // namespace

DaemonClient::DaemonClient(const std::string& base_url, CredentialSource credentials, bool offers_local,
                           std::chrono::milliseconds timeout)
    : url_(base_url.empty() ? std::string(default_daemon_url) : base_url),
      http_(std::make_unique<http::HttpClient>(url_, timeout)),
      credential_source_(std::move(credentials)),
      offers_local_(offers_local)
{
}

http::HttpResponse DaemonClient::send(std::string_view method, const std::string& target, const std::string& body,
                                      bool authenticated)
{
  std::vector<std::pair<std::string, std::string>> headers{{"Accept", "application/json"}};
  if (authenticated) {
    if (!credentials_)
      credentials_ = credential_source_();
    headers.emplace_back("Authorization", "Bearer " + credentials_->token);
  }
  if (!body.empty())
    headers.emplace_back("Content-Type", "application/json");
  try {
    return http_->request(method, target, body, std::move(headers));
  } catch (const http::ConnectError& e) {
    throw Unreachable(fmt::format("{}. Is dmanalyticsd running? Start it with `dmanalyticsd` (or `systemctl start "
                                  "dmanalyticsd`), or give its address with --url{}",
                                  e.what(), offers_local_ ? "; --local works on the database without it" : ""));
  }
}

void DaemonClient::throw_for(const http::HttpResponse& response, std::string_view method,
                             const std::string& target) const
{
  const ErrorBody error = error_body(response);
  switch (response.status) {
  case 400:
    if (!error.field.empty())
      throw UsageError(fmt::format("{} (field '{}')", error.message, error.field));
    throw UsageError(error.message);
  case 401: {
    const std::string origin = credentials_ ? credentials_->origin : std::string("the token");
    throw Unauthorised(fmt::format("the daemon at {} refused {}: {}", url_, origin, error.message));
  }
  case 403:
    throw Forbidden(fmt::format("the daemon at {} refused {} {}: {}", url_, method, target, error.message));
  case 404:
    throw NotFound(error.message);
  case 409:
    throw Conflict(error.message);
  case 429: {
    const std::string retry_after = response.header("Retry-After");
    throw std::runtime_error(fmt::format("the daemon at {} is rate-limiting this client: {}; retry after {} s", url_,
                                         error.message, retry_after.empty() ? "a few" : retry_after));
  }
  case 503:
    throw Unavailable(fmt::format("the daemon at {} cannot serve {} {} right now: {}", url_, method, target,
                                  error.message));
  default:
    break;
  }
  if (response.status >= 500)
    throw std::runtime_error(
        fmt::format("the daemon at {} failed on {} {} ({}): {}", url_, method, target, response.status, error.message));
  throw std::runtime_error(fmt::format("unexpected answer {} from the daemon at {} to {} {}: {}", response.status, url_,
                                       method, target, error.message));
}

std::string DaemonClient::get(const std::string& target)
{
  auto response = send("GET", target, "", true);
  if (response.status / 100 != 2)
    throw_for(response, "GET", target);
  return std::move(response.body);
}

json::value DaemonClient::get_json(const std::string& target)
{
  return parse_json_answer(get(target), "GET", target);
}

json::value DaemonClient::post_json(const std::string& target, const json::value& body)
{
  const auto response = send("POST", target, json::serialize(body), true);
  if (response.status / 100 != 2)
    throw_for(response, "POST", target);
  return parse_json_answer(response.body, "POST", target);
}

json::value DaemonClient::delete_json(const std::string& target)
{
  const auto response = send("DELETE", target, "", true);
  if (response.status / 100 != 2)
    throw_for(response, "DELETE", target);
  return parse_json_answer(response.body, "DELETE", target);
}

http::HttpResponse DaemonClient::get_open(const std::string& target)
{
  return send("GET", target, "", false);
}

std::string query_string(const std::vector<std::pair<std::string_view, std::string>>& params)
{
  std::string out;
  for (const auto& [name, value] : params) {
    if (value.empty())
      continue;
    out += out.empty() ? '?' : '&';
    out += name;
    out += '=';
    for (const unsigned char c : value) {
      const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                              c == '-' || c == '.' || c == '_' || c == '~';
      if (unreserved)
        out += static_cast<char>(c);
      else
        out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

} // namespace dm::cli
