#include "dm/config/config.hpp"
#include "dm/config/config_checks.hpp"
#include "dm/config/listen_address.hpp"
#include "dm/util/error.hpp"

#include <catch2/catch.hpp>
#include <toml++/toml.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
using namespace dm::config;

namespace {

/// The message of the ConfigError that parsing `text` throws; fails the test
/// when it parses.
std::string error_of(std::string_view text)
{
  try {
    parse_config(text, "t.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  FAIL("parsed without error: " << text);
  return {};
}

std::string read_source_file(const std::string& relative)
{
  std::ifstream in(std::string(DM_SOURCE_DIR) + "/" + relative, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Turns every commented-out setting of the sample (`#key = value`,
/// `#[[table]]`; prose comments have a space after the `#`) into a setting.
std::string uncommented(const std::string& sample)
{
  std::istringstream in(sample);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.size() > 1 && line[0] == '#' && line[1] != ' ')
      line.erase(0, 1);
    out += line + '\n';
  }
  return out;
}

/// Every dotted key of a parsed document; arrays of tables as `a.b.key`.
void collect_keys(const toml::table& table, const std::string& path, std::set<std::string>& out)
{
  for (auto&& [key, node] : table) {
    const std::string name = path.empty() ? std::string(key.str()) : path + "." + std::string(key.str());
    if (const auto* sub = node.as_table())
      collect_keys(*sub, name, out);
    else if (const auto* array = node.as_array(); array != nullptr && array->is_array_of_tables())
      for (const toml::node& element : *array)
        collect_keys(*element.as_table(), name, out);
    else
      out.insert(name);
  }
}

/// Sets (or unsets, for nullopt) an environment variable for one scope.
class EnvOverride {
public:
  EnvOverride(const char* name, std::optional<std::string> value) : name_(name)
  {
    if (const char* old = std::getenv(name))
      old_ = old;
    apply(value);
  }
  ~EnvOverride() { apply(old_); }
  EnvOverride(const EnvOverride&) = delete;
  EnvOverride& operator=(const EnvOverride&) = delete;

private:
  void apply(const std::optional<std::string>& value)
  {
    if (value)
      ::setenv(name_, value->c_str(), 1);
    else
      ::unsetenv(name_);
  }

  const char* name_;
  std::optional<std::string> old_;
};

/// A fresh folder under the system temp folder, removed with the object.
class TempDir {
public:
  TempDir()
  {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("dm-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir()
  {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const noexcept { return path_; }

  fs::path write(const fs::path& relative, const std::string& text) const
  {
    const fs::path file = path_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }

private:
  fs::path path_;
};

} // namespace

TEST_CASE("defaults are those of DESIGN 12", "[config]")
{
  const Config c;
  CHECK(c.daemon.listen == "127.0.0.1:8470");
  CHECK(c.daemon.threads == 2);
  CHECK(c.daemon.max_connections == 10000);
  CHECK(c.daemon.heartbeat_interval == 30);
  CHECK(c.daemon.connection_timeout == 60);
  CHECK(c.daemon.ws_queue_max == 64);
  CHECK(c.daemon.ws_write_timeout == 10);
  CHECK(c.daemon.max_body == 8 * 1024 * 1024);
  CHECK(c.database.url.empty());
  CHECK(c.database.read_url.empty());
  CHECK(c.database.pool_size == 8);
  CHECK(c.database.statement_timeout == 30);
  CHECK(c.state.dir.empty());
  CHECK(c.auth.jwt_secret_file.empty());
  CHECK(c.auth.issuer.empty());
  CHECK(c.auth.audience.empty());
  CHECK(c.auth.leeway == 30);
  CHECK(c.rate_limit.rps == 50);
  CHECK(c.rate_limit.burst == 100);
  CHECK(c.dashboard.refresh.system_performance == 30);
  CHECK(c.dashboard.refresh.business_kpis == 300);
  CHECK(c.dashboard.refresh.user_progress == 60);
  CHECK(c.dashboard.alert_thresholds.response_time_ms == 1000);
  CHECK(c.dashboard.alert_thresholds.error_rate == 0.05);
  CHECK(c.dashboard.alert_thresholds.active_users == 0);
  CHECK(c.dashboard.alert_thresholds.system_load == 0.9);
  CHECK(c.reporting_schedule.hourly.empty());
  CHECK(c.reporting_schedule.daily == "0 6 * * *");
  CHECK(c.reporting_schedule.weekly == "0 7 * * MON");
  CHECK(c.reporting_schedule.monthly == "0 8 1 * *");
  CHECK(c.alerts.interval == 15);
  CHECK(c.alerts.resolve_for == 300);
  CHECK(c.reports.keep_days == 90);
  CHECK(c.reports.export_dir.empty());
  CHECK(c.reports.struggling_accuracy == 0.70);
  CHECK(c.smtp.url.empty());
  CHECK(c.smtp.from.empty());
  CHECK(c.health_probes.empty());
  CHECK(c.log.level == "info");
  CHECK(c.log.format == "text");
  CHECK(c.source.empty());
}

TEST_CASE("an empty document gives the defaults and names its source", "[config]")
{
  Config c = parse_config("", "empty.toml");
  CHECK(c.source == "empty.toml");
  c.source.clear();
  CHECK(c == Config{});

  Config only_tables = parse_config("[daemon]\n[dashboard.refresh]\n[health]\n", "t.toml");
  only_tables.source.clear();
  CHECK(only_tables == Config{});
}

TEST_CASE("a full valid file sets every key", "[config]")
{
  const Config c = parse_config(R"(
[daemon]
listen = "[::1]:9000"
threads = 0
max_connections = 500
heartbeat_interval = 5
connection_timeout = 12
ws_queue_max = 8
ws_write_timeout = 3
max_body = 1048576

[database]
url = "postgresql://dm:pw@db:5432/dm"
read_url = "host=/run/postgresql dbname=dm"
pool_size = 16
statement_timeout = 0

[state]
dir = "/srv/dm"

[auth]
jwt_secret_file = "/etc/dm/jwt"
issuer = "drivemaster"
audience = "analytics"
leeway = 0

[rate_limit]
rps = 2.5
burst = 10

[dashboard.refresh]
system_performance = 1
business_kpis = 2
user_progress = 3

[dashboard.alert_thresholds]
response_time_ms = 250.5
error_rate = 1
active_users = 10
system_load = 2

[reporting_schedule]
hourly = "@hourly"
daily = ""
weekly = "*/5 1-3 * JAN-MAR MON,FRI"
monthly = "@monthly"

[alerts]
interval = 60
resolve_for = 0

[reports]
keep_days = 0
export_dir = "/srv/exports"
struggling_accuracy = 0.5

[smtp]
url = "smtps://mail.example:465"
from = "Reports <reports@example.org>"
username = "reports"
password_file = "/etc/dm/smtp"

[log]
level = "debug"
format = "json"
)",
                                "full.toml");
  CHECK(c.daemon.listen == "[::1]:9000");
  CHECK(c.daemon.threads == 0);
  CHECK(c.daemon.max_connections == 500);
  CHECK(c.daemon.heartbeat_interval == 5);
  CHECK(c.daemon.connection_timeout == 12);
  CHECK(c.daemon.ws_queue_max == 8);
  CHECK(c.daemon.ws_write_timeout == 3);
  CHECK(c.daemon.max_body == 1048576);
  CHECK(c.database.url == "postgresql://dm:pw@db:5432/dm");
  CHECK(c.database.read_url == "host=/run/postgresql dbname=dm");
  CHECK(c.database.pool_size == 16);
  CHECK(c.database.statement_timeout == 0);
  CHECK(c.state.dir == "/srv/dm");
  CHECK(c.auth.jwt_secret_file == "/etc/dm/jwt");
  CHECK(c.auth.issuer == "drivemaster");
  CHECK(c.auth.audience == "analytics");
  CHECK(c.auth.leeway == 0);
  CHECK(c.rate_limit.rps == 2.5);
  CHECK(c.rate_limit.burst == 10);
  CHECK(c.dashboard.refresh.system_performance == 1);
  CHECK(c.dashboard.refresh.business_kpis == 2);
  CHECK(c.dashboard.refresh.user_progress == 3);
  CHECK(c.dashboard.alert_thresholds.response_time_ms == 250.5);
  CHECK(c.dashboard.alert_thresholds.error_rate == 1);
  CHECK(c.dashboard.alert_thresholds.active_users == 10);
  CHECK(c.dashboard.alert_thresholds.system_load == 2);
  CHECK(c.reporting_schedule.hourly == "@hourly");
  CHECK(c.reporting_schedule.daily.empty());
  CHECK(c.reporting_schedule.weekly == "*/5 1-3 * JAN-MAR MON,FRI");
  CHECK(c.reporting_schedule.monthly == "@monthly");
  CHECK(c.alerts.interval == 60);
  CHECK(c.alerts.resolve_for == 0);
  CHECK(c.reports.keep_days == 0);
  CHECK(c.reports.export_dir == "/srv/exports");
  CHECK(c.reports.struggling_accuracy == 0.5);
  CHECK(c.smtp.url == "smtps://mail.example:465");
  CHECK(c.smtp.from == "Reports <reports@example.org>");
  CHECK(c.smtp.username == "reports");
  CHECK(c.smtp.password_file == "/etc/dm/smtp");
  CHECK(c.log.level == "debug");
  CHECK(c.log.format == "json");
  CHECK(c.source == "full.toml");
}

TEST_CASE("inline tables and dotted keys are the same keys", "[config]")
{
  const Config c = parse_config("daemon = { threads = 4 }\ndashboard.refresh.business_kpis = 7\n", "t.toml");
  CHECK(c.daemon.threads == 4);
  CHECK(c.dashboard.refresh.business_kpis == 7);
}

TEST_CASE("[[health.probe]] is an array of probes in file order", "[config]")
{
  const Config c = parse_config(R"([[health.probe]]
name = "api"
url = "http://127.0.0.1:8080/healthz"
interval = 5

[[health.probe]]
name = "web"
url = "https://drivemaster.example/"
)",
                                "t.toml");
  REQUIRE(c.health_probes.size() == 2);
  CHECK(c.health_probes[0] == HealthProbe{"api", "http://127.0.0.1:8080/healthz", 5});
  CHECK(c.health_probes[1] == HealthProbe{"web", "https://drivemaster.example/", 30});

  CHECK(parse_config("health.probe = []\n", "t.toml").health_probes.empty());
  CHECK(parse_config("health.probe = [{ name = \"a\", url = \"http://a\" }]\n", "t.toml").health_probes.size() ==
        1);
}

TEST_CASE("TOML syntax errors carry file:line:column", "[config]")
{
  // The messages are toml++'s; the positions are where it stopped.
  CHECK(error_of("[daemon]\nthreads = \n") == "t.toml:2:11: Error while parsing key-value pair: expected value, saw '\\n'");
  CHECK(error_of("[daemon]\nthreads = 1\nthreads = 2\n") ==
        "t.toml:3:11: Error while parsing key-value pair: cannot redefine existing integer 'threads'");
  CHECK(error_of("[log]\nlevel = \"info\n").starts_with("t.toml:2:14: Error while parsing string: "));
  CHECK(error_of("[log\n") == "t.toml:1:5: Error while parsing table header: expected ']', saw '\\n'");

  try {
    parse_config("x = \n", "t.toml");
    FAIL("no error");
  } catch (const ConfigError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    CHECK(e.diagnostics()[0].line == 1);
    CHECK(e.diagnostics()[0].column == 5);
    CHECK(dm::exit_code_for(e) == dm::ExitCode::usage);
  }
}

TEST_CASE("unknown keys and tables are errors, with a suggestion when one is close", "[config]")
{
  CHECK(error_of("[daemon]\nthread = 4\n") == "t.toml:2:1: daemon.thread: unknown key, did you mean daemon.threads?");
  CHECK(error_of("[daemon]\n  Threads = 4\n") ==
        "t.toml:2:3: daemon.Threads: unknown key, did you mean daemon.threads?");
  CHECK(error_of("[deamon]\nthreads = 4\n") == "t.toml:1:2: deamon: unknown table, did you mean daemon?");
  CHECK(error_of("[dashboard.refreshh]\n") ==
        "t.toml:1:12: dashboard.refreshh: unknown table, did you mean dashboard.refresh?");
  CHECK(error_of("[refresh]\n") == "t.toml:1:2: refresh: unknown table, did you mean dashboard.refresh?");
  // Put under the wrong table: the key of that name elsewhere.
  CHECK(error_of("[database]\nthreads = 4\n") == "t.toml:2:1: database.threads: unknown key, did you mean daemon.threads?");
  CHECK(error_of("threads = 4\n") == "t.toml:1:1: threads: unknown key, did you mean daemon.threads?");
  CHECK(error_of("[log]\nurl = \"x\"\n") ==
        "t.toml:2:1: log.url: unknown key, did you mean database.url or smtp.url or health.probe.url?");
  CHECK(error_of("[log]\ncolour = true\n") == "t.toml:2:1: log.colour: unknown key (see dmanalytics.toml(5))");
  CHECK(error_of("[metrics]\nport = 9090\n") == "t.toml:1:2: metrics: unknown table (see dmanalytics.toml(5))");
  // A quoted key is one name, even with a dot in it.
  CHECK(error_of("\"daemon.threads\" = 4\n") ==
        "t.toml:1:1: daemon.threads: unknown key (see dmanalytics.toml(5))");
  CHECK(error_of("[[health.probe]]\nname = \"a\"\nurl = \"http://a\"\nintervall = 3\n") ==
        "t.toml:4:1: health.probe[0].intervall: unknown key, did you mean health.probe[0].interval?");
}

TEST_CASE("a value of the wrong type says what was expected and what was given", "[config]")
{
  CHECK(error_of("[daemon]\nthreads = \"4\"\n") == "t.toml:2:11: daemon.threads: expected an integer, got a string \"4\"");
  CHECK(error_of("[daemon]\nthreads = 2.0\n") == "t.toml:2:11: daemon.threads: expected an integer, got a float 2.0");
  CHECK(error_of("[daemon]\nlisten = 8470\n") == "t.toml:2:10: daemon.listen: expected a string, got an integer 8470");
  CHECK(error_of("[rate_limit]\nrps = \"fast\"\n") == "t.toml:2:7: rate_limit.rps: expected a number, got a string \"fast\"");
  CHECK(error_of("[log]\nlevel = true\n") == "t.toml:2:9: log.level: expected a string, got a boolean true");
  CHECK(error_of("[auth]\nissuer = [\"a\"]\n") == "t.toml:2:10: auth.issuer: expected a string, got an array");
  CHECK(error_of("daemon = 5\n") == "t.toml:1:10: daemon: expected a table, got an integer 5");
  CHECK(error_of("[health.probe]\nname = \"a\"\n") ==
        "t.toml:1:1: health.probe: expected an array of tables, got a table ([[health.probe]])");
  CHECK(error_of("health.probe = [1]\n") == "t.toml:1:17: health.probe[0]: expected a table, got an integer 1");
}

TEST_CASE("bad values name the value and what is allowed", "[config]")
{
  SECTION("integer ranges")
  {
    CHECK(error_of("[daemon]\nthreads = 2000\n") ==
          "t.toml:2:11: daemon.threads: 2000 is out of range, expected 0 <= value <= 1024 (0 = one per hardware thread)");
    CHECK(error_of("[daemon]\nthreads = -1\n") ==
          "t.toml:2:11: daemon.threads: -1 is out of range, expected 0 <= value <= 1024 (0 = one per hardware thread)");
    CHECK(error_of("[daemon]\nheartbeat_interval = 0\n") ==
          "t.toml:2:22: daemon.heartbeat_interval: 0 is out of range, expected value >= 1 (seconds)");
    CHECK(error_of("[daemon]\nmax_body = 0\n") == "t.toml:2:12: daemon.max_body: 0 is out of range, expected value >= 1 (bytes)");
    CHECK(error_of("[daemon]\nmax_connections = 3000000000\n") ==
          "t.toml:2:19: daemon.max_connections: 3000000000 is out of range, expected value >= 1");
    CHECK(error_of("[database]\npool_size = 0\n") ==
          "t.toml:2:13: database.pool_size: 0 is out of range, expected 1 <= value <= 1000 (connections)");
    CHECK(error_of("[reports]\nkeep_days = -1\n") ==
          "t.toml:2:13: reports.keep_days: -1 is out of range, expected 0 <= value <= 36500 (days, 0 = keep forever)");
    CHECK(error_of("[alerts]\nresolve_for = -5\n") ==
          "t.toml:2:15: alerts.resolve_for: -5 is out of range, expected value >= 0 (seconds)");
    CHECK(error_of("[[health.probe]]\nname = \"a\"\nurl = \"http://a\"\ninterval = 0\n") ==
          "t.toml:4:12: health.probe[0].interval: 0 is out of range, expected value >= 1 (seconds)");
  }

  SECTION("number ranges")
  {
    CHECK(error_of("[reports]\nstruggling_accuracy = 1\n") ==
          "t.toml:2:23: reports.struggling_accuracy: 1 is out of range, expected 0 < value < 1");
    CHECK(error_of("[reports]\nstruggling_accuracy = 0.0\n") ==
          "t.toml:2:23: reports.struggling_accuracy: 0.0 is out of range, expected 0 < value < 1");
    CHECK(error_of("[dashboard.alert_thresholds]\nerror_rate = 1.5\n") ==
          "t.toml:2:14: dashboard.alert_thresholds.error_rate: 1.5 is out of range, expected 0 <= value <= 1 "
          "(a share of requests)");
    CHECK(error_of("[dashboard.alert_thresholds]\nerror_rate = nan\n") ==
          "t.toml:2:14: dashboard.alert_thresholds.error_rate: nan is out of range, expected 0 <= value <= 1 "
          "(a share of requests)");
    CHECK(error_of("[rate_limit]\nrps = 0\n") ==
          "t.toml:2:7: rate_limit.rps: 0 is out of range, expected value > 0 (requests per second)");
    CHECK(error_of("[rate_limit]\nrps = inf\n") ==
          "t.toml:2:7: rate_limit.rps: inf is out of range, expected value > 0 (requests per second)");
    CHECK(error_of("[rate_limit]\nburst = 0.5\n") ==
          "t.toml:2:9: rate_limit.burst: 0.5 is out of range, expected value >= 1 (requests)");
    CHECK(error_of("[dashboard.alert_thresholds]\nactive_users = -1\n") ==
          "t.toml:2:16: dashboard.alert_thresholds.active_users: -1 is out of range, expected value >= 0 (0 = off)");
    CHECK(parse_config("[dashboard.alert_thresholds]\nerror_rate = 0\n", "t.toml").dashboard.alert_thresholds.error_rate == 0);
  }

  SECTION("listen addresses")
  {
    const std::string allowed = "is not a listen address, expected host:port or [ipv6]:port with port 1..65535";
    CHECK(error_of("[daemon]\nlisten = \"localhost\"\n") == "t.toml:2:10: daemon.listen: \"localhost\" " + allowed);
    CHECK(error_of("[daemon]\nlisten = \"127.0.0.1:0\"\n") == "t.toml:2:10: daemon.listen: \"127.0.0.1:0\" " + allowed);
    CHECK(error_of("[daemon]\nlisten = \"127.0.0.1:65536\"\n") ==
          "t.toml:2:10: daemon.listen: \"127.0.0.1:65536\" " + allowed);
    CHECK(error_of("[daemon]\nlisten = \"::1:8470\"\n") == "t.toml:2:10: daemon.listen: \"::1:8470\" " + allowed);
    CHECK(error_of("[daemon]\nlisten = \"[::g]:8470\"\n") == "t.toml:2:10: daemon.listen: \"[::g]:8470\" " + allowed);
    CHECK(error_of("[daemon]\nlisten = \"\"\n") == "t.toml:2:10: daemon.listen: \"\" " + allowed);
  }

  SECTION("choices")
  {
    CHECK(error_of("[log]\nlevel = \"verbose\"\n") ==
          "t.toml:2:9: log.level: \"verbose\" is not allowed, expected one of trace|debug|info|warn|error|off");
    CHECK(error_of("[log]\nlevel = \"warning\"\n") ==
          "t.toml:2:9: log.level: \"warning\" is not allowed, expected one of trace|debug|info|warn|error|off; "
          "did you mean warn?");
    CHECK(error_of("[log]\nformat = \"xml\"\n") ==
          "t.toml:2:10: log.format: \"xml\" is not allowed, expected one of text|json");
    CHECK(error_of("[log]\nformat = \"JSON\"\n") ==
          "t.toml:2:10: log.format: \"JSON\" is not allowed, expected one of text|json; did you mean json?");
  }

  SECTION("urls")
  {
    CHECK(error_of("[database]\nurl = \"mysql://dm:secret@db/dm\"\n") ==
          "t.toml:2:7: database.url: \"mysql://dm:***@db/dm\" is not a PostgreSQL connection string, expected "
          "postgres://..., postgresql://..., key=value pairs (host=... dbname=...), or \"\" for the embedded database");
    CHECK(error_of("[database]\nread_url = \"db.internal\"\n") ==
          "t.toml:2:12: database.read_url: \"db.internal\" is not a PostgreSQL connection string, expected "
          "postgres://..., postgresql://..., key=value pairs (host=... dbname=...), or \"\" for database.url");
    CHECK(error_of("[smtp]\nurl = \"http://mail\"\nfrom = \"a@b\"\n") ==
          "t.toml:2:7: smtp.url: \"http://mail\" is not an SMTP URL, expected smtp://host[:port], smtps://host[:port], "
          "or \"\" for no e-mail");
    CHECK(error_of("[smtp]\nurl = \"smtp://mail:25\"\n") ==
          "t.toml:2:7: smtp.from: missing, required when smtp.url is set");
    CHECK(error_of("[smtp]\nfrom = \"reports\"\n") ==
          "t.toml:2:8: smtp.from: \"reports\" is not an e-mail address, expected user@host or \"Name <user@host>\"");
    CHECK(error_of("[[health.probe]]\nname = \"a\"\nurl = \"ftp://a\"\n") ==
          "t.toml:3:7: health.probe[0].url: \"ftp://a\" is not an HTTP URL, expected http://host[:port]/path or "
          "https://...");
    CHECK(error_of("[[health.probe]]\nname = \"a\"\nurl = \"http://\"\n") ==
          "t.toml:3:7: health.probe[0].url: \"http://\" is not an HTTP URL, expected http://host[:port]/path or "
          "https://...");
  }

  SECTION("probes need a unique, non-empty name and a url")
  {
    CHECK(error_of("[[health.probe]]\nname = \"\"\nurl = \"http://a\"\n") ==
          "t.toml:2:8: health.probe[0].name: must not be empty");
    CHECK(error_of("[[health.probe]]\nurl = \"http://a\"\n") ==
          "t.toml:1:1: health.probe[0].name: missing, every probe needs a name and a url");
    CHECK(error_of("[[health.probe]]\nname = \"a\"\n") ==
          "t.toml:1:1: health.probe[0].url: missing, every probe needs a name and a url");
    CHECK(error_of("[[health.probe]]\nname = \"api\"\nurl = \"http://a\"\n\n[[health.probe]]\nname = \"api\"\n"
                   "url = \"http://b\"\n") ==
          "t.toml:6:8: health.probe[1].name: \"api\" is already the name of health.probe[0]");
  }

  SECTION("cron strings need five fields or an @keyword")
  {
    const std::string allowed = "expected five fields (minute hour day-of-month month day-of-week), one of "
                                "@hourly|@daily|@weekly|@monthly|@yearly, or \"\" for none";
    CHECK(error_of("[reporting_schedule]\ndaily = \"0 6 * *\"\n") ==
          "t.toml:2:9: reporting_schedule.daily: \"0 6 * *\" has 4 fields, " + allowed);
    CHECK(error_of("[reporting_schedule]\nhourly = \"0 * * * * *\"\n") ==
          "t.toml:2:10: reporting_schedule.hourly: \"0 * * * * *\" has 6 fields, " + allowed);
    CHECK(error_of("[reporting_schedule]\nweekly = \"@reboot\"\n") ==
          "t.toml:2:10: reporting_schedule.weekly: \"@reboot\" is not a known @keyword, " + allowed);
    CHECK(error_of("[reporting_schedule]\nmonthly = \"  \"\n") ==
          "t.toml:2:11: reporting_schedule.monthly: \"  \" has no fields, " + allowed);
  }
}

TEST_CASE("every problem of a file is reported, in file order", "[config]")
{
  try {
    parse_config("[log]\nlevel = \"loud\"\n[daemon]\nthreads = -1\nlisten = \"x\"\n", "t.toml");
    FAIL("no error");
  } catch (const ConfigError& e) {
    REQUIRE(e.diagnostics().size() == 3);
    CHECK(e.diagnostics()[0].line == 2);
    CHECK(e.diagnostics()[1].line == 4);
    CHECK(e.diagnostics()[2].line == 5);
    CHECK(std::string(e.what()) ==
          "t.toml:2:9: log.level: \"loud\" is not allowed, expected one of trace|debug|info|warn|error|off\n"
          "t.toml:4:11: daemon.threads: -1 is out of range, expected 0 <= value <= 1024 (0 = one per hardware thread)\n"
          "t.toml:5:10: daemon.listen: \"x\" is not a listen address, expected host:port or [ipv6]:port with port "
          "1..65535");
  }
}

TEST_CASE("the sample config loads as the defaults and documents every key", "[config]")
{
  const std::string sample = read_source_file("share/config/dmanalytics.toml");
  Config loaded = load_config_file(fs::path(DM_SOURCE_DIR) / "share/config/dmanalytics.toml");
  CHECK(loaded.source == std::string(DM_SOURCE_DIR) + "/share/config/dmanalytics.toml");
  loaded.source.clear();
  CHECK(loaded == Config{});

  // With every commented-out setting enabled, the sample still gives the
  // defaults (plus its example probe): the values it shows are the defaults.
  const std::string enabled = uncommented(sample);
  Config all = parse_config(enabled, "uncommented sample");
  REQUIRE(all.health_probes.size() == 1);
  CHECK(all.health_probes[0].interval == HealthProbe{}.interval);
  all.health_probes.clear();
  all.source.clear();
  CHECK(all == Config{});

  std::set<std::string> present;
  collect_keys(toml::parse(enabled), "", present);
  const std::set<std::string> known(config_keys().begin(), config_keys().end());
  CHECK(present == known);
}

TEST_CASE("the man page documents every key under its table", "[config]")
{
  const std::string page = read_source_file("man/dmanalytics.toml.5.scd");
  for (const std::string& key : config_keys()) {
    const auto dot = key.rfind('.');
    const std::string table = key.substr(0, dot);
    const std::string leaf = key.substr(dot + 1);
    const std::string heading = table == "health.probe" ? "## [[health.probe]]\n" : "## [" + table + "]\n";
    const auto start = page.find(heading);
    INFO(key);
    REQUIRE(start != std::string::npos);
    const auto end = page.find("\n#", start + heading.size());
    const std::string body = page.substr(start, end - start);
    // scdoc needs no escape for '_' inside a word.
    CHECK(body.find("\n*" + leaf + "* = _") != std::string::npos);
  }
}

TEST_CASE("config_keys lists DESIGN 12 in order", "[config]")
{
  const auto& keys = config_keys();
  REQUIRE(keys.size() == 44);
  CHECK(keys.front() == "daemon.listen");
  CHECK(keys.back() == "log.format");
  CHECK(std::find(keys.begin(), keys.end(), "health.probe.interval") + 1 ==
        std::find(keys.begin(), keys.end(), "log.level"));
}

TEST_CASE("config files: search order, explicit path, unreadable files", "[config]")
{
  TempDir tmp;
  EnvOverride xdg("XDG_CONFIG_HOME", tmp.path().string() + "/xdg");
  EnvOverride home("HOME", tmp.path().string() + "/home");

  SECTION("XDG_CONFIG_HOME first, then /etc")
  {
    const auto files = config_search_path();
    REQUIRE(files.size() == 2);
    CHECK(files[0] == tmp.path() / "xdg/dmanalytics/dmanalytics.toml");
    CHECK(files[1] == "/etc/dmanalytics/dmanalytics.toml");
  }

  SECTION("~/.config when XDG_CONFIG_HOME is unset, empty or relative")
  {
    for (const std::optional<std::string>& value : {std::optional<std::string>{}, std::optional<std::string>{""},
                                                    std::optional<std::string>{"relative/dir"}}) {
      EnvOverride unset("XDG_CONFIG_HOME", value);
      CHECK(config_search_path().front() == tmp.path() / "home/.config/dmanalytics/dmanalytics.toml");
    }
  }

  SECTION("the XDG file is loaded when present")
  {
    const fs::path file = tmp.write("xdg/dmanalytics/dmanalytics.toml", "[daemon]\nthreads = 7\n");
    const Config c = load_config(std::nullopt);
    CHECK(c.daemon.threads == 7);
    CHECK(c.source == file.string());
  }

  SECTION("without any file, the defaults (or the system file when this machine has one)")
  {
    const Config c = load_config(std::nullopt);
    if (fs::exists("/etc/dmanalytics/dmanalytics.toml")) {
      CHECK(c.source == "/etc/dmanalytics/dmanalytics.toml");
    } else {
      CHECK(c == Config{});
    }
  }

  SECTION("an explicit path wins over the search path")
  {
    tmp.write("xdg/dmanalytics/dmanalytics.toml", "[daemon]\nthreads = 7\n");
    const fs::path file = tmp.write("mine.toml", "[daemon]\nthreads = 3\n");
    const Config c = load_config(file);
    CHECK(c.daemon.threads == 3);
    CHECK(c.source == file.string());
  }

  SECTION("an explicit path that does not exist is an error naming it")
  {
    const fs::path missing = tmp.path() / "missing.toml";
    try {
      load_config(missing);
      FAIL("no error");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) == missing.string() + ": cannot read config file: No such file or directory");
    }
  }

  SECTION("a folder where the file should be is an error, not skipped")
  {
    fs::create_directories(tmp.path() / "xdg/dmanalytics/dmanalytics.toml");
    try {
      load_config(std::nullopt);
      FAIL("no error");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) ==
            (tmp.path() / "xdg/dmanalytics/dmanalytics.toml").string() + ": cannot read config file: Is a directory");
    }
  }

