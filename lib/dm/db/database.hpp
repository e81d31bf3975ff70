#pragma once
// Where the database is: `database.url` when set, else the embedded cluster
// under the state folder, started on demand and kept for this object's life.

#include "dm/db/embedded_cluster.hpp"
#include "dm/db/pg_connection.hpp"

#include <pqxx/pqxx>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace dm::db {

class Database {
public:
  struct Options {
    std::string url;                  ///< empty: embedded
    std::filesystem::path state_dir;  ///< for the embedded cluster
    bool stop_when_unused = true;
    bool unsafe_fast = false;
    int statement_timeout_s = 0;      ///< 0: none
  };

  explicit Database(Options options);
  ~Database();

  /// The libpq connection string (with the embedded socket when embedded).
  const std::string& url() const noexcept { return url_; }
  bool embedded() const noexcept { return cluster_ != nullptr; }
  const EmbeddedCluster* cluster() const noexcept { return cluster_.get(); }

  /// A new connection. Throws pqxx::broken_connection with the URL (password
  /// masked) in the message when the server cannot be reached.
  std::unique_ptr<pqxx::connection> connect() const;

  /// A new plain libpq connection, for bulk loads (see pg_connection.hpp).
  std::unique_ptr<PgConnection> connect_raw() const;

private:
  Options options_;
  std::unique_ptr<EmbeddedCluster> cluster_;
  std::string url_;
};

/// The URL with any password replaced by `***`, for messages.
std::string redact_url(const std::string& url);

} // namespace dm::db
