// dmanalytics status [--format table|json]
//
// The daemon's health (GET /healthz: version, uptime) and readiness (GET
// /readyz: the database). Neither needs a token. Exit 0 when the daemon is
// ready, 1 when it answers but is not ready, 3 when it cannot be reached (or
// what answers is not a dmanalyticsd).

#include "args.hpp"
#include "context.hpp"

#include "dm/render/json_reader.hpp"
#include "dm/util/error.hpp"
#include "dm/util/json_text.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <iostream>

namespace dm::cli {

namespace {

namespace json = boost::json;

struct StatusCommand {
  std::string format = "table";
};

/// The JSON object of an answer; an empty object for anything else (an old
/// daemon, a proxy's error page), so that status still says what it saw.
json::object answer_object(const http::HttpResponse& response)
{
  try {
    json::value v = render::parse_json_exact(response.body);
    if (v.is_object())
      return std::move(v.as_object());
  } catch (const std::exception&) {
  }
  return {};
}

std::string text_of(const json::object& o, std::string_view key, std::string_view otherwise = "unknown")
{
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null())
    return std::string(otherwise);
  return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

/// "3d 4h 5m 6s", leading zero units left out.
std::string uptime_text(std::int64_t seconds)
{
  const std::int64_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60, s = seconds % 60;
  if (d > 0)
    return fmt::format("{}d {}h {}m {}s", d, h, m, s);
  if (h > 0)
    return fmt::format("{}h {}m {}s", h, m, s);
  if (m > 0)
    return fmt::format("{}m {}s", m, s);
  return fmt::format("{}s", s);
}

void run_status(Context& ctx, const StatusCommand& cmd)
{
  check_format(cmd.format, {"table", "json"});
  // Health and readiness are cheap: a daemon that takes longer is not well.
  DaemonClient client(ctx.options().url, {}, false, std::chrono::seconds(10));
  const http::HttpResponse health = client.get_open("/healthz");
  const http::HttpResponse ready = client.get_open("/readyz");
  const json::object h = answer_object(health);
  const json::object r = answer_object(ready);
  // Something else listening there (another service, a proxy's error page)
  // is no daemon: nothing to report but that.
  if (health.status != 200 || !h.contains("status"))
    throw Unreachable(fmt::format("no dmanalyticsd answers at {}: GET /healthz gave HTTP {}; start it with "
                                  "`dmanalyticsd` (or `systemctl start dmanalyticsd`), or give its address with --url",
                                  client.url(), health.status));

  const std::string status = text_of(h, "status");
  const std::string readiness = text_of(r, "status", ready.status == 200 ? "ready" : "not_ready");
  const bool is_ready = ready.status == 200 && readiness == "ready";
  const json::value* uptime = h.if_contains("uptime_seconds");
  const std::int64_t uptime_s = uptime != nullptr && uptime->is_int64() ? uptime->as_int64() : -1;

  if (cmd.format == "json") {
    json::object out{{"url", client.url()},
                     {"status", status},
                     {"version", h.contains("version") ? h.at("version") : json::value(nullptr)},
                     {"uptime_seconds", uptime_s >= 0 ? json::value(uptime_s) : json::value(nullptr)},
                     {"ready", readiness},
                     {"database", r.contains("database") ? r.at("database") : json::value(nullptr)}};
    if (const json::value* reason = r.if_contains("reason"))
      out["reason"] = *reason;
    std::cout << util::json_text(out) << "\n";
  } else {
    std::cout << fmt::format("{:<10}{}\n", "daemon", client.url());
    std::cout << fmt::format("{:<10}{}\n", "status", status);
    std::cout << fmt::format("{:<10}{}\n", "version", text_of(h, "version"));
    std::cout << fmt::format("{:<10}{}\n", "uptime", uptime_s >= 0 ? uptime_text(uptime_s) : "unknown");
    std::cout << fmt::format("{:<10}{}\n", "ready", readiness);
    std::cout << fmt::format("{:<10}{}\n", "database", text_of(r, "database"));
    if (r.contains("reason"))
      std::cout << fmt::format("{:<10}{}\n", "reason", text_of(r, "reason"));
  }
  std::cout.flush();
  if (!is_ready)
    throw Unavailable(fmt::format("the daemon at {} is not ready: {}", client.url(), text_of(r, "reason", readiness)));
}

} // namespace

void setup_status(CLI::App& app, Context& ctx)
{
  auto cmd = std::make_shared<StatusCommand>();
  auto* status = app.add_subcommand("status", "The daemon's health, version, uptime, readiness and database");
  status->add_option("--format", cmd->format, "table | json")->capture_default_str();
  status->callback(ctx.command([cmd, &ctx] { run_status(ctx, *cmd); }));
}

} // namespace dm::cli