  SECTION("errors in a loaded file carry its path")
  {
    const fs::path file = tmp.write("bad.toml", "\n[daemon]\nthreads = 2000\n");
    try {
      load_config_file(file);
      FAIL("no error");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()).starts_with(file.string() + ":3:11: daemon.threads: 2000 is out of range"));
    }
  }
}

TEST_CASE("default state folder", "[config]")
{
  TempDir tmp;
  EnvOverride home("HOME", tmp.path().string());
  {
    EnvOverride state("XDG_STATE_HOME", tmp.path().string() + "/state");
    CHECK(default_state_dir() == tmp.path() / "state/dmanalytics");
  }
  EnvOverride state("XDG_STATE_HOME", std::nullopt);
  if (::geteuid() == 0)
    CHECK(default_state_dir() == "/var/lib/dmanalytics");
  else
    CHECK(default_state_dir() == tmp.path() / ".local/state/dmanalytics");
}

TEST_CASE("listen addresses", "[config]")
{
  CHECK(parse_listen_address("127.0.0.1:8470") == ListenAddress{"127.0.0.1", 8470});
  CHECK(parse_listen_address("localhost:1") == ListenAddress{"localhost", 1});
  CHECK(parse_listen_address("[::1]:8470") == ListenAddress{"::1", 8470});
  CHECK(parse_listen_address("[::]:65535") == ListenAddress{"::", 65535});
  CHECK(parse_listen_address("[fe80::1%eth0]:80") == ListenAddress{"fe80::1%eth0", 80});
  CHECK_FALSE(parse_listen_address("127.0.0.1"));
  CHECK_FALSE(parse_listen_address(":8470"));
  CHECK_FALSE(parse_listen_address("host:"));
  CHECK_FALSE(parse_listen_address("host:80x"));
  CHECK_FALSE(parse_listen_address("host:080000"));
  CHECK_FALSE(parse_listen_address("[::1]8470"));
  CHECK_FALSE(parse_listen_address("[]:8470"));
  CHECK_FALSE(parse_listen_address("[fe80::1%]:80"));
  CHECK_FALSE(parse_listen_address("[127.0.0.1]:80"));
  CHECK_FALSE(parse_listen_address("ho st:80"));
}

