// dmanalytics dashboard show user_progress --user ID | system_performance |
//                            business_kpis | alerts [--format table|json]
// dmanalytics dashboard watch TYPE [--user ID]
//
// The daemon's dashboards (DESIGN 8), as a summary for people or as the
// answer's `data` object for scripts; and their WebSocket stream (DESIGN 9)
// as NDJSON, one message per line.

#include "args.hpp"
#include "context.hpp"

#include "dm/http/ws_client.hpp"
#include "dm/util/error.hpp"
#include "dm/util/json_text.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <span>
#include <string>
#include <vector>

namespace dm::cli {

namespace {

namespace json = boost::json;

// --- cells and tables ----------------------------------------------------------

/// How a value is shown.
enum class Shown {
  text,    ///< strings as they are, other values plainly
  integer, ///< 1234
  number,  ///< 6 significant digits
  fixed,   ///< two decimals: rps, milliseconds
  percent, ///< a ratio 0..1 as "81.2 %"
  change,  ///< a relative change as "+12.3 %"
  updown,  ///< a boolean as up / down
};

constexpr std::string_view missing = "-";

std::string shown(const json::value* v, Shown how)
{
  if (v == nullptr || v->is_null())
    return std::string(missing);
  if (v->is_string())
    return std::string(v->as_string());
  if (v->is_bool())
    return how == Shown::updown ? (v->as_bool() ? "up" : "down") : (v->as_bool() ? "yes" : "no");
  if (!v->is_number())
    return json::serialize(*v);
  if (how == Shown::integer || (how == Shown::text && !v->is_double()))
    return v->is_double() ? fmt::format("{:.0f}", v->as_double()) : json::serialize(*v);
  const double d = v->to_number<double>();
  switch (how) {
  case Shown::fixed:
    return fmt::format("{:.2f}", d);
  case Shown::percent:
    return fmt::format("{:.1f} %", d * 100);
  case Shown::change:
    return fmt::format("{:+.1f} %", d * 100);
  default:
    return fmt::format("{:.6g}", d);
  }
}

/// Columns a UTF-8 text takes on a terminal: one per code point (topics are
/// German: "Überholen"), which holds for the Latin scripts of this data.
std::size_t display_width(std::string_view text)
{
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

/// `text` padded with spaces to `width` columns, on the right (`left`) or the left.
std::string padded(const std::string& text, std::size_t width, bool left)
{
  const std::size_t w = display_width(text);
  const std::string fill(width > w ? width - w : 0, ' ');
  return left ? text + fill : fill + text;
}

struct Column {
  std::string_view key;
  std::string_view header;
  Shown how = Shown::text;
};

/// Rows of objects as aligned columns: text left, numbers right. A missing
/// member shows as "-".
void print_table(const json::array& rows, std::span<const Column> columns, std::string_view empty_text)
{
  if (rows.empty()) {
    std::cout << "  " << empty_text << "\n";
    return;
  }
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> widths;
  for (const Column& c : columns)
    widths.push_back(display_width(c.header));
  for (const auto& row : rows) {
    std::vector<std::string> line;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      const json::value* v = row.is_object() ? row.as_object().if_contains(columns[i].key) : nullptr;
      line.push_back(shown(v, columns[i].how));
      widths[i] = std::max(widths[i], display_width(line.back()));
    }
    cells.push_back(std::move(line));
  }
  auto print_line = [&](const std::vector<std::string>& line) {
    std::string out = " ";
    for (std::size_t i = 0; i < columns.size(); ++i) {
      const bool left = columns[i].how == Shown::text || columns[i].how == Shown::updown;
      out += ' ';
      out += padded(line[i], widths[i], left);
    }
    while (!out.empty() && out.back() == ' ')
      out.pop_back();
    std::cout << out << "\n";
  };
  std::vector<std::string> headers;
  for (const Column& c : columns)
    headers.emplace_back(c.header);
  print_line(headers);
  for (const auto& line : cells)
    print_line(line);
}

const json::value* at(const json::object& o, std::string_view key)
{
  return o.if_contains(key);
}

const json::object& object_at(const json::object& o, std::string_view key)
{
  static const json::object none;
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? v->as_object() : none;
}

const json::array& array_at(const json::object& o, std::string_view key)
{
  static const json::array none;
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_array() ? v->as_array() : none;
}

/// "name    value" lines of a summary.
void print_field(std::string_view name, const std::string& value)
{
  std::cout << fmt::format("{:<14}{}\n", name, value);
}

// --- one summary per dashboard ------------------------------------------------

void print_system_performance(const json::object& data)
{
  const auto& window = object_at(data, "window");
  print_field("window", fmt::format("{} to {}", shown(at(window, "from"), Shown::text), shown(at(window, "to"), Shown::text)));
  const auto& overall = object_at(data, "overall");
  print_field("requests", fmt::format("{} ({} /s), errors {} ({})", shown(at(overall, "requests"), Shown::integer),
                                      shown(at(overall, "rps"), Shown::fixed), shown(at(overall, "errors"), Shown::integer),
                                      shown(at(overall, "error_rate"), Shown::percent)));
  print_field("latency", fmt::format("p50 {} ms, p95 {} ms, p99 {} ms", shown(at(overall, "p50_ms"), Shown::fixed),
                                     shown(at(overall, "p95_ms"), Shown::fixed), shown(at(overall, "p99_ms"), Shown::fixed)));
  print_field("cpu", fmt::format("avg {}, max {}", shown(at(data, "cpu_avg"), Shown::percent),
                                 shown(at(data, "cpu_max"), Shown::percent)));

  static constexpr Column services[] = {
      {"service", "SERVICE"},         {"requests", "REQUESTS", Shown::integer}, {"rps", "RPS", Shown::fixed},
      {"error_rate", "ERRORS", Shown::percent}, {"p50_ms", "P50 MS", Shown::fixed}, {"p95_ms", "P95 MS", Shown::fixed},
      {"p99_ms", "P99 MS", Shown::fixed}};
  std::cout << "\nservices, last hour\n";
  print_table(array_at(data, "services"), services, "no requests in the last hour");

  static constexpr Column hosts[] = {{"host", "HOST"},
                                     {"cpu", "CPU", Shown::percent},
                                     {"cpu_avg", "CPU AVG", Shown::percent},
                                     {"cpu_max", "CPU MAX", Shown::percent},
                                     {"mem", "MEM", Shown::percent},
                                     {"disk", "DISK", Shown::percent},
                                     {"load1", "LOAD1", Shown::fixed},
                                     {"ts", "SAMPLED"}};
  std::cout << "\nhosts\n";
  print_table(array_at(data, "hosts"), hosts, "no host samples in the last hour");

  static constexpr Column probes[] = {{"name", "PROBE"},
                                      {"up", "STATE", Shown::updown},
                                      {"status_code", "STATUS", Shown::integer},
                                      {"latency_ms", "LATENCY MS", Shown::fixed},
                                      {"checked_at", "CHECKED"},
                                      {"url", "URL"},
                                      {"error", "ERROR"}};
  std::cout << "\nhealth probes\n";
  print_table(array_at(data, "probes"), probes, "none configured ([[health.probe]])");
}

void print_business_kpis(const json::object& data)
{
  const auto& period = object_at(data, "period");
  print_field("period", fmt::format("{} to {} (month to date, UTC)", shown(at(period, "from"), Shown::text),
                                    shown(at(period, "to"), Shown::text)));
  // KPIs as rows: {name: {value, previous, change, trend}} or a bare value.
  json::array kpis;
  for (const auto& kv : object_at(data, "kpis")) {
    json::object row{{"kpi", kv.key()}};
    if (kv.value().is_object())
      for (const auto& member : kv.value().as_object())
        row[member.key()] = member.value();
    else
      row["value"] = kv.value();
    kpis.push_back(std::move(row));
  }
  static constexpr Column kpi_columns[] = {{"kpi", "KPI"},
                                           {"value", "VALUE", Shown::number},
                                           {"previous", "PREVIOUS", Shown::number},
                                           {"change", "CHANGE", Shown::change},
                                           {"trend", "TREND"}};
  std::cout << "\n";
  print_table(kpis, kpi_columns, "no KPIs");

  static constexpr Column plans[] = {{"plan", "PLAN"},
                                     {"subscribers_at_to", "SUBSCRIBERS", Shown::integer},
                                     {"revenue_cents", "REVENUE CENTS", Shown::integer}};
  std::cout << "\nplans\n";
  print_table(array_at(data, "plans"), plans, "no subscriptions");

  static constexpr Column daily[] = {
      {"day", "DAY"}, {"revenue_cents", "REVENUE CENTS", Shown::integer}, {"payments", "PAYMENTS", Shown::integer}};
  std::cout << "\ndaily revenue\n";
  print_table(array_at(data, "daily_revenue"), daily, "no payments this month");
}

void print_user_progress(const json::object& data)
{
  print_field("user", shown(at(data, "user_id"), Shown::text));
  print_field("as of", shown(at(data, "as_of"), Shown::text));
  print_field("last activity", shown(at(data, "last_activity"), Shown::text));
  print_field("streak", fmt::format("{} days (longest {}), active on {} of the last 30 days",
                                    shown(at(data, "streak_days"), Shown::integer),
                                    shown(at(data, "longest_streak_days"), Shown::integer),
                                    shown(at(data, "active_days_last_30"), Shown::integer)));
  const auto& totals = object_at(data, "totals");
  print_field("answers", fmt::format("{} ({} correct, {})", shown(at(totals, "answered"), Shown::integer),
                                     shown(at(totals, "correct"), Shown::integer),
                                     shown(at(totals, "accuracy"), Shown::percent)));
  print_field("mock tests", fmt::format("{} ({} passed)", shown(at(totals, "mock_tests"), Shown::integer),
                                        shown(at(totals, "mock_passes"), Shown::integer)));
  static constexpr Column topics[] = {{"topic", "TOPIC"},
                                      {"answered", "ANSWERED", Shown::integer},
                                      {"correct", "CORRECT", Shown::integer},
                                      {"accuracy", "ACCURACY", Shown::percent},
                                      {"avg_answer_ms", "AVG ANSWER MS", Shown::fixed},
                                      {"last_activity", "LAST ACTIVITY"}};
  std::cout << "\ntopics\n";
  print_table(array_at(data, "topics"), topics, "no answers yet");
}

/// The alerts' own members as columns, in the order they first appear: the
/// alert fields are the alert subsystem's to define.
void print_alerts(const json::object& data)
{
  const auto& alerts = array_at(data, "alerts");
  std::vector<std::string> keys;
  for (const auto& alert : alerts)
    if (alert.is_object())
      for (const auto& kv : alert.as_object())
        if (!kv.value().is_structured() && std::find(keys.begin(), keys.end(), kv.key()) == keys.end())
          keys.emplace_back(kv.key());
  std::vector<std::string> headers;
  std::vector<Column> columns;
  headers.reserve(keys.size());
  for (const auto& k : keys) {
    std::string h = k;
    std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return c == '_' ? ' ' : static_cast<char>(std::toupper(c)); });
    headers.push_back(std::move(h));
  }
  for (std::size_t i = 0; i < keys.size(); ++i)
    columns.push_back({keys[i], headers[i], Shown::text});
  std::cout << "active alerts\n";
  print_table(alerts, columns, "none");
}

