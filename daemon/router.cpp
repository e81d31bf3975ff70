#include "daemon/router.hpp"

#include "daemon/api_error.hpp"

#include <boost/url/decode_view.hpp>
#include <boost/url/params_view.hpp>
#include <fmt/format.h>

#include <charconv>

namespace dm::daemon {

std::string_view RequestContext::param(std::string_view name) const
{
  for (const auto& [k, v] : path_params)
    if (k == name)
      return v;
  return {};
}

std::optional<std::string> RequestContext::query(std::string_view name) const
{
  for (const auto& [k, v] : query_params)
    if (k == name)
      return v;
  return std::nullopt;
}

std::int64_t RequestContext::id_param(std::string_view name) const
{
  const std::string_view text = param(name);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0)
    throw FieldError(std::string(name), fmt::format("{} '{}' is not a positive integer", name, text));
  return value;
}

namespace {

/// Matches `path` against `pattern`; fills `params` on success.
bool match_path(std::string_view pattern, std::string_view path, std::vector<std::pair<std::string, std::string>>& params)
{
  params.clear();
  while (!pattern.empty() && !path.empty()) {
    if (pattern.front() != '/' || path.front() != '/')
      return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const auto pattern_end = std::min(pattern.find('/'), pattern.size());
    const auto path_end = std::min(path.find('/'), path.size());
    const std::string_view want = pattern.substr(0, pattern_end);
    const std::string_view have = path.substr(0, path_end);
    if (!want.empty() && want.front() == ':') {
      if (have.empty())
        return false;
      params.emplace_back(std::string(want.substr(1)), std::string(have));
    } else if (want != have) {
      return false;
    }
    pattern.remove_prefix(pattern_end);
    path.remove_prefix(path_end);
  }
  return pattern.empty() && path.empty();
}

} // namespace

RouteMatch match_route(std::span<const Route> table, http::verb method, std::string_view path)
{
  RouteMatch m;
  std::vector<std::pair<std::string, std::string>> params;
  const http::verb wanted = method == http::verb::head ? http::verb::get : method;
  for (const Route& r : table) {
    if (!match_path(r.pattern, path, params))
      continue;
    if (r.method == wanted) {
      m.route = &r;
      m.params = std::move(params);
      return m;
    }
    const std::string_view name = http::to_string(r.method);
    if (m.allow.find(name) == std::string::npos)
      m.allow += (m.allow.empty() ? "" : ", ") + std::string(name);
    if (r.method == http::verb::get && m.allow.find("HEAD") == std::string::npos)
      m.allow += ", HEAD";
  }
  return m;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query)
{
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const auto amp = std::min(query.find('&'), query.size());
    const std::string_view pair = query.substr(0, amp);
    query.remove_prefix(std::min(amp + 1, query.size()));
    if (pair.empty())
      continue;
    const auto eq = pair.find('=');
    auto decode = [](std::string_view s) {
      std::string plus_as_space(s);
      for (char& c : plus_as_space)
        if (c == '+')
          c = ' ';
      auto checked = boost::urls::make_pct_string_view(plus_as_space);
      if (!checked)
        throw FieldError("query", fmt::format("bad percent-encoding in query '{}'", s));
      std::string decoded;
      for (char c : boost::urls::decode_view(*checked))
        decoded += c;
      return decoded;
    };
    if (eq == std::string_view::npos)
      out.emplace_back(decode(pair), "");
    else
      out.emplace_back(decode(pair.substr(0, eq)), decode(pair.substr(eq + 1)));
  }
  return out;
}

} // namespace dm::daemon
