#include "dm/db/database.hpp"

#include <fmt/format.h>

#include <regex>

namespace dm::db {

std::string redact_url(const std::string& url)
{
  // postgresql://user:secret@host/db  and  password=secret
  static const std::regex uri_password(R"(^(postgres(?:ql)?://[^:/@]*:)[^@]*@)");
  static const std::regex kv_password(R"((password\s*=\s*)('[^']*'|\S+))");
  std::string out = std::regex_replace(url, uri_password, "$1***@");
  return std::regex_replace(out, kv_password, "$1***");
}

Database::Database(Options options) : options_(std::move(options))
{
  if (options_.url.empty()) {
    cluster_ = std::make_unique<EmbeddedCluster>(EmbeddedCluster::Options{
        options_.state_dir, options_.stop_when_unused, options_.unsafe_fast, "dmanalytics"});
    url_ = cluster_->connection_string();
  } else {
    url_ = options_.url;
  }
}

Database::~Database() = default;

std::unique_ptr<pqxx::connection> Database::connect() const
{
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(url_);
  } catch (const pqxx::broken_connection&) {
    std::throw_with_nested(
        std::runtime_error(fmt::format("cannot connect to the database {}", redact_url(url_))));
  }
  pqxx::nontransaction txn{*conn};
  txn.exec("SET TimeZone = 'UTC'");
  if (options_.statement_timeout_s > 0)
    txn.exec(fmt::format("SET statement_timeout = {}", options_.statement_timeout_s * 1000));
  return conn;
}

std::unique_ptr<PgConnection> Database::connect_raw() const
{
  auto conn = std::make_unique<PgConnection>(url_);
  if (options_.statement_timeout_s > 0)
    conn->exec(fmt::format("SET statement_timeout = {}", options_.statement_timeout_s * 1000));
  return conn;
}

} // namespace dm::db