// --- the command ----------------------------------------------------------------

struct Dashboard {
  std::string_view name;
  void (*print)(const json::object& data);
};

constexpr Dashboard dashboards[] = {
    {"user_progress", print_user_progress},
    {"system_performance", print_system_performance},
    {"business_kpis", print_business_kpis},
    {"alerts", print_alerts},
};

std::string dashboard_target(std::string_view name, std::int64_t user)
{
  if (name == "user_progress")
    return fmt::format("/dashboard/user/{}/progress", user);
  if (name == "system_performance")
    return "/dashboard/system/performance";
  if (name == "business_kpis")
    return "/dashboard/business/kpis";
  return "/dashboard/alerts";
}

/// The dashboard a command names, with the user of user_progress (0 for the
/// others). Throws UsageError for an unknown name or a bad or misplaced --user.
struct Chosen {
  const Dashboard* dashboard = nullptr;
  std::int64_t user = 0;
};

Chosen choose_dashboard(const std::string& name, const std::string& user_text)
{
  const auto* d =
      std::find_if(std::begin(dashboards), std::end(dashboards), [&name](const Dashboard& x) { return x.name == name; });
  if (d == std::end(dashboards))
    throw UsageError(fmt::format(
        "unknown dashboard '{}': expected user_progress, system_performance, business_kpis or alerts", name));
  std::int64_t user = 0;
  if (d->name == "user_progress") {
    if (user_text.empty())
      throw UsageError("user_progress needs --user ID");
    try {
      std::size_t used = 0;
      user = std::stoll(user_text, &used);
      if (used != user_text.size() || user <= 0)
        user = 0;
    } catch (const std::exception&) {
      user = 0;
    }
    if (user == 0)
      throw UsageError(fmt::format("--user '{}': expected a user id (a positive integer)", user_text));
  } else if (!user_text.empty()) {
    throw UsageError("--user applies to user_progress");
  }
  return {d, user};
}

