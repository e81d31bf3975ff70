// dmanalytics token issue --role R [--sub S] [--ttl 1h]

#include "context.hpp"

#include "dm/auth/local_token.hpp"
#include "dm/auth/role.hpp"
#include "dm/auth/secret_file.hpp"
#include "dm/auth/token_issuer.hpp"
#include "dm/util/duration.hpp"
#include "dm/util/time.hpp"

#include <fmt/format.h>

#include <iostream>

namespace dm::cli {

namespace {

struct IssueCommand {
  std::string role;
  std::string sub;
  std::string ttl = "1h";
};

void run_issue(Context& ctx, const IssueCommand& cmd)
{
  // Arguments first: a typo is reported before any file is created.
  const auth::Role role = auth::parse_role(cmd.role);
  const std::chrono::seconds ttl = util::parse_duration(cmd.ttl);
  if (ttl.count() <= 0)
    throw UsageError(fmt::format("--ttl '{}': must be longer than 0 s", cmd.ttl));
  if (role == auth::Role::user &&
      (cmd.sub.empty() || cmd.sub.find_first_not_of("0123456789") != std::string::npos))
    throw UsageError(fmt::format("--role user needs --sub USER_ID (a numeric user id), got '{}'", cmd.sub));
  const std::string sub = cmd.sub.empty() ? "local:" + auth::local_user_name() : cmd.sub;

  const auto& config = ctx.config();
  const std::string secret = auth::configured_secret(config, ctx.state_dir());
  const std::int64_t now = util::now() / util::micros_per_second;
  const std::string token =
      auth::issue_token(secret, role, sub, ttl, config.auth.issuer, config.auth.audience, now);
  std::cout << token << "\n";
  std::cout.flush();
  if (!ctx.quiet())
    std::cerr << fmt::format("{} token for '{}', valid until {}\n", auth::to_string(role), sub,
                             util::format_rfc3339_utc((now + ttl.count()) * util::micros_per_second));
}

} // namespace

void setup_token(CLI::App& app, Context& ctx)
{
  auto* token = app.add_subcommand("token", "Bearer tokens for the daemon's API and dashboards");
  token->require_subcommand(1);

  auto cmd = std::make_shared<IssueCommand>();
  auto* issue = token->add_subcommand(
      "issue", "Sign a token with the daemon's secret (auth.jwt_secret_file, else <state>/jwt.secret) and print it");
  issue->add_option("--role", cmd->role, "user (one learner's own progress; needs --sub), viewer, analyst or admin")->required()->type_name("ROLE");
  issue->add_option("--sub", cmd->sub, "Subject: a user id, a service name (default local:<user>)")->type_name("SUB");
  issue->add_option("--ttl", cmd->ttl, "Lifetime: 90s, 15m, 1h, 2d, 1w, 1h30m")->capture_default_str()->type_name("DURATION");
  issue->callback(ctx.command([cmd, &ctx] { run_issue(ctx, *cmd); }));
}

} // namespace dm::cli