TEST_CASE("value checks", "[config]")
{
  CHECK(closest("deamon", {"daemon", "database"}) == std::optional<std::string_view>{"daemon"});
  CHECK(closest("warning", {"info", "warn", "error"}) == std::optional<std::string_view>{"warn"});
  CHECK_FALSE(closest("colour", {"level", "format"}));
  CHECK(is_postgres_connection_string("postgres://x"));
  CHECK(is_postgres_connection_string("postgresql://"));
  CHECK(is_postgres_connection_string(" host = /tmp dbname=dm"));
  CHECK_FALSE(is_postgres_connection_string("=x"));
  CHECK_FALSE(is_postgres_connection_string("db.internal"));
  CHECK(redact_password("postgres://u:secret@h:5432/d") == "postgres://u:***@h:5432/d");
  CHECK(redact_password("postgres://u@h/d:x@y") == "postgres://u@h/d:x@y");
  CHECK(toml_quoted("a\"b\\c\n") == "\"a\\\"b\\\\c\\n\"");
  CHECK(toml_quoted(std::string(70, 'x')) == "\"" + std::string(60, 'x') + "...\"");
  CHECK_FALSE(cron_shape_problem("*/15 9-17 * * MON-FRI"));
  CHECK_FALSE(cron_shape_problem("@yearly"));
  CHECK(cron_shape_problem("@daily 5") == std::optional<std::string>{"has 2 fields"});
}

TEST_CASE("ConfigError formats file:line:column", "[config]")
{
  CHECK(to_string(Diagnostic{"f.toml", 3, 7, "x: bad"}) == "f.toml:3:7: x: bad");
  CHECK(to_string(Diagnostic{"f.toml", 0, 0, "cannot read config file: gone"}) ==
        "f.toml: cannot read config file: gone");
  const ConfigError e(std::vector<Diagnostic>{{"f", 9, 1, "b"}, {"f", 2, 5, "a"}, {"f", 2, 1, "c"}});
  CHECK(std::string(e.what()) == "f:2:1: c\nf:2:5: a\nf:9:1: b");
}