struct ShowCommand {
  std::string dashboard;
  std::string user;
  std::string format = "table";
};

void run_show(Context& ctx, const ShowCommand& cmd)
{
  const Chosen chosen = choose_dashboard(cmd.dashboard, cmd.user);
  check_format(cmd.format, {"table", "json"});
  const Dashboard* d = chosen.dashboard;

  const json::value answer = ctx.daemon_client().get_json(dashboard_target(d->name, chosen.user));
  const json::value* data = answer.is_object() ? answer.as_object().if_contains("data") : nullptr;
  if (data == nullptr || !data->is_object())
    throw std::runtime_error(fmt::format("the daemon's {} dashboard has no 'data' object", d->name));
  if (cmd.format == "json") {
    std::cout << util::json_text(*data) << "\n";
    return;
  }
  d->print(data->as_object());
}

// --- watch -----------------------------------------------------------------------

struct WatchCommand {
  std::string dashboard;
  std::string user;
};

/// Waits between reconnects: 0.5 s, doubled after each failed attempt up to
/// 30 s, back to 0.5 s once a subscription has delivered its snapshot.
class Backoff {
public:
  std::chrono::milliseconds next()
  {
    const auto now = delay_;
    delay_ = std::min(delay_ * 2, longest);
    return now;
  }
  void reset() { delay_ = shortest; }

private:
  static constexpr std::chrono::milliseconds shortest{500};
  static constexpr std::chrono::milliseconds longest{30'000};
  std::chrono::milliseconds delay_ = shortest;
};

/// One message as one NDJSON line, flushed at once so that a pipe reader
/// sees it now. JSON has newlines only as white space, so they become spaces.
void print_message(std::string message)
{
  std::replace_if(message.begin(), message.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  message += '\n';
  if (std::fwrite(message.data(), 1, message.size(), stdout) != message.size() || std::fflush(stdout) != 0)
    throw std::runtime_error(fmt::format("cannot write to standard output: {}", std::strerror(errno)));
}

/// The `type` of a server message ("" when it has none), and for an error its
/// code and message.
struct MessageHead {
  std::string type;
  std::string code;
  std::string message;
};

MessageHead head_of(const std::string& text)
{
  MessageHead out;
  json::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object())
    return out;
  auto member = [&doc](std::string_view name) {
    const json::value* v = doc.as_object().if_contains(name);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  out.type = member("type");
  out.code = member("code");
  out.message = member("message");
  return out;
}

/// The daemon's answer to the subscription was an error message: the exit
/// code follows its code.
[[noreturn]] void throw_refused(std::string_view dashboard, const MessageHead& error)
{
  const std::string text = fmt::format("the daemon refused the subscription to {}: {} ({})", dashboard,
                                       error.message.empty() ? "no reason given" : error.message, error.code);
  if (error.code == "forbidden")
    throw Forbidden(text);
  if (error.code == "unauthorized" || error.code == "unauthorised")
    throw Unauthorised(text);
  if (error.code == "not_found")
    throw NotFound(text);
  if (error.code == "unknown_dashboard" || error.code == "bad_user_id")
    throw UsageError(text);
  throw std::runtime_error(text);
}

/// The server closed the first connection before its snapshot: a policy
/// close (1008) refuses this client; any other close is an unreachable daemon.
[[noreturn]] void throw_closed_before_snapshot(const http::WsClosed& e)
{
  if (e.code() == 1008)
    throw Forbidden(e.what());
  throw Unreachable(e.what());
}

void run_watch(Context& ctx, const WatchCommand& cmd)
{
  const Chosen chosen = choose_dashboard(cmd.dashboard, cmd.user);
  const std::string name(chosen.dashboard->name);
  const std::string url = http::websocket_url(ctx.daemon_url(), "/ws/dashboard");
  json::object subscribe{{"type", "subscribe"}, {"dashboard", name}};
  if (chosen.user != 0)
    subscribe["user_id"] = chosen.user;
  const std::string subscribe_text = json::serialize(subscribe);
  const auto credentials = ctx.credential_source();
  const bool mints_tokens = ctx.options().token.empty();

  http::WsClient ws;
  ws.interrupt_on({SIGINT, SIGTERM});
  Backoff backoff;
  bool ever_subscribed = false;
  for (;;) {
    std::string lost;
    bool subscribed = false;
    try {
      const Credentials c = credentials();
      if (!ws.connect(url, {{"Authorization", "Bearer " + c.token}}))
        return;
      ws.send_text(subscribe_text);
      while (auto message = ws.read()) {
        if (!subscribed) {
          const MessageHead head = head_of(*message);
          if (head.type == "error") {
            print_message(std::move(*message));
            ws.close();
            throw_refused(name, head);
          }
          if (head.type == "snapshot" || head.type == "update") {
            subscribed = ever_subscribed = true;
            backoff.reset();
          }
        }
        print_message(std::move(*message));
      }
      return; // interrupted, and closed
    } catch (const http::WsClosed& e) {
      // A policy close before any snapshot refuses this client, not a
      // connection that broke: retrying would hide it.
      if (!ever_subscribed)
        throw_closed_before_snapshot(e);
      // The daemon ends a connection when its token expires; a token minted
      // here is minted anew, so that is no loss worth reporting. A given
      // token is sent again and refused with 401: exit 4.
      if (e.code() == 1008 && e.reason() == "token expired" && mints_tokens && subscribed) {
        spdlog::info("dashboard watch: the token expired; reconnecting with a new one");
        continue;
      }
      lost = e.what();
    } catch (const http::ConnectError& e) {
      if (!ever_subscribed)
        throw Unreachable(fmt::format("{}. Is dmanalyticsd running? Start it with `dmanalyticsd` (or `systemctl "
                                      "start dmanalyticsd`), or give its address with --url",
                                      e.what()));
      lost = e.what();
    } catch (const Unreachable& e) {
      if (!ever_subscribed)
        throw;
      lost = e.what();
    } catch (const Unavailable& e) {
      if (!ever_subscribed)
        throw;
      lost = e.what();
    }
    if (ws.interrupted())
      return;
    const auto delay = backoff.next();
    std::cerr << fmt::format("dashboard watch: connection lost ({}); reconnecting in {:.1f} s\n", lost,
                             static_cast<double>(delay.count()) / 1000.0)
              << std::flush;
    if (!ws.wait_for(delay))
      return;
  }
}

} // namespace

void setup_dashboard(CLI::App& app, Context& ctx)
{
  auto* dashboard = app.add_subcommand("dashboard", "The daemon's live dashboards");
  dashboard->require_subcommand(1);

  auto show = std::make_shared<ShowCommand>();
  auto* s = dashboard->add_subcommand("show", "One dashboard as the daemon has it now");
  s->add_option("dashboard", show->dashboard, "user_progress | system_performance | business_kpis | alerts")
      ->required();
  s->add_option("--user", show->user, "user_progress: the user id")->type_name("ID");
  s->add_option("--format", show->format, "table | json (the dashboard's data object)")->capture_default_str();
  s->callback(ctx.command([show, &ctx] { run_show(ctx, *show); }));

  auto watch = std::make_shared<WatchCommand>();
  auto* w = dashboard->add_subcommand(
      "watch", "Stream a dashboard's WebSocket messages as NDJSON until interrupted, reconnecting when dropped");
  w->add_option("dashboard", watch->dashboard, "user_progress | system_performance | business_kpis | alerts")
      ->required();
  w->add_option("--user", watch->user, "user_progress: the user id")->type_name("ID");
  w->callback(ctx.command([watch, &ctx] { run_watch(ctx, *watch); }));
}

} // namespace dm::cli
