#include "dm/config/config.hpp"

#include "dm/config/config_checks.hpp"
#include "dm/config/listen_address.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <string>
#include <utility>

namespace dm::config {

namespace {

// ---------------------------------------------------------------------------
// Reading one value. A reader throws Problem; the walker reports it at the
// value's position with the key's dotted name in front.

struct Problem {
  std::string message;
};

constexpr std::int64_t int_max = std::numeric_limits<int>::max();
constexpr double unbounded = std::numeric_limits<double>::infinity();

std::string_view type_name(toml::node_type type) noexcept
{
  switch (type) {
  case toml::node_type::string:
    return "a string";
  case toml::node_type::integer:
    return "an integer";
  case toml::node_type::floating_point:
    return "a float";
  case toml::node_type::boolean:
    return "a boolean";
  case toml::node_type::date:
    return "a date";
  case toml::node_type::time:
    return "a time";
  case toml::node_type::date_time:
    return "a date-time";
  case toml::node_type::array:
    return "an array";
  case toml::node_type::table:
    return "a table";
  case toml::node_type::none:
    break;
  }
  return "nothing";
}

/// A float as TOML would show it: `2.0`, not `2`, so that the message
/// shows the value's type as written.
std::string float_text(double x)
{
  std::string text = fmt::format("{}", x);
  if (std::isfinite(x) && text.find_first_of(".e") == std::string::npos)
    text += ".0";
  return text;
}

/// The value as it would be written in TOML, for messages; empty for arrays
/// and tables, which are too big to quote.
std::string shown(const toml::node& node)
{
  if (const auto* s = node.as_string())
    return toml_quoted(s->get());
  if (const auto* i = node.as_integer())
    return std::to_string(i->get());
  if (const auto* f = node.as_floating_point())
    return float_text(f->get());
  if (const auto* b = node.as_boolean())
    return b->get() ? "true" : "false";
  return {};
}

Problem wrong_type(const toml::node& node, std::string_view expected)
{
  std::string message = fmt::format("expected {}, got {}", expected, type_name(node.type()));
  if (const std::string value = shown(node); !value.empty())
    message += " " + value;
  return Problem{std::move(message)};
}

std::string with_note(std::string text, std::string_view note)
{
  if (!note.empty())
    text += fmt::format(" ({})", note);
  return text;
}

/// An integer in [min, max]; `note` explains the unit or a special value.
std::int64_t integer_in(const toml::node& node, std::int64_t min, std::int64_t max, std::string_view note)
{
  const auto* value = node.as_integer();
  if (value == nullptr)
    throw wrong_type(node, "an integer");
  const std::int64_t x = value->get();
  if (x < min || x > max) {
    const std::string allowed = max == int_max || max == std::numeric_limits<std::int64_t>::max()
                                    ? fmt::format("value >= {}", min)
                                    : fmt::format("{} <= value <= {}", min, max);
    throw Problem{with_note(fmt::format("{} is out of range, expected {}", x, allowed), note)};
  }
  return x;
}

int int_in(const toml::node& node, int min, int max, std::string_view note)
{
  return static_cast<int>(integer_in(node, min, max, note));
}

/// Seconds, at least `min`.
int seconds(const toml::node& node, int min, std::string_view note = "seconds")
{
  return int_in(node, min, INT_MAX, note);
}

enum class Bound { open, closed };

/// An integer or a float in the interval from `lo` to `hi`; infinite `hi`
/// means no upper bound. NaN and infinities are always out of range.
double number_in(const toml::node& node, double lo, Bound lo_bound, double hi, Bound hi_bound,
                 std::string_view note = {})
{
  double x = 0;
  if (const auto* i = node.as_integer())
    x = static_cast<double>(i->get());
  else if (const auto* f = node.as_floating_point())
    x = f->get();
  else
    throw wrong_type(node, "a number");
  const bool above_lo = lo_bound == Bound::open ? x > lo : x >= lo;
  const bool below_hi = hi_bound == Bound::open ? x < hi : x <= hi;
  if (!std::isfinite(x) || !above_lo || !below_hi) {
    const std::string_view lo_op = lo_bound == Bound::open ? "<" : "<=";
    const std::string_view hi_op = hi_bound == Bound::open ? "<" : "<=";
    const std::string allowed = std::isinf(hi) ? fmt::format("value {} {}", lo_bound == Bound::open ? ">" : ">=", lo)
                                               : fmt::format("{} {} value {} {}", lo, lo_op, hi_op, hi);
    throw Problem{with_note(fmt::format("{} is out of range, expected {}", shown(node), allowed), note)};
  }
  return x;
}

std::string string_value(const toml::node& node)
{
  if (const auto* s = node.as_string())
    return s->get();
  throw wrong_type(node, "a string");
}

std::string one_of(const toml::node& node, std::initializer_list<std::string_view> allowed)
{
  std::string value = string_value(node);
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end())
    return value;
  std::string list;
  for (std::string_view a : allowed)
    list += list.empty() ? std::string(a) : "|" + std::string(a);
  std::string message = fmt::format("{} is not allowed, expected one of {}", toml_quoted(value), list);
  if (const auto close = closest(value, std::vector<std::string_view>(allowed)))
    message += fmt::format("; did you mean {}?", *close);
  throw Problem{std::move(message)};
}

std::string non_empty_string(const toml::node& node)
{
  std::string value = string_value(node);
  if (value.empty())
    throw Problem{"must not be empty"};
  return value;
}

std::string listen_address(const toml::node& node)
{
  std::string value = string_value(node);
  if (!parse_listen_address(value))
    throw Problem{fmt::format("{} is not a listen address, expected host:port or [ipv6]:port with port 1..65535",
                              toml_quoted(value))};
  return value;
}

std::string postgres_url(const toml::node& node, std::string_view empty_means)
{
  std::string value = string_value(node);
  if (!value.empty() && !is_postgres_connection_string(value))
    throw Problem{fmt::format("{} is not a PostgreSQL connection string, expected postgres://..., "
                              "postgresql://..., key=value pairs (host=... dbname=...), or \"\" for {}",
                              toml_quoted(redact_password(value)), empty_means)};
  return value;
}

std::string smtp_url(const toml::node& node)
{
  std::string value = string_value(node);
  if (!value.empty() && !has_scheme_and_host(value, {"smtp://", "smtps://"}))
    throw Problem{fmt::format("{} is not an SMTP URL, expected smtp://host[:port], smtps://host[:port], "
                              "or \"\" for no e-mail",
                              toml_quoted(redact_password(value)))};
  return value;
}

std::string probe_url(const toml::node& node)
{
  std::string value = string_value(node);
  if (!has_scheme_and_host(value, {"http://", "https://"}))
    throw Problem{fmt::format("{} is not an HTTP URL, expected http://host[:port]/path or https://...",
                              toml_quoted(redact_password(value)))};
  return value;
}

std::string mail_address(const toml::node& node)
{
  std::string value = string_value(node);
  if (!value.empty() && value.find('@') == std::string::npos)
    throw Problem{fmt::format("{} is not an e-mail address, expected user@host or \"Name <user@host>\"",
                              toml_quoted(value))};
  return value;
}

std::string cron(const toml::node& node)
{
  std::string value = string_value(node);
  if (value.empty())
    return value;
  if (const auto problem = cron_shape_problem(value))
    throw Problem{fmt::format("{} {}, expected five fields (minute hour day-of-month month day-of-week), "
                              "one of @hourly|@daily|@weekly|@monthly|@yearly, or \"\" for none",
                              toml_quoted(value), *problem)};
  return value;
}

// ---------------------------------------------------------------------------
// The schema: every key of DESIGN 12 with its reader. Tables are implied by
// the dotted names; `health.probe` is an array of tables with its own keys.

using Reader = void (*)(const toml::node&, Config&);

struct Key {
  std::string_view name;
  Reader read;
};

// clang-format off
constexpr Key keys[] = {
  {"daemon.listen", [](const toml::node& v, Config& c) { c.daemon.listen = listen_address(v); }},
  {"daemon.threads", [](const toml::node& v, Config& c) { c.daemon.threads = int_in(v, 0, 1024, "0 = one per hardware thread"); }},
  {"daemon.max_connections", [](const toml::node& v, Config& c) { c.daemon.max_connections = int_in(v, 1, INT_MAX, {}); }},
  {"daemon.heartbeat_interval", [](const toml::node& v, Config& c) { c.daemon.heartbeat_interval = seconds(v, 1); }},
  {"daemon.connection_timeout", [](const toml::node& v, Config& c) { c.daemon.connection_timeout = seconds(v, 1); }},
  {"daemon.ws_queue_max", [](const toml::node& v, Config& c) { c.daemon.ws_queue_max = int_in(v, 1, INT_MAX, "messages"); }},
  {"daemon.ws_write_timeout", [](const toml::node& v, Config& c) { c.daemon.ws_write_timeout = seconds(v, 1); }},
  {"daemon.max_body", [](const toml::node& v, Config& c) { c.daemon.max_body = integer_in(v, 1, std::numeric_limits<std::int64_t>::max(), "bytes"); }},

  {"database.url", [](const toml::node& v, Config& c) { c.database.url = postgres_url(v, "the embedded database"); }},
  {"database.read_url", [](const toml::node& v, Config& c) { c.database.read_url = postgres_url(v, "database.url"); }},
  {"database.pool_size", [](const toml::node& v, Config& c) { c.database.pool_size = int_in(v, 1, 1000, "connections"); }},
  {"database.statement_timeout", [](const toml::node& v, Config& c) { c.database.statement_timeout = seconds(v, 0, "seconds, 0 = no limit"); }},

  {"state.dir", [](const toml::node& v, Config& c) { c.state.dir = string_value(v); }},

  {"auth.jwt_secret_file", [](const toml::node& v, Config& c) { c.auth.jwt_secret_file = string_value(v); }},
  {"auth.issuer", [](const toml::node& v, Config& c) { c.auth.issuer = string_value(v); }},
  {"auth.audience", [](const toml::node& v, Config& c) { c.auth.audience = string_value(v); }},
  {"auth.leeway", [](const toml::node& v, Config& c) { c.auth.leeway = seconds(v, 0); }},

  {"rate_limit.rps", [](const toml::node& v, Config& c) { c.rate_limit.rps = number_in(v, 0, Bound::open, unbounded, Bound::open, "requests per second"); }},
  {"rate_limit.burst", [](const toml::node& v, Config& c) { c.rate_limit.burst = number_in(v, 1, Bound::closed, unbounded, Bound::open, "requests"); }},

  {"dashboard.refresh.system_performance", [](const toml::node& v, Config& c) { c.dashboard.refresh.system_performance = seconds(v, 1); }},
  {"dashboard.refresh.business_kpis", [](const toml::node& v, Config& c) { c.dashboard.refresh.business_kpis = seconds(v, 1); }},
  {"dashboard.refresh.user_progress", [](const toml::node& v, Config& c) { c.dashboard.refresh.user_progress = seconds(v, 1); }},

  {"dashboard.alert_thresholds.response_time_ms", [](const toml::node& v, Config& c) { c.dashboard.alert_thresholds.response_time_ms = number_in(v, 0, Bound::open, unbounded, Bound::open, "milliseconds"); }},
  {"dashboard.alert_thresholds.error_rate", [](const toml::node& v, Config& c) { c.dashboard.alert_thresholds.error_rate = number_in(v, 0, Bound::closed, 1, Bound::closed, "a share of requests"); }},
  {"dashboard.alert_thresholds.active_users", [](const toml::node& v, Config& c) { c.dashboard.alert_thresholds.active_users = number_in(v, 0, Bound::closed, unbounded, Bound::open, "0 = off"); }},
  {"dashboard.alert_thresholds.system_load", [](const toml::node& v, Config& c) { c.dashboard.alert_thresholds.system_load = number_in(v, 0, Bound::open, unbounded, Bound::open, "a fraction of capacity"); }},

  {"reporting_schedule.hourly", [](const toml::node& v, Config& c) { c.reporting_schedule.hourly = cron(v); }},
  {"reporting_schedule.daily", [](const toml::node& v, Config& c) { c.reporting_schedule.daily = cron(v); }},
  {"reporting_schedule.weekly", [](const toml::node& v, Config& c) { c.reporting_schedule.weekly = cron(v); }},
  {"reporting_schedule.monthly", [](const toml::node& v, Config& c) { c.reporting_schedule.monthly = cron(v); }},

  {"alerts.interval", [](const toml::node& v, Config& c) { c.alerts.interval = seconds(v, 1); }},
  {"alerts.resolve_for", [](const toml::node& v, Config& c) { c.alerts.resolve_for = seconds(v, 0); }},

  // Capped at a century so that day arithmetic in microseconds cannot overflow.
  {"reports.keep_days", [](const toml::node& v, Config& c) { c.reports.keep_days = int_in(v, 0, 36500, "days, 0 = keep forever"); }},
  {"reports.export_dir", [](const toml::node& v, Config& c) { c.reports.export_dir = string_value(v); }},
  {"reports.struggling_accuracy", [](const toml::node& v, Config& c) { c.reports.struggling_accuracy = number_in(v, 0, Bound::open, 1, Bound::open); }},

  {"smtp.url", [](const toml::node& v, Config& c) { c.smtp.url = smtp_url(v); }},
  {"smtp.from", [](const toml::node& v, Config& c) { c.smtp.from = mail_address(v); }},
  {"smtp.username", [](const toml::node& v, Config& c) { c.smtp.username = string_value(v); }},
  {"smtp.password_file", [](const toml::node& v, Config& c) { c.smtp.password_file = string_value(v); }},

  {"log.level", [](const toml::node& v, Config& c) { c.log.level = one_of(v, {"trace", "debug", "info", "warn", "error", "off"}); }},
  {"log.format", [](const toml::node& v, Config& c) { c.log.format = one_of(v, {"text", "json"}); }},
};

constexpr std::string_view probe_table = "health.probe";

using ProbeReader = void (*)(const toml::node&, HealthProbe&);

struct ProbeKey {
  std::string_view name;
  ProbeReader read;
};

constexpr ProbeKey probe_keys[] = {
  {"name", [](const toml::node& v, HealthProbe& p) { p.name = non_empty_string(v); }},
  {"url", [](const toml::node& v, HealthProbe& p) { p.url = probe_url(v); }},
  {"interval", [](const toml::node& v, HealthProbe& p) { p.interval = seconds(v, 1); }},
};
// clang-format on

const Key* find_key(std::string_view name) noexcept
{
  for (const Key& key : keys)
    if (key.name == name)
      return &key;
  return nullptr;
}

const ProbeKey* find_probe_key(std::string_view name) noexcept
{
  for (const ProbeKey& key : probe_keys)
    if (key.name == name)
      return &key;
  return nullptr;
}

/// A table the schema knows: a proper prefix of a key's dotted name.
bool is_table_name(std::string_view name)
{
  return std::any_of(config_keys().begin(), config_keys().end(), [&](const std::string& key) {
    return key.size() > name.size() && key.starts_with(name) && key[name.size()] == '.';
  });
}

/// Keys and tables directly inside the table `path` ("" = the root).
std::vector<std::string_view> children_of(std::string_view path)
{
  std::vector<std::string_view> children;
  for (const std::string& key : config_keys()) {
    std::string_view rest = key;
    if (!path.empty()) {
      if (!(rest.size() > path.size() && rest.starts_with(path) && rest[path.size()] == '.'))
        continue;
      rest.remove_prefix(path.size() + 1);
    }
    const std::string_view child = rest.substr(0, rest.find('.'));
    if (std::find(children.begin(), children.end(), child) == children.end())
      children.push_back(child);
  }
  return children;
}

std::string joined(std::string_view path, std::string_view key)
{
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

/// Bare TOML keys only: a quoted key such as "daemon.threads" names no key
/// of the schema even though its text looks like one.
bool is_bare_key(std::string_view key) noexcept
{
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

/// What an unknown key probably meant: a close sibling in the same table, else
/// keys elsewhere with exactly this name (a key put under the wrong table).
std::string suggestion_for(std::string_view path, std::string_view key)
{
  if (const auto close = closest(key, children_of(path)))
    return joined(path, *close);
  std::vector<std::string> elsewhere;
  for (const std::string& known : config_keys()) {
    std::string_view name = known;
    // Tables count too: `[refresh]` meant `[dashboard.refresh]`.
    while (!name.empty()) {
      const auto dot = name.rfind('.');
      const std::string_view leaf = dot == std::string_view::npos ? name : name.substr(dot + 1);
      if (leaf == key && std::find(elsewhere.begin(), elsewhere.end(), name) == elsewhere.end())
        elsewhere.emplace_back(name);
      name = dot == std::string_view::npos ? std::string_view{} : name.substr(0, dot);
    }
  }
  std::string text;
  for (std::size_t i = 0; i < elsewhere.size() && i < 3; ++i)
    text += (i == 0 ? "" : " or ") + elsewhere[i];
  return text;
}

// ---------------------------------------------------------------------------
// The walk over the parsed document.

class Parser {
public:
  explicit Parser(std::string_view source) : source_(source) {}

  void root(const toml::table& table);

  Config config;
  std::vector<Diagnostic> diagnostics;

private:
  void table(const toml::table& table, const std::string& path);
  void probes(const toml::node& node);
  void probe(const toml::table& table, const std::string& path);
  void unknown(const toml::key& key, const toml::node& node, const std::string& path,
               std::string_view suggestion);
  void check_smtp(const toml::table& root);
  void report(const toml::source_region& where, std::string message);

  template <class Read>
  void read(const toml::node& node, const std::string& name, Read&& read_value)
  {
    try {
      read_value();
    } catch (Problem& problem) {
      report(node.source(), fmt::format("{}: {}", name, problem.message));
    }
  }

  std::string source_;
};

void Parser::report(const toml::source_region& where, std::string message)
{
  diagnostics.push_back(Diagnostic{source_, where.begin.line, where.begin.column, std::move(message)});
}

void Parser::root(const toml::table& root)
{
  table(root, "");
  check_smtp(root);
}

void Parser::table(const toml::table& table, const std::string& path)
{
  for (auto&& [key, node] : table) {
    const std::string name = joined(path, key.str());
    if (!is_bare_key(key.str())) {
      unknown(key, node, name, {});
      continue;
    }
    if (const Key* known = find_key(name)) {
      read(node, name, [&] { known->read(node, config); });
    } else if (name == probe_table) {
      probes(node);
    } else if (is_table_name(name)) {
      if (const auto* sub = node.as_table())
        this->table(*sub, name);
      else
        report(node.source(), fmt::format("{}: {}", name, wrong_type(node, "a table").message));
    } else {
      unknown(key, node, name, suggestion_for(path, key.str()));
    }
  }
}

void Parser::probes(const toml::node& node)
{
  const auto* array = node.as_array();
  if (array == nullptr) {
    report(node.source(), fmt::format("{}: {} ([[{}]])", probe_table, wrong_type(node, "an array of tables").message,
                                      probe_table));
    return;
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string path = fmt::format("{}[{}]", probe_table, i);
    if (const auto* table = element.as_table())
      probe(*table, path);
    else
      report(element.source(), fmt::format("{}: {}", path, wrong_type(element, "a table").message));
  }
}

void Parser::probe(const toml::table& table, const std::string& path)
{
  HealthProbe probe;
  bool has_name = false;
  bool has_url = false;
  const toml::node* name_node = nullptr;
  for (auto&& [key, node] : table) {
    const std::string name = fmt::format("{}.{}", path, key.str());
    const ProbeKey* known = is_bare_key(key.str()) ? find_probe_key(key.str()) : nullptr;
    if (known == nullptr) {
      std::vector<std::string_view> names;
      for (const ProbeKey& k : probe_keys)
        names.push_back(k.name);
      const auto close = closest(key.str(), names);
      unknown(key, node, name, close ? fmt::format("{}.{}", path, *close) : std::string{});
      continue;
    }
    has_name = has_name || known->name == "name";
    has_url = has_url || known->name == "url";
    if (known->name == "name")
      name_node = &node;
    read(node, name, [&] { known->read(node, probe); });
  }
  if (!has_name)
    report(table.source(), fmt::format("{}.name: missing, every probe needs a name and a url", path));
  if (!has_url)
    report(table.source(), fmt::format("{}.url: missing, every probe needs a name and a url", path));
  if (!probe.name.empty()) {
    for (std::size_t i = 0; i < config.health_probes.size(); ++i) {
      if (config.health_probes[i].name == probe.name) {
        report(name_node->source(), fmt::format("{}.name: {} is already the name of {}[{}]", path,
                                                toml_quoted(probe.name), probe_table, i));
        break;
      }
    }
  }
  // Kept even when invalid, so that later duplicates are still found; the
  // config is thrown away when any diagnostic was reported.
  config.health_probes.push_back(std::move(probe));
}

void Parser::unknown(const toml::key& key, const toml::node& node, const std::string& name,
                     std::string_view suggestion)
{
  const std::string_view what = node.is_table() ? "table" : "key";
  if (suggestion.empty())
    report(key.source(), fmt::format("{}: unknown {} (see dmanalytics.toml(5))", name, what));
  else
    report(key.source(), fmt::format("{}: unknown {}, did you mean {}?", name, what, suggestion));
}

void Parser::check_smtp(const toml::table& root)
{
  if (config.smtp.url.empty() || !config.smtp.from.empty())
    return;
  const toml::node* url = root.at_path("smtp.url").node();
  const bool from_given = root.at_path("smtp.from").node() != nullptr;
  // A given but invalid from is reported already.
  if (url != nullptr && !from_given)
    report(url->source(), "smtp.from: missing, required when smtp.url is set");
}

} // namespace

const std::vector<std::string>& config_keys()
{
  static const std::vector<std::string> all = [] {
    std::vector<std::string> names;
    for (const Key& key : keys) {
      // DESIGN 12 lists [[health.probe]] just before [log].
      if (key.name.starts_with("log.") && std::none_of(names.begin(), names.end(), [](const std::string& n) {
            return n.starts_with("health.");
          }))
        for (const ProbeKey& probe : probe_keys)
          names.push_back(fmt::format("{}.{}", probe_table, probe.name));
      names.emplace_back(key.name);
    }
    return names;
  }();
  return all;
}

Config parse_config(std::string_view toml_text, std::string_view source_name)
{
  toml::table document;
  try {
    document = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    throw ConfigError(Diagnostic{std::string(source_name), e.source().begin.line, e.source().begin.column,
                                 std::string(e.description())});
  }
  Parser parser(source_name);
  parser.root(document);
  if (!parser.diagnostics.empty())
    throw ConfigError(std::move(parser.diagnostics));
  parser.config.source = std::string(source_name);
  return std::move(parser.config);
}

} // namespace dm::config
